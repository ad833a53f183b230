package plugins_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/cache"
	"github.com/gantry-dev/gantry/services/scheduler/internal/config"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins"
	"github.com/gantry-dev/gantry/services/scheduler/internal/runtime"
)

// BenchmarkSchedulingCycle runs one scheduling cycle (PreFilter, the
// search for feasible nodes, PreScore and Score) of the default profile
// over schedbench's cluster: 5,000 nodes in 10 zones, two pods on each,
// for a plain pod and for one with schedbench's zone spread constraint.
// It measures the scheduler's own work per pod, without the API server
// and the machine's noise around it.
func BenchmarkSchedulingCycle(b *testing.B) {
	conf := config.Default()
	p := &conf.Profiles[0]
	var refs []runtime.PluginRef
	for _, r := range p.EnabledPlugins() {
		refs = append(refs, runtime.PluginRef{Name: r.Name, Weight: r.Weight})
	}
	fwk, err := runtime.New(runtime.Options{
		SchedulerName: p.SchedulerName, Plugins: refs, PluginArgs: p.Args(), Registry: plugins.InTree(),
		Parallelism: conf.Parallelism, PercentageOfNodesToScore: conf.PercentageOfNodesToScore,
	})
	if err != nil {
		b.Fatal(err)
	}
	fwk.SetSnapshot(benchSnapshot(5000, 10))
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
	}{
		{"plain", benchPod("plain", nil)},
		{"zone spread", benchPod("spread", []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
		}})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				state := framework.NewCycleState()
				pre, st := fwk.RunPreFilterPlugins(ctx, state, tc.pod)
				if !st.IsSuccess() {
					b.Fatal(st.AsError())
				}
				feasible, _, err := fwk.FindNodesThatFit(ctx, state, tc.pod, pre)
				if err != nil || len(feasible) == 0 {
					b.Fatalf("%d feasible nodes, %v", len(feasible), err)
				}
				if _, err := fwk.PrioritizeNodes(ctx, state, tc.pod, feasible); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchSnapshot is n nodes of 32 cpu, 128 GiB and 110 pods over zones,
// each running two pods, one of them labelled app=spread.
func benchSnapshot(n, zones int) *cache.Snapshot {
	alloc := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	infos := make([]*framework.NodeInfo, 0, n)
	for i := range n {
		name := fmt.Sprintf("node-%05d", i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				"kubernetes.io/hostname":      name,
				"topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%zones),
			}},
			Status: corev1.NodeStatus{Capacity: alloc, Allocatable: alloc, Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			}}},
		}
		var pods []*corev1.Pod
		for j, app := range []string{"plain", "spread"} {
			pod := benchPod(app, nil)
			pod.Name = fmt.Sprintf("%s-%d", name, j)
			pod.UID = types.UID(pod.Name)
			pod.Spec.NodeName = name
			pods = append(pods, pod)
		}
		ni := framework.NewNodeInfo(pods...)
		ni.SetNode(node)
		infos = append(infos, ni)
	}
	return cache.NewSnapshot(infos...)
}

func benchPod(app string, spread []corev1.TopologySpreadConstraint) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: "incoming", UID: "incoming", Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "c", Image: "gantry.local/busybox:latest",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi"),
				}},
			}},
			TopologySpreadConstraints: spread,
		},
	}
}
