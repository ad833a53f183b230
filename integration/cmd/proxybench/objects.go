package main

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	namespace = "proxybench"
	// remoteNode is the endpoints' node: not the proxy's, so every
	// endpoint is remote.
	remoteNode = "proxybench-remote"
	// proxyNode is the proxy's --hostname-override.
	proxyNode = "proxybench-node"
	// clusterCIDR is where endpoint addresses come from (a pod range of
	// no real network: the namespace has no routes).
	clusterCIDR = "10.240.0.0/12"
	// spareBase is the first address index handed out by changes; the
	// created endpoints use indexes below it.
	spareBase = 1 << 19
)

func ptr[T any](v T) *T { return &v }

// objects are the Services and EndpointSlices the program created, and
// the slices as last written (their resourceVersions), by index.
type objects struct {
	kube      kubernetes.Interface
	endpoints int

	mu     sync.Mutex
	slices []*discoveryv1.EndpointSlice
	spare  int // address indexes handed out by change
}

// endpointAddr is the k-th address of the endpoint range.
func endpointAddr(k int) string {
	a := netip.MustParsePrefix(clusterCIDR).Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(k) + 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

func serviceName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// ensureNamespace creates the program's namespace.
func (o *objects) ensureNamespace(ctx context.Context) error {
	_, err := o.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", namespace, err)
	}
	return nil
}

// grow creates Services (and their slices) until there are n, with
// workers concurrent creators.
func (o *objects) grow(ctx context.Context, n, workers int) error {
	o.mu.Lock()
	from := len(o.slices)
	if n > from {
		o.slices = append(o.slices, make([]*discoveryv1.EndpointSlice, n-from)...)
	}
	o.mu.Unlock()
	if n <= from {
		return nil
	}
	start := time.Now()
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := o.create(gctx, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
feed:
	for i := from; i < n; i++ {
		select {
		case next <- i:
		case <-gctx.Done():
			break feed
		}
		if done := i + 1 - from; done%2000 == 0 {
			logf("  %d of %d Services created", done, n-from)
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	logf("  created Services %d..%d with %d endpoints each in %v", from, n-1, o.endpoints, time.Since(start).Round(time.Millisecond))
	return nil
}

// create writes Service i and its EndpointSlice.
func (o *objects) create(ctx context.Context, i int) error {
	name := serviceName(i)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := o.kube.CoreV1().Services(namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s: %w", name, err)
	}
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "proxybench"},
			Annotations: map[string]string{
				corev1.EndpointsLastChangeTriggerTime: time.Now().UTC().Format(time.RFC3339Nano),
			}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)),
			Protocol: ptr(corev1.ProtocolTCP)}},
	}
	for j := range o.endpoints {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{endpointAddr(i*o.endpoints + j)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)},
			NodeName:   ptr(remoteNode),
		})
	}
	got, err := o.kube.DiscoveryV1().EndpointSlices(namespace).Create(ctx, sl, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create endpointslice %s: %w", sl.Name, err)
	}
	o.mu.Lock()
	o.slices[i] = got
	o.mu.Unlock()
	return nil
}

// change swaps one endpoint of Service i's slice for a new address and
// stamps the slice's last-change-trigger-time with the time of the
// write. It returns the address removed and the one added.
func (o *objects) change(ctx context.Context, i int) (removed, added string, err error) {
	o.mu.Lock()
	sl := o.slices[i].DeepCopy()
	j := o.spare % len(sl.Endpoints)
	added = endpointAddr(spareBase + o.spare)
	o.spare++
	o.mu.Unlock()
	removed = sl.Endpoints[j].Addresses[0]
	sl.Endpoints[j].Addresses = []string{added}
	sl.Annotations[corev1.EndpointsLastChangeTriggerTime] = time.Now().UTC().Format(time.RFC3339Nano)
	got, err := o.kube.DiscoveryV1().EndpointSlices(namespace).Update(ctx, sl, metav1.UpdateOptions{})
	if err != nil {
		return "", "", fmt.Errorf("update endpointslice %s: %w", sl.Name, err)
	}
	o.mu.Lock()
	o.slices[i] = got
	o.mu.Unlock()
	return removed, added, nil
}
