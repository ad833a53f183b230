package agent

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// nodeWatch is an informer of every Node. It serves the wait for this
// node's spec.podCIDR and the host-gw route loop, and tells them when a
// Node's pod CIDRs or addresses changed, or a Node came or went (status
// heartbeats and other changes do not count).
type nodeWatch struct {
	inf cache.SharedIndexInformer

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every relevant change
}

func newNodeWatch(c *client.Client) (*nodeWatch, error) {
	w := &nodeWatch{
		inf:     client.NewInformer(client.Nodes(c), "", 0, nil, nil),
		changed: make(chan struct{}),
	}
	_, err := w.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.notify() },
		DeleteFunc: func(any) { w.notify() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.Node)
			n, ok2 := newObj.(*corev1.Node)
			if !ok1 || !ok2 || routingChanged(o, n) {
				w.notify()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// routingChanged reports whether what the network uses of a Node
// changed.
func routingChanged(a, b *corev1.Node) bool {
	return a.Spec.PodCIDR != b.Spec.PodCIDR || !slices.Equal(a.Spec.PodCIDRs, b.Spec.PodCIDRs) ||
		!slices.Equal(a.Status.Addresses, b.Status.Addresses) || a.UID != b.UID
}

// Run runs the informer until ctx ends.
func (w *nodeWatch) Run(ctx context.Context) error {
	w.inf.Run(ctx.Done())
	return nil
}

// WaitSynced waits until the informer has listed the Nodes once.
func (w *nodeWatch) WaitSynced(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), w.inf.HasSynced)
}

// Changed returns a channel closed at the next relevant change. Get it
// before reading the Nodes, so that no change is missed.
func (w *nodeWatch) Changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

func (w *nodeWatch) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.changed)
	w.changed = make(chan struct{})
}

// Get returns the cached Node (not to be modified), or nil.
func (w *nodeWatch) Get(name string) *corev1.Node {
	obj, ok, err := w.inf.GetStore().GetByKey(name)
	if err != nil || !ok {
		return nil
	}
	n, _ := obj.(*corev1.Node)
	return n
}

// List returns the cached Nodes (not to be modified).
func (w *nodeWatch) List() []*corev1.Node {
	objs := w.inf.GetStore().List()
	out := make([]*corev1.Node, 0, len(objs))
	for _, o := range objs {
		if n, ok := o.(*corev1.Node); ok {
			out = append(out, n)
		}
	}
	return out
}

// podCIDRs returns a Node's spec.podCIDRs, or spec.podCIDR.
func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

// internalIPs returns a Node's InternalIP addresses.
func internalIPs(n *corev1.Node) []string {
	var ips []string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ips = append(ips, a.Address)
		}
	}
	return ips
}

// waitFor waits for ch, a tick of every, or the end of ctx (false).
func waitFor(ctx context.Context, ch <-chan struct{}, every time.Duration) bool {
	t := time.NewTimer(every)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-ch:
	case <-t.C:
	}
	return true
}
