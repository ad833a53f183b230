package controller

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
)

// Runnable is a started control loop: Run works until ctx ends.
type Runnable interface {
	Run(ctx context.Context) error
}

// Context is what controllers are built with. The informers are shared:
// a controller asks client.InformerFor(ctx.Informers, client.Pods) and
// adds its handlers; the manager starts them all once every controller
// is built.
type Context struct {
	Client    *client.Client
	Informers *client.InformerFactory
	// Registerer takes the controllers' metrics.
	Registerer prometheus.Registerer
	Metrics    *Metrics
	Log        *slog.Logger
	Clock      clock.WithTicker
	// Identity names this process (events' source host).
	Identity string
	Options  Options

	recorders map[string]*client.EventRecorder
}

// Options are the controllers' tunables (flags of gantry-controllers).
type Options struct {
	// Workers per controller (default 5; Kubernetes' --concurrent-*-syncs).
	Workers int

	// Node lifecycle.
	NodeMonitorGracePeriod time.Duration // 40s
	NodeMonitorPeriod      time.Duration // 5s
	// PodEvictionTimeout is the toleration of pods without one for the
	// not-ready/unreachable taints (the API server's admission adds 300s).
	NodeEvictionRate          float64 // nodes per second whose pods are evicted (0.1)
	SecondaryNodeEvictionRate float64 // when the zone is unhealthy (0.01)
	UnhealthyZoneThreshold    float64 // fraction of not-ready nodes (0.55)
	LargeClusterSizeThreshold int     // (50)

	// Node IPAM.
	ClusterCIDR      string // 10.244.0.0/16; empty: node IPAM off
	NodeCIDRMaskSize int    // 24

	// Storage.
	LocalPathDir string // where the local-path provisioner puts volumes on nodes

	// Terminated pods kept before the pod GC deletes the oldest.
	TerminatedPodGCThreshold int

	// The cluster CA the CSR signer issues certificates with (PEM files;
	// both empty: no signing), and the longest validity it gives (8760h).
	ClusterSigningCertFile string
	ClusterSigningKeyFile  string
	ClusterSigningDuration time.Duration
}

// Defaults fills what o leaves zero.
func (o *Options) Defaults() {
	if o.Workers <= 0 {
		o.Workers = 5
	}
	if o.NodeMonitorGracePeriod <= 0 {
		o.NodeMonitorGracePeriod = 40 * time.Second
	}
	if o.NodeMonitorPeriod <= 0 {
		o.NodeMonitorPeriod = 5 * time.Second
	}
	if o.NodeEvictionRate <= 0 {
		o.NodeEvictionRate = 0.1
	}
	if o.SecondaryNodeEvictionRate <= 0 {
		o.SecondaryNodeEvictionRate = 0.01
	}
	if o.UnhealthyZoneThreshold <= 0 {
		o.UnhealthyZoneThreshold = 0.55
	}
	if o.LargeClusterSizeThreshold <= 0 {
		o.LargeClusterSizeThreshold = 50
	}
	if o.NodeCIDRMaskSize <= 0 {
		o.NodeCIDRMaskSize = 24
	}
	if o.LocalPathDir == "" {
		o.LocalPathDir = "/var/lib/gantry/storage"
	}
	if o.TerminatedPodGCThreshold <= 0 {
		o.TerminatedPodGCThreshold = 12500
	}
	if o.ClusterSigningDuration <= 0 {
		o.ClusterSigningDuration = 365 * 24 * time.Hour
	}
}

// NewContext returns a Context; recorders are made on demand.
func NewContext(c *client.Client, informers *client.InformerFactory, reg prometheus.Registerer,
	log *slog.Logger, clk clock.WithTicker, identity string, opts Options) *Context {
	opts.Defaults()
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Context{
		Client: c, Informers: informers, Registerer: reg, Metrics: NewMetrics(reg), Log: log, Clock: clk,
		Identity: identity, Options: opts, recorders: map[string]*client.EventRecorder{},
	}
}

// Recorder returns the event recorder reporting as component
// ("replicaset-controller", ...), one per component. Controllers call it
// while they are built, one after the other; it is not safe for
// concurrent use.
func (c *Context) Recorder(component string) *client.EventRecorder {
	if r, ok := c.recorders[component]; ok {
		return r
	}
	r := client.NewEventRecorder(c.Client, component, c.Identity)
	c.recorders[component] = r
	return r
}

// Ref is the reference an Event about obj wants.
func Ref(obj interface {
	GetNamespace() string
	GetName() string
	GetUID() types.UID
	GetResourceVersion() string
}, gvk schema.GroupVersionKind) corev1.ObjectReference {
	return corev1.ObjectReference{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
		Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID(),
		ResourceVersion: obj.GetResourceVersion(),
	}
}
