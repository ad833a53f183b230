package dns

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
)

// Index names the server adds to the shared informers. They are prefixed
// so that other users of the same informers can add their own.
const (
	indexServiceIP  = "dns.gantry.dev/cluster-ip"
	indexSliceOwner = "dns.gantry.dev/service"
	indexSliceAddr  = "dns.gantry.dev/address"
)

// view is what the answers read of the cluster. Objects returned are the
// caches' and must not be modified.
type view interface {
	// service returns ns/name, or nil.
	service(ns, name string) *corev1.Service
	// namespaceHasServices reports whether ns has any Service, which
	// makes <ns>.svc.<domain> an existing name.
	namespaceHasServices(ns string) bool
	// slices returns the EndpointSlices of Service ns/name.
	slices(ns, name string) []*discoveryv1.EndpointSlice
	// servicesByIP returns the Services with ClusterIP ip.
	servicesByIP(ip string) []*corev1.Service
	// slicesByAddr returns the EndpointSlices listing address ip.
	slicesByAddr(ip string) []*discoveryv1.EndpointSlice
	// synced reports whether the caches have been filled.
	synced() bool
}

// indexView is a view over informer stores.
type indexView struct {
	svcStore, sliceStore cache.Indexer
	hasSynced            func() bool
}

// serviceIndexers and sliceIndexers are the indexes indexView needs.
func serviceIndexers() cache.Indexers {
	return cache.Indexers{indexServiceIP: serviceIPs}
}

func sliceIndexers() cache.Indexers {
	return cache.Indexers{indexSliceOwner: sliceOwner, indexSliceAddr: sliceAddrs}
}

// informerView registers the indexes on the factory's Service and
// EndpointSlice informers and returns a view of them.
func informerView(f *client.InformerFactory) (*indexView, error) {
	svcs := client.InformerFor(f, client.Services)
	slices := client.InformerFor(f, client.EndpointSlices)
	if err := svcs.AddIndexers(serviceIndexers()); err != nil {
		return nil, fmt.Errorf("index services: %w", err)
	}
	if err := slices.AddIndexers(sliceIndexers()); err != nil {
		return nil, fmt.Errorf("index endpointslices: %w", err)
	}
	return &indexView{
		svcStore: svcs.GetIndexer(), sliceStore: slices.GetIndexer(),
		hasSynced: func() bool { return svcs.HasSynced() && slices.HasSynced() },
	}, nil
}

func serviceIPs(obj any) ([]string, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, ip := range clusterIPs(svc) {
		out = append(out, ip.String())
	}
	return out, nil
}

func sliceOwner(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + name}, nil
}

func sliceAddrs(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.AddressType == discoveryv1.AddressTypeFQDN {
		return nil, nil
	}
	var out []string
	for _, ep := range s.Endpoints {
		for _, a := range ep.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				out = append(out, ip.String())
			}
		}
	}
	return out, nil
}

func (v *indexView) service(ns, name string) *corev1.Service {
	obj, ok, err := v.svcStore.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	svc, _ := obj.(*corev1.Service)
	return svc
}

func (v *indexView) namespaceHasServices(ns string) bool {
	keys, err := v.svcStore.IndexKeys(cache.NamespaceIndex, ns)
	return err == nil && len(keys) > 0
}

func (v *indexView) slices(ns, name string) []*discoveryv1.EndpointSlice {
	return typed[*discoveryv1.EndpointSlice](v.sliceStore.ByIndex(indexSliceOwner, ns+"/"+name))
}

func (v *indexView) servicesByIP(ip string) []*corev1.Service {
	return typed[*corev1.Service](v.svcStore.ByIndex(indexServiceIP, ip))
}

func (v *indexView) slicesByAddr(ip string) []*discoveryv1.EndpointSlice {
	return typed[*discoveryv1.EndpointSlice](v.sliceStore.ByIndex(indexSliceAddr, ip))
}

func (v *indexView) synced() bool { return v.hasSynced == nil || v.hasSynced() }

func typed[T any](objs []any, err error) []T {
	if err != nil {
		return nil
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
