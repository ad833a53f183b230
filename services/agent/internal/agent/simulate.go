package agent

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/agent/internal/node"
	"github.com/gantry-dev/gantry/services/agent/internal/pods"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime/fake"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/cache"
)

// runSimulated runs many simulated nodes, like Kubernetes' hollow nodes:
// each registers its Node, heartbeats, and "runs" its pods in an
// in-memory runtime, with addresses from 198.18.0.0/15 (reserved for
// benchmarks; nothing is ever sent to them). One informer of all pods
// feeds every node's pod manager. Each node's kubernetes.io/hostname is
// its name, as with Kubernetes' hollow nodes; deleted local-path volumes
// of simulated nodes only lose their finalizer (nothing is on disk).
func (a *Agent) runSimulated(ctx context.Context) error {
	managers := map[string]*pods.Manager{}
	hostnames := map[string]string{}
	g, gctx := errgroup.WithContext(ctx)
	for i := range a.cfg.SimulateNodes {
		name := fmt.Sprintf("%s-%d", a.simulatedPrefix(), i)
		ip := net.IPv4(198, 18, byte((i+1)>>8), byte(i+1)).String()
		rt := fake.New(fake.Config{})
		nd, err := node.New(node.Config{
			Name: name, Hostname: name, Client: a.client, NodeIP: net.ParseIP(ip), Labels: a.cfg.Labels,
			MaxPods: a.cfg.MaxPods, Images: rt, RuntimeVersion: runtimeVersion("fake"),
			Machine: node.StaticMachine{Measured: node.MachineStats{
				CPUs: 4, MemoryBytes: 16 << 30, MemoryAvailableBytes: 15 << 30,
				DiskBytes: 100 << 30, DiskAvailableBytes: 90 << 30, Inodes: 1 << 24, InodesFree: 1 << 23,
				PIDMax: 1 << 22, PIDs: 100,
			}},
			Log: a.cfg.Log,
		})
		if err != nil {
			return err
		}
		m := pods.New(pods.Config{
			NodeName: name, NodeIPs: []string{ip}, Runtime: rt, Network: &simNetwork{node: i},
			API: apiAdapter{c: a.client}, Log: a.cfg.Log, Simulated: true,
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")},
		})
		managers[name] = m
		hostnames[name] = name
		g.Go(func() error { return nd.Run(gctx) })
		g.Go(func() error {
			defer rt.Close()
			return m.Run(gctx)
		})
	}
	g.Go(func() error { return a.feedMany(gctx, managers) })
	g.Go(func() error { return a.cleanLocalPaths(gctx, hostnames, false) })
	return g.Wait()
}

func (a *Agent) simulatedPrefix() string {
	if a.cfg.NodeName != "" {
		return a.cfg.NodeName
	}
	return "sim"
}

// feedMany dispatches pods of every node from one informer.
func (a *Agent) feedMany(ctx context.Context, managers map[string]*pods.Manager) error {
	inf := client.NewInformer(client.Pods(a.client), "", 10*time.Minute, nil, nil)
	of := func(obj any) (*corev1.Pod, *pods.Manager) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		return pod, managers[pod.Spec.NodeName]
	}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, m := of(obj); m != nil {
				m.Update(pod)
			}
		},
		UpdateFunc: func(_, obj any) {
			if pod, m := of(obj); m != nil {
				m.Update(pod)
			}
		},
		DeleteFunc: func(obj any) {
			if pod, m := of(obj); m != nil {
				m.Delete(pod)
			}
		},
	})
	if err != nil {
		return err
	}
	inf.Run(ctx.Done())
	return nil
}

// simNetwork hands simulated pods addresses from 10.<node>.x.y, without
// touching the host; simulated pod managers never dial them.
type simNetwork struct {
	node int
	mu   sync.Mutex
	next int
}

func (n *simNetwork) Setup(context.Context, *corev1.Pod, string) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	return []string{net.IPv4(10, byte(n.node>>8), byte(n.node), byte(n.next%250+1)).String()}, nil
}

func (n *simNetwork) Teardown(context.Context, *corev1.Pod, string) error { return nil }
