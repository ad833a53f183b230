package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/connset"
	"github.com/gantry-dev/gantry/libs/sdnotify"
	"github.com/gantry-dev/gantry/libs/tlsutil"
	"github.com/gantry-dev/gantry/services/agent/internal/cgroups"
	"github.com/gantry-dev/gantry/services/agent/internal/images"
	"github.com/gantry-dev/gantry/services/agent/internal/network"
	"github.com/gantry-dev/gantry/services/agent/internal/node"
	"github.com/gantry-dev/gantry/services/agent/internal/podfiles"
	"github.com/gantry-dev/gantry/services/agent/internal/pods"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	ctrd "github.com/gantry-dev/gantry/services/agent/internal/runtime/containerd"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime/fake"
	"github.com/gantry-dev/gantry/services/agent/internal/streaming"
	"github.com/gantry-dev/gantry/services/agent/internal/volumes"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// Agent is a running gantry-agent.
type Agent struct {
	cfg    *Config
	log    *slog.Logger
	client *client.Client
	// streams finds pods for the streaming server once the pod manager
	// runs.
	streams lazyLookup
}

// New connects to the API servers.
func New(cfg *Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.withDefaults()
	c, err := client.New(client.Config{
		Endpoints: cfg.APIServers, CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile,
		TokenFile: cfg.TokenFile, UserAgent: "gantry-agent", Log: cfg.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	return &Agent{cfg: cfg, log: cfg.Log.With("component", "agent"), client: c}, nil
}

// Run runs the node (or the simulated nodes) until ctx ends. Containers
// keep running when the agent stops.
func (a *Agent) Run(ctx context.Context) error {
	defer a.client.Close()
	if a.cfg.FollowAPIServers && a.cfg.SimulateNodes == 0 {
		defer a.client.StartFollowingAPIServers(ctx, client.FollowAPIServersInterval)()
	}
	g, ctx := errgroup.WithContext(ctx)
	if a.cfg.HealthzAddress != "" {
		g.Go(func() error { return a.serveHealth(ctx) })
	}
	if a.cfg.SimulateNodes > 0 {
		g.Go(func() error { return a.runSimulated(ctx) })
	} else {
		g.Go(func() error { return a.runNode(ctx) })
	}
	return g.Wait()
}

func (a *Agent) serveHealth(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.cfg.Registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: a.cfg.HealthzAddress, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("healthz: %w", err)
	}
	return nil
}

// runNode runs the one real node.
func (a *Agent) runNode(ctx context.Context) error {
	cfg := a.cfg
	rt, err := a.newRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	if cfg.Runtime == "containerd" {
		if err := images.EnsureBuiltin(ctx, rt); err != nil {
			a.log.Warn("importing the built-in busybox image", "err", err)
		}
	}
	if err := cfg.issueServingCert(cfg.NodeIP); err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.ListenAddress)
	if err != nil {
		return fmt.Errorf("streaming server: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	nd, err := node.New(node.Config{
		Name: cfg.NodeName, Client: a.client, NodeIP: parseIP(cfg.NodeIP), Labels: cfg.Labels,
		PodCIDR: cfg.PodCIDR, Reserved: reserved(cfg.SystemReserved), MaxPods: cfg.MaxPods,
		StateDir: cfg.RootDir, Images: rt, AgentPort: int32(port), RuntimeVersion: runtimeVersion(cfg.Runtime),
		Log: cfg.Log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return nd.Run(gctx) })
	g.Go(func() error { return a.serveStreams(gctx, ln, rt) })
	g.Go(func() error {
		return images.NewWatcher(cfg.ImagesDir, rt, cfg.Log).Run(gctx)
	})
	g.Go(func() error {
		select {
		case <-nd.Registered():
		case <-gctx.Done():
			return nil
		}
		if err := sdnotify.Ready(); err != nil {
			a.log.Warn("notify the service manager", "err", err)
		}
		watch, err := newNodeWatch(a.client)
		if err != nil {
			return err
		}
		g.Go(func() error { return watch.Run(gctx) })
		net, err := a.setupNetwork(gctx, nd, watch, g)
		if err != nil {
			return err
		}
		nodeIPs := []string{nd.Node().Status.Addresses[0].Address}
		for _, ad := range nd.Node().Status.Addresses {
			if ad.Type == corev1.NodeInternalIP {
				nodeIPs = []string{ad.Address}
			}
		}
		hostname := nd.Node().Labels[corev1.LabelHostname]
		if hostname == "" {
			hostname = nd.Name()
		}
		g.Go(func() error { return a.cleanLocalPaths(gctx, map[string]string{hostname: nd.Name()}, true) })
		return a.runPods(gctx, nd.Name(), nodeIPs, rt, net, nd.Node().Status.Allocatable)
	})
	return g.Wait()
}

func (a *Agent) newRuntime(ctx context.Context) (runtime.Runtime, error) {
	if a.cfg.Runtime == "fake" {
		return fake.New(fake.Config{Root: filepath.Join(a.cfg.RootDir, "pods")}), nil
	}
	return ctrd.New(ctx, runtimeConfig(a.cfg))
}

// runtimeConfig is the containerd runtime's configuration.
func runtimeConfig(cfg *Config) ctrd.Config {
	return ctrd.Config{
		Address: cfg.Containerd, Namespace: cfg.CtrdNS, StateDir: cfg.RootDir,
		RuncRoot: filepath.Join("/run/gantry/runc", cfg.CtrdNS), Snapshotter: "overlayfs",
		LoggerBinary: loggerBinary(cfg.LoggerBinary), DefaultCgroupParent: cfg.CgroupRoot, Logger: cfg.Log,
	}
}

// loggerBinary is the log writer to use: the one configured, else
// gantry-logger beside this executable, else this executable (which runs
// the logger subcommand too, at a higher start-up cost per container).
func loggerBinary(configured string) string {
	if configured != "" {
		return configured
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if l := filepath.Join(filepath.Dir(exe), "gantry-logger"); isExecutable(l) {
		return l
	}
	return exe
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// setupNetwork waits for the node's pod CIDR, prepares the host, and
// starts the host-gw route loop in g.
func (a *Agent) setupNetwork(ctx context.Context, nd *node.Node, watch *nodeWatch, g *errgroup.Group) (pods.Network, error) {
	if a.cfg.Runtime == "fake" {
		return nil, nil
	}
	cidr := ownPodCIDR(nd, watch)
	var logged time.Time
	for ; cidr == ""; cidr = ownPodCIDR(nd, watch) {
		if time.Since(logged) > 30*time.Second {
			a.log.Info("waiting for the node's pod CIDR (spec.podCIDR from the node IPAM controller, or --pod-cidr)")
			logged = time.Now()
		}
		// Nodes change (the IPAM controller writes spec.podCIDR) wake us
		// at once; the tick covers an informer that cannot list.
		if !waitFor(ctx, watch.Changed(), 5*time.Second) {
			return nil, ctx.Err()
		}
	}
	podCIDR, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	clusterCIDR, err := netip.ParsePrefix(a.cfg.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("--cluster-cidr: %w", err)
	}
	serviceCIDR, err := netip.ParsePrefix(a.cfg.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("--service-cidr: %w", err)
	}
	var nodeIP netip.Addr
	if n := nd.Node(); n != nil {
		for _, ip := range internalIPs(n) {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
				nodeIP = a
				break
			}
		}
	}
	nw, err := network.New(network.Config{
		CNIBinDirs: []string{a.cfg.CNIBinDir}, ConfDir: a.cfg.CNIConfDir,
		CacheDir: filepath.Join(a.cfg.RootDir, "cni-cache"), StateDir: filepath.Join(a.cfg.RootDir, "network"),
		BridgeName: a.cfg.BridgeName, ClusterCIDR: clusterCIDR, PodCIDR: podCIDR, ServiceCIDR: serviceCIDR,
		NodeIP: nodeIP, HairpinMode: true, Log: a.cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	if err := nw.SetupNode(ctx); err != nil {
		return nil, fmt.Errorf("preparing the node's network: %w", err)
	}
	routes := newHostRoutes(nw, watch, nd.Name(), podCIDR, clusterCIDR,
		client.NewEventRecorder(a.client, "kubelet", nd.Name()), a.cfg.Registry, a.cfg.Log)
	g.Go(func() error { return routes.Run(ctx) })
	return podNetwork{nw}, nil
}

// ownPodCIDR is this node's pod CIDR: spec.podCIDR as the node itself
// last read it, else --pod-cidr, else spec.podCIDR as the Node informer
// saw it (which learns of the node IPAM controller's assignment first).
// With --pod-cidr the informer is not asked: the flag's range wins over
// one assigned after registration, as before there was an informer.
func ownPodCIDR(nd *node.Node, watch *nodeWatch) string {
	if cidr := nd.PodCIDR(); cidr != "" {
		return cidr
	}
	if n := watch.Get(nd.Name()); n != nil {
		cidrs := podCIDRs(n)
		for _, c := range cidrs { // the IPv4 one of a dual-stack node
			if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
				return c
			}
		}
		if len(cidrs) > 0 {
			return cidrs[0]
		}
	}
	return ""
}

// podNetwork adapts the CNI network to the pod workers.
type podNetwork struct{ nw *network.Network }

func (p podNetwork) Setup(ctx context.Context, pod *corev1.Pod, netns string) ([]string, error) {
	res, err := p.nw.Setup(ctx, network.FromPod(pod, netns))
	if err != nil {
		return nil, err
	}
	ips := make([]string, 0, len(res.IPs))
	for _, ip := range res.IPs {
		ips = append(ips, ip.String())
	}
	return ips, nil
}

func (p podNetwork) Teardown(ctx context.Context, pod *corev1.Pod, netns string) error {
	return p.nw.Teardown(ctx, network.FromPod(pod, netns))
}

// runPods feeds the pod workers from an informer of the pods bound to the
// node.
func (a *Agent) runPods(ctx context.Context, nodeName string, nodeIPs []string, rt runtime.Runtime, nw pods.Network,
	allocatable corev1.ResourceList) error {
	cfg := a.cfg
	var podCgroups pods.Cgroups
	if cfg.Runtime == "containerd" {
		cg, err := cgroups.New(cgroups.Config{Parent: cfg.CgroupRoot, Log: cfg.Log})
		if err != nil {
			return fmt.Errorf("--cgroup-root: %w", err)
		}
		podCgroups = cg
	}
	vm := volumes.New(volumes.Config{
		Source: volumes.ClientSource(a.client), Claims: volumes.ClientClaimSource(a.client),
		Log: cfg.Log, Allocatable: allocatable,
	})
	m := pods.New(pods.Config{
		NodeName: nodeName, NodeIPs: nodeIPs, Runtime: rt, Network: nw,
		Volumes: podVolumes{vm: vm, dns: podfiles.DNSConfig{
			ClusterDNS: cfg.ClusterDNS, ClusterDomain: cfg.ClusterDom, HostResolvConf: cfg.ResolvConf,
		}},
		API: apiAdapter{c: a.client}, Recorder: newRecorder(a.client, nodeName),
		LogDir: cfg.PodLogDir, Cgroups: podCgroups, Allocatable: allocatable, Log: cfg.Log, Metrics: pods.NewMetrics(cfg.Registry),
	})
	a.streams.Store(&podLookup{m: m})
	cfg.Registry.MustRegister(pods.NewCollector(m))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.Run(gctx) })
	g.Go(func() error { return a.feed(gctx, m, "spec.nodeName="+nodeName) })
	return g.Wait()
}

// feed hands pod events to the manager, then collects orphans once synced.
func (a *Agent) feed(ctx context.Context, m *pods.Manager, fieldSelector string) error {
	inf := client.NewInformer(client.Pods(a.client), "", 10*time.Minute, nil, func(o *metav1.ListOptions) {
		o.FieldSelector = fieldSelector
	})
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.Update(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { m.Update(obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				m.Delete(pod)
			}
		},
	})
	if err != nil {
		return err
	}
	go inf.Run(ctx.Done())
	if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		// Workers got every pod that exists: the rest is orphaned.
		time.Sleep(time.Second)
		m.CollectOrphans(ctx)
	}
	<-ctx.Done()
	return nil
}

// serveStreams runs the gRPC server the API server proxies logs, exec and
// port-forward to, with mutual TLS when certificates are configured.
func (a *Agent) serveStreams(ctx context.Context, ln net.Listener, rt runtime.Runtime) error {
	cfg := a.cfg
	var opts []grpc.ServerOption
	if cfg.TLSCertFile != "" {
		tlsCfg, err := tlsutil.Files{CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile, TrustedCAFile: cfg.ClientCAFile, ClientCertAuth: cfg.ClientCAFile != ""}.ServerConfig()
		if err != nil {
			return fmt.Errorf("streaming server TLS: %w", err)
		}
		auth := streaming.Authorize(cfg.AllowedCallers...)
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)),
			grpc.ChainUnaryInterceptor(auth.Unary), grpc.ChainStreamInterceptor(auth.Stream))
	} else {
		a.log.Warn("the streaming server has no TLS certificate (--tls-cert-file): logs, exec and port-forward are refused")
		ln.Close()
		<-ctx.Done()
		return nil
	}
	srv := grpc.NewServer(opts...)
	streaming.New(streaming.Config{Pods: &a.streams, Runtime: rt, Log: a.cfg.Log}).Register(srv)
	cl := connset.Wrap(ln)
	go func() {
		<-ctx.Done()
		cl.CloseConns() // Stop would wait for clients still in their TLS handshake
		srv.Stop()
	}()
	if err := srv.Serve(cl); err != nil && ctx.Err() == nil {
		return fmt.Errorf("streaming server: %w", err)
	}
	return nil
}

func parseIP(s string) net.IP {
	if s == "" {
		return nil
	}
	return net.ParseIP(s)
}

func reserved(m map[string]string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range m {
		out[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return out
}

func runtimeVersion(name string) string {
	if name == "fake" {
		return "fake://0.0.0"
	}
	return "containerd://1.6"
}
