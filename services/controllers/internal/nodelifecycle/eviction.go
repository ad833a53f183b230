package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// syncEviction decides whether the pod named key must leave its node
// because of the node's NoExecute taints, and when: at once, when its
// toleration runs out (the key comes back then), or never.
func (nc *Controller) syncEviction(ctx context.Context, key string) error {
	ns, n := controller.SplitKey(key)
	pod, err := listers.NewNamespaced(nc.podLister, ns).Get(n)
	if apierrors.IsNotFound(err) {
		nc.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" {
		nc.forget(key)
		return nil
	}
	node, err := nc.nodeLister.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		nc.forget(key) // the pod GC's now
		return nil
	}
	if err != nil {
		return err
	}
	now := nc.clock.Now()
	taints := noExecuteTaints(node)
	st, scheduled := nc.taintState(key, len(taints) > 0, now)
	at, evict := evictionDue(pod.Spec.Tolerations, taints, st.since)
	if !evict {
		if scheduled {
			nc.evictEvents.Event(client.PodRef(pod), corev1.EventTypeNormal, "TaintManagerEviction",
				fmt.Sprintf("Cancelling deletion of Pod %s", key))
		}
		nc.setDeadline(key, time.Time{})
		return nil
	}
	if at.After(now) {
		nc.setDeadline(key, at)
		nc.eviction.EnqueueAfter(key, at.Sub(now))
		return nil
	}
	nc.evictEvents.Event(client.PodRef(pod), corev1.EventTypeNormal, "TaintManagerEviction",
		fmt.Sprintf("Marking for deletion Pod %s", key))
	if err := nc.evict(ctx, pod, now); err != nil {
		return err
	}
	nc.forget(key)
	return nil
}

// taintState returns what is remembered of the pod key, starting its
// clock now if it was not tainted before; untainted pods are forgotten.
// scheduled reports whether an eviction was pending.
func (nc *Controller) taintState(key string, tainted bool, now time.Time) (podTaintState, bool) {
	nc.evictMu.Lock()
	defer nc.evictMu.Unlock()
	st, ok := nc.tainted[key]
	if !tainted {
		delete(nc.tainted, key)
		if ok {
			return podTaintState{}, !st.deadline.IsZero()
		}
		return podTaintState{}, false
	}
	if !ok {
		st = &podTaintState{since: now}
		nc.tainted[key] = st
	}
	return *st, !st.deadline.IsZero()
}

func (nc *Controller) setDeadline(key string, at time.Time) {
	nc.evictMu.Lock()
	defer nc.evictMu.Unlock()
	if st, ok := nc.tainted[key]; ok {
		st.deadline = at
	}
}

func (nc *Controller) forget(key string) {
	nc.evictMu.Lock()
	defer nc.evictMu.Unlock()
	delete(nc.tainted, key)
}

// evict records why the pod goes (a DisruptionTarget condition) and
// deletes it gracefully; both name the pod's UID, so a namesake is left
// alone.
func (nc *Controller) evict(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	cond := corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByTaintManager",
		Message: "Taint manager: deleting due to NoExecute taint", LastTransitionTime: metav1.NewTime(now),
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   map[string]any{"conditions": []corev1.PodCondition{cond}},
	})
	if err != nil {
		return err
	}
	_, err = nc.pods.Patch(ctx, pod.Namespace, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark pod %s/%s for eviction: %w", pod.Namespace, pod.Name, err)
	}
	uid := pod.UID
	err = nc.pods.Delete(ctx, pod.Namespace, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("evict pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	nc.log.Info("pod evicted by NoExecute taint", "pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName)
	return nil
}
