package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// statusRetries is how many times a status write is tried against a
// freshly read Node when it conflicts (kubelet's nodeStatusUpdateRetry).
const statusRetries = 5

// observation is what the node measured for one status update.
type observation struct {
	stats  MachineStats
	health health
	images []corev1.ContainerImage // nil: not listed
}

// syncStatus reads the Node, computes its status and writes it when it
// changed or StatusReportFrequency has passed since the last write. A
// Node deleted meanwhile is registered again.
func (n *Node) syncStatus(ctx context.Context) error {
	// The API server may answer from its watch cache: a stale answer
	// costs at most a conflict.
	node, err := n.api.GetNode(ctx, n.cfg.Name, metav1.GetOptions{ResourceVersion: "0"})
	if apierrors.IsNotFound(err) {
		n.log.Warn("the Node is gone; registering it again")
		if err := n.register(ctx); err != nil {
			return err
		}
		node = n.Node()
	} else if err != nil {
		return fmt.Errorf("get node: %w", err)
	}
	n.setNode(node)

	obs := n.observe(ctx, n.clock.Now())
	for try := 1; ; try++ {
		now := n.clock.Now()
		want := n.buildStatus(node.Status, obs, now)
		if !statusChanged(node.Status, want) && now.Sub(n.lastReport) < n.cfg.StatusReportFrequency {
			return nil
		}
		next := node.DeepCopy()
		next.Status = want
		updated, err := n.api.UpdateNodeStatus(ctx, next)
		if err == nil {
			n.setNode(updated)
			n.lastReport = now
			return nil
		}
		if !apierrors.IsConflict(err) || try == statusRetries {
			return fmt.Errorf("update node status: %w", err)
		}
		if node, err = n.api.GetNode(ctx, n.cfg.Name, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("get node: %w", err)
		}
		n.setNode(node)
	}
}

// observe measures the machine and asks the readiness checks. What could
// not be measured keeps its last measurement.
func (n *Node) observe(ctx context.Context, now time.Time) observation {
	s, err := n.cfg.Machine.Stats()
	if err != nil && err.Error() != n.statsErr {
		n.log.Warn("measuring the machine", "err", err)
	}
	n.statsErr = ""
	if err != nil {
		n.statsErr = err.Error()
	}
	n.stats = s.over(n.stats)
	var h health
	if n.cfg.NetworkReady != nil {
		if err := n.cfg.NetworkReady(); err != nil {
			h.network = err.Error()
			h.notReady = append(h.notReady, "network not ready: "+err.Error())
		}
	}
	if n.cfg.Ready != nil {
		if err := n.cfg.Ready(); err != nil {
			h.notReady = append(h.notReady, err.Error())
		}
	}
	memory, disk, pid := underPressure(n.stats, n.cfg.Thresholds)
	h.memoryPressure = n.pressure(corev1.NodeMemoryPressure, memory, now)
	h.diskPressure = n.pressure(corev1.NodeDiskPressure, disk, now)
	h.pidPressure = n.pressure(corev1.NodePIDPressure, pid, now)

	obs := observation{stats: n.stats, health: h}
	if n.cfg.Images != nil {
		imgs, err := n.cfg.Images.ListImages(ctx)
		if err != nil {
			n.log.Warn("listing images", "err", err)
		} else {
			obs.images = nodeImages(imgs)
		}
	}
	return obs
}

// pressure reports a pressure condition: True while observed, and for
// PressureTransitionPeriod after, so that it does not flap.
func (n *Node) pressure(typ corev1.NodeConditionType, observed bool, now time.Time) bool {
	if observed {
		n.pressureSeen[typ] = now
		return true
	}
	seen, ok := n.pressureSeen[typ]
	return ok && now.Sub(seen) < n.cfg.PressureTransitionPeriod
}

// buildStatus is cur with what the node reports set from obs at now.
// Fields the node does not own (volumes, config, runtime handlers) are
// kept, and so are images when they were not listed.
func (n *Node) buildStatus(cur corev1.NodeStatus, obs observation, now time.Time) corev1.NodeStatus {
	st := *cur.DeepCopy()
	st.Capacity, st.Allocatable = resources(obs.stats, &n.cfg)
	st.Conditions = setConditions(st.Conditions, obs.health, metav1.NewTime(now))
	st.Addresses = slices.Clone(n.addresses)
	st.DaemonEndpoints = corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: n.cfg.AgentPort}}
	st.NodeInfo = n.info
	if obs.images != nil {
		st.Images = obs.images
	}
	return st
}

// statusChanged compares two statuses but for the conditions' heartbeat
// times, which change on every update.
func statusChanged(a, b corev1.NodeStatus) bool {
	return !equality.Semantic.DeepEqual(withoutHeartbeats(a), withoutHeartbeats(b))
}

func withoutHeartbeats(st corev1.NodeStatus) corev1.NodeStatus {
	out := *st.DeepCopy()
	for i := range out.Conditions {
		out.Conditions[i].LastHeartbeatTime = metav1.Time{}
	}
	return out
}
