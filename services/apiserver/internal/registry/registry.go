package registry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/patch"
	"github.com/gantry-dev/gantry/services/apiserver/internal/storage"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Config of the registry.
type Config struct {
	// ServiceCIDR is the range ClusterIPs come from (10.96.0.0/12).
	ServiceCIDR string
	// NodePortRange is the range of NodePorts, "30000-32767".
	NodePortRange string
	Log           *slog.Logger
	// Metrics registers the storage metrics; nil means none.
	Metrics prometheus.Registerer
	// NotReadyTolerationSeconds and UnreachableTolerationSeconds are the
	// default tolerations of the not-ready and unreachable NoExecute
	// taints given to new pods (0: 300 s).
	NotReadyTolerationSeconds, UnreachableTolerationSeconds int64
	// EventTTL is how long events live after their last write; 0 means
	// until deleted.
	EventTTL time.Duration
}

// Registry holds every served resource.
type Registry struct {
	cli       *clientv3.Client
	log       *slog.Logger
	resources map[schema.GroupVersionResource]*Resource
	services  *allocator
	// tolerationSeconds of the default not-ready and unreachable
	// tolerations.
	notReadySeconds, unreachableSeconds int64
	patcher                             *patch.Patcher
}

// New builds the registry over a store client.
func New(cli *clientv3.Client, cfg Config) (*Registry, error) {
	if cfg.NotReadyTolerationSeconds <= 0 {
		cfg.NotReadyTolerationSeconds = 300
	}
	if cfg.UnreachableTolerationSeconds <= 0 {
		cfg.UnreachableTolerationSeconds = 300
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	alloc, err := newAllocator(cli, cfg.ServiceCIDR, cfg.NodePortRange)
	if err != nil {
		return nil, err
	}
	patcher, err := patch.New()
	if err != nil {
		return nil, err
	}
	reg := &Registry{cli: cli, log: cfg.Log, resources: map[schema.GroupVersionResource]*Resource{}, services: alloc, patcher: patcher,
		notReadySeconds: cfg.NotReadyTolerationSeconds, unreachableSeconds: cfg.UnreachableTolerationSeconds}
	var metrics *storage.Metrics
	if cfg.Metrics != nil {
		metrics = storage.NewMetrics(cfg.Metrics)
	}
	leases := storage.NewLeases(cli)
	for _, res := range api.Resources {
		st := storage.NewStore(cli, res)
		st.Metrics = metrics
		if res.GVR() == corev1.SchemeGroupVersion.WithResource("events") && cfg.EventTTL > 0 {
			st.TTL, st.Leases = cfg.EventTTL, leases
		}
		cache := storage.NewCache(st, cfg.Log)
		st.UseCache(cache)
		r := &Resource{res: res, gr: res.GVR().GroupResource(), store: st, cache: cache, reg: reg}
		r.hooks = reg.hooksFor(res)
		reg.resources[res.GVR()] = r
	}
	return reg, nil
}

// Run keeps the watch caches until ctx ends.
func (reg *Registry) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, r := range reg.resources {
		g.Go(func() error { return r.cache.Run(ctx) })
	}
	return g.Wait()
}

// Ready reports whether every watch cache has loaded.
func (reg *Registry) Ready(ctx context.Context) error {
	for gvr, r := range reg.resources {
		if err := r.cache.WaitFor(ctx, 1); err != nil {
			return fmt.Errorf("watch cache of %s: %w", gvr, err)
		}
	}
	return nil
}

// Resource returns the served resource gvr.
func (reg *Registry) Resource(gvr schema.GroupVersionResource) (*Resource, bool) {
	r, ok := reg.resources[gvr]
	return r, ok
}

func (reg *Registry) mustResource(group, resource string) *Resource {
	for gvr, r := range reg.resources {
		if gvr.Group == group && gvr.Resource == resource {
			return r
		}
	}
	panic("no resource " + resource)
}

// admitNamespace refuses objects in a namespace that does not exist or is
// being deleted (Kubernetes' NamespaceLifecycle admission).
func (reg *Registry) admitNamespace(ctx context.Context, res *api.Resource, ns, name string) error {
	if !res.Namespaced {
		return nil
	}
	nsr := reg.mustResource("", "namespaces")
	obj, _, ok := nsr.cache.Get(nsr.res.Key("", ns))
	if !ok {
		var err error
		if obj, err = nsr.store.Get(ctx, "", ns); err != nil {
			return err
		}
	}
	if obj.(*corev1.Namespace).Status.Phase == corev1.NamespaceTerminating {
		err := apierrors.NewForbidden(res.GVR().GroupResource(), name, fmt.Errorf(
			"unable to create new content in namespace %s because it is being terminated", ns))
		// As Kubernetes: the cause tells controllers not to complain.
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: corev1.NamespaceTerminatingCause, Message: fmt.Sprintf("namespace %s is being terminated", ns), Field: "metadata.namespace",
		})
		return err
	}
	return nil
}

// managedFields records field ownership of a create (old nil) or an
// update in obj. An empty manager means the caller recorded it already
// (patches).
func (reg *Registry) managedFields(obj, old runtime.Object, manager, sub string) error {
	if manager == "" {
		return nil
	}
	return reg.patcher.RecordManagedFields(obj, old, manager, sub)
}
