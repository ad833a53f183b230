package registry

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var bindingGR = schema.GroupResource{Resource: "pods/binding"}

// Bind assigns a pod to a node (pods/binding): only once, and only while
// the pod is not being deleted.
func (r *Resource) Bind(ctx context.Context, ns, name string, b *corev1.Binding, opts metav1.CreateOptions) error {
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		return apierrors.NewInvalid(b.GroupVersionKind().GroupKind(), name,
			field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"})})
	}
	if b.Target.Name == "" {
		return apierrors.NewInvalid(b.GroupVersionKind().GroupKind(), name,
			field.ErrorList{field.Required(field.NewPath("target", "name"), "")})
	}
	_, _, err := r.Mutate(ctx, ns, name, "binding", isDryRun(opts.DryRun), false, opts.FieldManager,
		func(cur runtime.Object) (runtime.Object, error) {
			pod := cur.DeepCopyObject().(*corev1.Pod)
			if b.UID != "" && b.UID != pod.UID {
				return nil, apierrors.NewConflict(r.gr, name, fmt.Errorf(
					"Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
			}
			if pod.DeletionTimestamp != nil {
				return nil, apierrors.NewConflict(bindingGR, name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", name))
			}
			if pod.Spec.NodeName != "" {
				return nil, apierrors.NewConflict(bindingGR, name, fmt.Errorf("pod %s is already assigned to node %q", name, pod.Spec.NodeName))
			}
			pod.Spec.NodeName = b.Target.Name
			for k, v := range b.Annotations {
				if pod.Annotations == nil {
					pod.Annotations = map[string]string{}
				}
				pod.Annotations[k] = v
			}
			setPodScheduled(pod)
			return pod, nil
		})
	return err
}

// setPodScheduled records PodScheduled=True; binding changes the spec, so
// the status change rides along.
func setPodScheduled(pod *corev1.Pod) {
	now := metav1.Now()
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		if c.Type == corev1.PodScheduled {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionTrue, "", "", now
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now,
	})
}

// Evict deletes a pod through the eviction subresource. No disruption
// budgets are served yet, so an eviction is always allowed.
func (r *Resource) Evict(ctx context.Context, ns, name string, ev *policyv1.Eviction) error {
	opts := metav1.DeleteOptions{}
	if ev.DeleteOptions != nil {
		opts = *ev.DeleteOptions
	}
	_, _, err := r.Delete(ctx, ns, name, opts)
	return err
}

// Scale returns the autoscaling/v1 Scale of a Deployment, ReplicaSet or
// StatefulSet.
func (r *Resource) Scale(ctx context.Context, ns, name string) (*autoscalingv1.Scale, error) {
	obj, err := r.store.Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	return scaleOf(obj)
}

// UpdateScale sets the replicas of the scaled object. fn turns the current
// Scale into the desired one.
func (r *Resource) UpdateScale(ctx context.Context, ns, name string, dryRun bool, manager string,
	fn func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error)) (*autoscalingv1.Scale, error) {
	obj, _, err := r.Mutate(ctx, ns, name, "scale", dryRun, false, manager, func(cur runtime.Object) (runtime.Object, error) {
		sc, err := scaleOf(cur)
		if err != nil {
			return nil, err
		}
		want, err := fn(sc)
		if err != nil {
			return nil, err
		}
		if want.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind(), name,
				field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), want.Spec.Replicas, "must be greater than or equal to 0")})
		}
		if want.ResourceVersion != "" && want.ResourceVersion != sc.ResourceVersion {
			return nil, apierrors.NewConflict(r.gr, name, fmt.Errorf(
				"the object has been modified; please apply your changes to the latest version and try again"))
		}
		next := cur.DeepCopyObject()
		setReplicas(next, want.Spec.Replicas)
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return scaleOf(obj)
}

func scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	sc := &autoscalingv1.Scale{}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		sc.ObjectMeta, sc.Spec.Replicas, sc.Status.Replicas, sel = o.ObjectMeta, deref(o.Spec.Replicas), o.Status.Replicas, o.Spec.Selector
	case *appsv1.ReplicaSet:
		sc.ObjectMeta, sc.Spec.Replicas, sc.Status.Replicas, sel = o.ObjectMeta, deref(o.Spec.Replicas), o.Status.Replicas, o.Spec.Selector
	case *appsv1.StatefulSet:
		sc.ObjectMeta, sc.Spec.Replicas, sc.Status.Replicas, sel = o.ObjectMeta, deref(o.Spec.Replicas), o.Status.Replicas, o.Spec.Selector
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%T has no scale subresource", obj))
	}
	sc.ObjectMeta = metav1.ObjectMeta{
		Name: sc.Name, Namespace: sc.Namespace, UID: sc.UID, ResourceVersion: sc.ResourceVersion,
		CreationTimestamp: sc.CreationTimestamp,
	}
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err == nil {
			sc.Status.Selector = s.String()
		}
	}
	sc.SetGroupVersionKind(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
	return sc, nil
}

func setReplicas(obj runtime.Object, n int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &n
	case *appsv1.StatefulSet:
		o.Spec.Replicas = &n
	}
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
