package scheduler

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/queue"
)

// ClientAPI is API over libs/client.
type ClientAPI struct {
	C     *client.Client
	Queue *queue.Queue
	// Recorders write events as each profile (the pod's schedulerName
	// is the event's source, as in Kubernetes).
	Recorders map[string]*client.EventRecorder
}

var _ API = (*ClientAPI)(nil)

// Bind posts a Binding.
func (a *ClientAPI) Bind(ctx context.Context, pod *corev1.Pod, node string) error {
	return client.Pods(a.C).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
}

// DeletePod deletes a preemption victim gracefully, only if it is still
// the same pod.
func (a *ClientAPI) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	uid := pod.UID
	err := client.Pods(a.C).Delete(ctx, pod.Namespace, pod.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// SetNominatedNodeName records status.nominatedNodeName.
func (a *ClientAPI) SetNominatedNodeName(ctx context.Context, pod *corev1.Pod, node string) error {
	var v any = node
	if node == "" {
		v = nil
	}
	return a.patchStatus(ctx, pod, map[string]any{"nominatedNodeName": v})
}

// PodsNominatedTo lists the pending pods nominated to node.
func (a *ClientAPI) PodsNominatedTo(node string) []*framework.PodInfo {
	pods := a.Queue.NominatedPods(node)
	if len(pods) == 0 {
		return nil
	}
	out := make([]*framework.PodInfo, len(pods))
	for i, p := range pods {
		out[i] = framework.NewPodInfo(p)
	}
	return out
}

// SetUnschedulable sets PodScheduled=False with reason and message.
func (a *ClientAPI) SetUnschedulable(ctx context.Context, pod *corev1.Pod, reason, message string) error {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == reason && c.Message == message {
			return nil
		}
	}
	return a.patchStatus(ctx, pod, map[string]any{
		"conditions": []map[string]any{{
			"type": corev1.PodScheduled, "status": corev1.ConditionFalse,
			"reason": reason, "message": message,
			"lastProbeTime": nil, "lastTransitionTime": now(),
		}},
	})
}

func (a *ClientAPI) patchStatus(ctx context.Context, pod *corev1.Pod, status map[string]any) error {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   status,
	})
	if err != nil {
		return err
	}
	_, err = client.Pods(a.C).Patch(ctx, pod.Namespace, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Event records an event about pod, from its profile.
func (a *ClientAPI) Event(pod *corev1.Pod, eventType, reason, message string) {
	if r := a.Recorders[schedulerName(pod)]; r != nil {
		r.Event(client.PodRef(pod), eventType, reason, message)
	}
}
