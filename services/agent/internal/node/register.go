package node

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// defaultLabels are the labels the node keeps set on an adopted Node too.
var defaultLabels = []string{corev1.LabelHostname, corev1.LabelOSStable, corev1.LabelArchStable}

// register creates the Node, or adopts an existing Node of the same
// name, fixing its default labels; the status is written by the next
// status update unless the create stored it.
func (n *Node) register(ctx context.Context) error {
	now := n.clock.Now()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.cfg.Name, Labels: maps.Clone(n.labels)},
		Spec:       corev1.NodeSpec{Taints: slices.Clone(n.cfg.Taints)},
		Status:     n.buildStatus(corev1.NodeStatus{}, n.observe(ctx, now), now),
	}
	created, err := n.api.CreateNode(ctx, node)
	if err == nil {
		n.setNode(created)
		// An API server may drop the status of a new object; then the
		// status update that follows writes it.
		n.lastReport = time.Time{}
		if !statusChanged(created.Status, node.Status) {
			n.lastReport = now
		}
		n.log.Info("created the Node", "uid", created.UID)
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", n.cfg.Name, err)
	}

	existing, err := n.api.GetNode(ctx, n.cfg.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get existing node %s: %w", n.cfg.Name, err)
	}
	if next, changed := n.withDefaultLabels(existing); changed {
		existing, err = n.api.UpdateNode(ctx, next)
		if err != nil {
			return fmt.Errorf("update the labels of node %s: %w", n.cfg.Name, err)
		}
	}
	n.setNode(existing)
	n.lastReport = time.Time{} // write the status at once
	n.log.Info("adopted the existing Node", "uid", existing.UID)
	return nil
}

// withDefaultLabels is node with the default labels set to this agent's
// values (a copy), and whether that changed anything.
func (n *Node) withDefaultLabels(node *corev1.Node) (*corev1.Node, bool) {
	next := node.DeepCopy()
	changed := false
	for _, k := range defaultLabels {
		if v := n.labels[k]; next.Labels[k] != v {
			if next.Labels == nil {
				next.Labels = map[string]string{}
			}
			next.Labels[k] = v
			changed = true
		}
	}
	return next, changed
}

// permanent reports errors that retrying cannot cure: the API server
// rejects what the configuration makes.
func permanent(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)
}
