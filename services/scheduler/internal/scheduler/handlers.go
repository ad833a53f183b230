package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// Events fired into the queue.
var (
	nodeAdd           = framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionAdd, Label: "NodeAdd"}
	assignedPodAdd    = framework.ClusterEvent{Resource: framework.ResourcePod, Action: framework.ActionAdd, Label: "AssignedPodAdd"}
	assignedPodDelete = framework.ClusterEvent{Resource: framework.ResourcePod, Action: framework.ActionDelete, Label: "AssignedPodDelete"}
)

func assigned(p *corev1.Pod) bool { return p.Spec.NodeName != "" }

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func podOf(obj any) *corev1.Pod {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, _ := obj.(*corev1.Pod)
	return p
}

func nodeOf(obj any) *corev1.Node {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	n, _ := obj.(*corev1.Node)
	return n
}

// PodHandler feeds the queue (pending pods of our profiles) and the cache
// (bound pods).
func (s *Scheduler) PodHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p := podOf(obj); p != nil {
				s.podChanged(nil, p)
			}
		},
		UpdateFunc: func(old, obj any) {
			if p := podOf(obj); p != nil {
				s.podChanged(podOf(old), p)
			}
		},
		DeleteFunc: func(obj any) {
			p := podOf(obj)
			if p == nil {
				return
			}
			if assigned(p) {
				s.cache.RemovePod(p)
				s.queue.MoveOnEvent(assignedPodDelete)
				return
			}
			s.queue.Delete(p)
		},
	}
}

func (s *Scheduler) podChanged(old, p *corev1.Pod) {
	switch {
	case assigned(p) && terminal(p):
		// A finished pod frees its node's resources.
		s.queue.Delete(p)
		if old != nil && !terminal(old) {
			s.cache.RemovePod(p)
			s.queue.MoveOnEvent(assignedPodDelete)
		}
	case assigned(p):
		s.queue.Delete(p)
		s.cache.AddPod(p)
		if old == nil || !assigned(old) || podLabelsChanged(old, p) {
			s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.ResourcePod,
				Action: framework.ActionAdd | framework.ActionUpdatePodLabel, Label: assignedPodAdd.Label})
		}
	case p.DeletionTimestamp != nil || terminal(p):
		s.queue.Delete(p)
	case s.Responsible(p):
		s.queue.Add(p)
	}
}

func podLabelsChanged(a, b *corev1.Pod) bool {
	return !equality.Semantic.DeepEqual(a.Labels, b.Labels)
}

// NodeHandler feeds the cache and moves pods that a node change may help.
func (s *Scheduler) NodeHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n := nodeOf(obj); n != nil {
				s.cache.AddNode(n)
				s.queue.MoveOnEvent(nodeAdd)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, n := nodeOf(oldObj), nodeOf(obj)
			if n == nil || old == nil {
				return
			}
			s.cache.UpdateNode(n)
			if a := nodeUpdateActions(old, n); a != 0 {
				s.queue.MoveOnEvent(framework.ClusterEvent{Resource: framework.ResourceNode, Action: a, Label: "NodeUpdate"})
			}
		},
		DeleteFunc: func(obj any) {
			if n := nodeOf(obj); n != nil {
				s.cache.RemoveNode(n)
			}
		},
	}
}

// nodeUpdateActions says what changed in a node that could matter to
// scheduling (heartbeats alone change nothing).
func nodeUpdateActions(old, n *corev1.Node) framework.ActionType {
	var a framework.ActionType
	if !equality.Semantic.DeepEqual(old.Status.Allocatable, n.Status.Allocatable) {
		a |= framework.ActionUpdateNodeAllocatable
	}
	if !equality.Semantic.DeepEqual(old.Labels, n.Labels) {
		a |= framework.ActionUpdateNodeLabel
	}
	if !equality.Semantic.DeepEqual(old.Spec.Taints, n.Spec.Taints) || old.Spec.Unschedulable != n.Spec.Unschedulable {
		a |= framework.ActionUpdateNodeTaint
	}
	if readyOf(old) != readyOf(n) {
		a |= framework.ActionUpdateNodeCondition
	}
	return a
}

func readyOf(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}
