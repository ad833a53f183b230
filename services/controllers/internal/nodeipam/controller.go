package nodeipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

const (
	name      = "nodeipam"
	component = "node-ipam-controller"
)

var nodeGVK = corev1.SchemeGroupVersion.WithKind("Node")

// Controller is the node IPAM controller.
type Controller struct {
	nodes      *client.Resource[*corev1.Node, *corev1.NodeList]
	nodeLister listers.ResourceIndexer[*corev1.Node]
	synced     cache.InformerSynced
	alloc      *allocator
	recorder   *client.EventRecorder
	loop       *controller.Loop
	log        *slog.Logger
}

// New builds the node IPAM controller; with no cluster CIDR there is
// nothing to run.
func New(c *controller.Context) (controller.Runnable, error) {
	if c.Options.ClusterCIDR == "" {
		return nil, nil
	}
	alloc, err := newAllocator(c.Options.ClusterCIDR, c.Options.NodeCIDRMaskSize)
	if err != nil {
		return nil, err
	}
	nodeInf := client.InformerFor(c.Informers, client.Nodes)
	ipam := &Controller{
		nodes:      client.Nodes(c.Client),
		nodeLister: client.Lister(client.Nodes(c.Client), nodeInf),
		synced:     nodeInf.HasSynced,
		alloc:      alloc,
		recorder:   c.Recorder(component),
	}
	ipam.loop = controller.NewLoop(c, name, ipam.sync, nodeInf.HasSynced)
	ipam.log = ipam.loop.Log()
	if _, err := nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ipam.loop.Enqueue,
		UpdateFunc: func(_, cur any) { ipam.loop.Enqueue(cur) },
		DeleteFunc: ipam.loop.Enqueue,
	}); err != nil {
		return nil, err
	}
	return ipam, nil
}

// Run marks the ranges nodes already hold as used, then allocates until
// ctx ends.
func (ipam *Controller) Run(ctx context.Context) error {
	if !cache.WaitForNamedCacheSync(name, ctx.Done(), ipam.synced) {
		return ctx.Err()
	}
	nodes, err := ipam.nodeLister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for _, node := range nodes {
		if cidrs := podCIDRs(node); len(cidrs) > 0 {
			if err := ipam.alloc.occupy(node.Name, node.UID, cidrs); err != nil {
				ipam.log.Warn("node's pod CIDR not tracked", "node", node.Name, "err", err)
			}
		}
	}
	ipam.log.Info("pod CIDRs in use loaded", "nodes", len(nodes))
	return ipam.loop.Run(ctx)
}

// podCIDRs is what the node holds: spec.podCIDRs, or the older single
// spec.podCIDR.
func podCIDRs(node *corev1.Node) []string {
	if len(node.Spec.PodCIDRs) > 0 {
		return node.Spec.PodCIDRs
	}
	if node.Spec.PodCIDR != "" {
		return []string{node.Spec.PodCIDR}
	}
	return nil
}

// sync gives the node named key its ranges, or releases them once it is
// gone.
func (ipam *Controller) sync(ctx context.Context, key string) error {
	node, err := ipam.nodeLister.Get(key)
	if apierrors.IsNotFound(err) {
		if ipam.alloc.release(key) {
			ipam.log.Info("released the pod CIDR of a deleted node", "node", key)
			ipam.enqueueWaiting()
		}
		return nil
	}
	if err != nil {
		return err
	}
	if cidrs := podCIDRs(node); len(cidrs) > 0 {
		if err := ipam.alloc.occupy(node.Name, node.UID, cidrs); err != nil {
			ipam.log.Debug("node's pod CIDR not tracked", "node", node.Name, "err", err)
		}
		return nil
	}
	cidrs, err := ipam.alloc.allocate(node.Name, node.UID)
	if errors.Is(err, errFull) {
		// Waits until a range is released (enqueueWaiting).
		ipam.log.Warn("no pod CIDR left", "node", node.Name, "err", err)
		ipam.recordStatusChange(node, "CIDRNotAvailable")
		return nil
	}
	if err != nil {
		return err
	}
	return ipam.assign(ctx, node, cidrs)
}

// assign writes the ranges into the node's spec; the patch carries the
// node's UID so that it cannot land on a namesake.
func (ipam *Controller) assign(ctx context.Context, node *corev1.Node, cidrs []netip.Prefix) error {
	strs := make([]string, len(cidrs))
	for i, p := range cidrs {
		strs[i] = p.String()
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": node.UID},
		"spec":     map[string]any{"podCIDR": strs[0], "podCIDRs": strs},
	})
	if err != nil {
		return err
	}
	_, err = ipam.nodes.Patch(ctx, "", node.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	switch {
	case err == nil:
		ipam.log.Info("assigned pod CIDR", "node", node.Name, "podCIDRs", strs)
		return nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		// Gone, or replaced by a namesake: its events sort it out.
		ipam.alloc.forget(node.Name, node.UID)
		return nil
	case apierrors.IsInvalid(err):
		// Someone else gave it a range meanwhile; the cache will say.
		ipam.alloc.forget(node.Name, node.UID)
	}
	ipam.recordStatusChange(node, "CIDRAssignmentFailed")
	return fmt.Errorf("assign pod CIDRs %v to node %s: %w", strs, node.Name, err)
}

// enqueueWaiting queues the nodes still without a range.
func (ipam *Controller) enqueueWaiting() {
	nodes, err := ipam.nodeLister.List(labels.Everything())
	if err != nil {
		return
	}
	for _, n := range nodes {
		if len(podCIDRs(n)) == 0 {
			ipam.loop.Enqueue(n)
		}
	}
}

// recordStatusChange records the event Kubernetes' IPAM records on a
// node: reason status, "Node <name> status is now: <status>".
func (ipam *Controller) recordStatusChange(node *corev1.Node, status string) {
	ref := corev1.ObjectReference{APIVersion: "v1", Kind: nodeGVK.Kind, Name: node.Name, UID: node.UID}
	ipam.recorder.Event(ref, corev1.EventTypeNormal, status, fmt.Sprintf("Node %s status is now: %s", node.Name, status))
}
