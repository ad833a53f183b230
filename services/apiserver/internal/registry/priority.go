package registry

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kubernetes' Priority admission: a new pod's priority comes from its
// PriorityClass (or the global default class), and at most one class is
// the global default.

var (
	podsGR            = schema.GroupResource{Resource: "pods"}
	priorityClassesGR = schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}
)

// priorityClasses is where admission reads the stored classes.
type priorityClasses interface {
	// get returns one class, or a NotFound error.
	get(ctx context.Context, name string) (*schedulingv1.PriorityClass, error)
	// list returns every class.
	list(ctx context.Context) ([]*schedulingv1.PriorityClass, error)
}

// classStore reads classes from the watch cache, as Kubernetes' admission
// reads them from an informer. A class missing from the cache is looked
// up in the store, so that a pod created right after its class, through
// another API server, finds it. consistent makes list wait until the cache
// has caught up with the store (the check of the global default, where
// classes are rare and a stale answer would let two defaults in).
type classStore struct {
	r          *Resource
	consistent bool
}

func (reg *Registry) priorityClasses(consistent bool) classStore {
	return classStore{r: reg.mustResource("scheduling.k8s.io", "priorityclasses"), consistent: consistent}
}

func (s classStore) get(ctx context.Context, name string) (*schedulingv1.PriorityClass, error) {
	obj, _, ok := s.r.cache.Get(s.r.res.Key("", name))
	if !ok {
		var err error
		if obj, err = s.r.store.Get(ctx, "", name); err != nil {
			return nil, err
		}
	}
	return obj.(*schedulingv1.PriorityClass), nil
}

func (s classStore) list(ctx context.Context) ([]*schedulingv1.PriorityClass, error) {
	if s.consistent {
		if err := s.r.cache.Consistent(ctx); err != nil {
			return nil, err
		}
	} else {
		// Only wait for the cache to have loaded at all.
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := s.r.cache.WaitFor(wctx, 1)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	items, _, _ := s.r.cache.List(s.r.res.KeyPrefix(""), "", 0, nil)
	out := make([]*schedulingv1.PriorityClass, len(items))
	for i, obj := range items {
		out[i] = obj.(*schedulingv1.PriorityClass)
	}
	return out, nil
}

func (reg *Registry) admitPodPriority(ctx context.Context, obj runtime.Object, name string) error {
	return admitPodPriority(ctx, obj.(*corev1.Pod), name, reg.priorityClasses(false))
}

func (reg *Registry) admitPriorityClass(ctx context.Context, obj, old runtime.Object) error {
	classes, err := reg.priorityClasses(true).list(ctx)
	if err != nil {
		return err
	}
	return checkGlobalDefault(obj.(*schedulingv1.PriorityClass), old != nil, classes)
}

// admitPodPriority sets a new pod's spec.priority and
// spec.preemptionPolicy from the PriorityClass it names, or from the
// global default class (whose name it then gets) when it names none; with
// neither, the priority is 0 and the policy PreemptLowerPriority. A pod
// may state either field only with the value it would get. name is the
// pod's name in errors.
func admitPodPriority(ctx context.Context, pod *corev1.Pod, name string, classes priorityClasses) error {
	var (
		priority int32
		policy   *corev1.PreemptionPolicy
	)
	if className := pod.Spec.PriorityClassName; className == "" {
		all, err := classes.list(ctx)
		if err != nil {
			return fmt.Errorf("failed to get default priority class: %w", err)
		}
		lower := corev1.PreemptLowerPriority
		policy = &lower
		if dpc := defaultPriorityClass(all); dpc != nil {
			pod.Spec.PriorityClassName = dpc.Name
			priority, policy = dpc.Value, dpc.PreemptionPolicy
		}
	} else {
		pc, err := classes.get(ctx, className)
		if apierrors.IsNotFound(err) {
			return apierrors.NewForbidden(podsGR, name, fmt.Errorf("no PriorityClass with name %v was found", className))
		}
		if err != nil {
			return fmt.Errorf("failed to get PriorityClass with name %s: %w", className, err)
		}
		priority, policy = pc.Value, pc.PreemptionPolicy
	}
	if p := pod.Spec.Priority; p != nil && *p != priority {
		return apierrors.NewForbidden(podsGR, name, fmt.Errorf(
			"the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name",
			*p, priority))
	}
	pod.Spec.Priority = &priority
	if policy != nil {
		if p := pod.Spec.PreemptionPolicy; p != nil && *p != *policy {
			return apierrors.NewForbidden(podsGR, name, fmt.Errorf(
				"the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name",
				*p, *policy))
		}
		v := *policy
		pod.Spec.PreemptionPolicy = &v
	}
	return nil
}

// keepPodPriority keeps the priority admission gave a pod when an update
// leaves it out (a replace from a manifest); changing it is for
// validation to refuse.
func keepPodPriority(_ context.Context, obj, old runtime.Object) error {
	pod, prev := obj.(*corev1.Pod), old.(*corev1.Pod)
	if pod.Spec.Priority == nil && prev.Spec.Priority != nil {
		v := *prev.Spec.Priority
		pod.Spec.Priority = &v
	}
	if pod.Spec.PreemptionPolicy == nil && prev.Spec.PreemptionPolicy != nil {
		v := *prev.Spec.PreemptionPolicy
		pod.Spec.PreemptionPolicy = &v
	}
	return nil
}

// defaultPriorityClass is the class marked globalDefault; should a race
// have let in several, the one of lowest value, as in Kubernetes.
func defaultPriorityClass(classes []*schedulingv1.PriorityClass) *schedulingv1.PriorityClass {
	var dpc *schedulingv1.PriorityClass
	for _, pc := range classes {
		if pc.GlobalDefault && (dpc == nil || pc.Value < dpc.Value) {
			dpc = pc
		}
	}
	return dpc
}

// checkGlobalDefault refuses to create a class marked globalDefault, or to
// mark another class so, while one already is. classes are the stored
// ones.
func checkGlobalDefault(pc *schedulingv1.PriorityClass, update bool, classes []*schedulingv1.PriorityClass) error {
	if !pc.GlobalDefault {
		return nil
	}
	dpc := defaultPriorityClass(classes)
	if dpc == nil || update && dpc.Name == pc.Name {
		return nil
	}
	return apierrors.NewForbidden(priorityClassesGR, pc.Name, fmt.Errorf(
		"PriorityClass %v is already marked as default. Only one default can exist", dpc.Name))
}

// preparePriorityClass: a class starts at generation 1, as in Kubernetes,
// though it has no spec.
func preparePriorityClass(obj runtime.Object) {
	obj.(*schedulingv1.PriorityClass).Generation = 1
}
