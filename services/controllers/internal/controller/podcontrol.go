package controller

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gantry-dev/gantry/libs/client"
)

// PodControl creates and deletes the pods of controller objects, and
// records Kubernetes' events about it on the controller object.
type PodControl struct {
	Pods     *client.Resource[*corev1.Pod, *corev1.PodList]
	Recorder *client.EventRecorder
}

// NewPodControl returns the PodControl of a controller reporting as
// component.
func NewPodControl(c *Context, component string) *PodControl {
	return &PodControl{Pods: client.Pods(c.Client), Recorder: c.Recorder(component)}
}

// PodFromTemplate returns a new pod of tmpl owned by owner (of kind gvk):
// labels, annotations and finalizers from the template, a controller
// owner reference, and a generated name "<owner name>-xxxxx".
func PodFromTemplate(tmpl *corev1.PodTemplateSpec, owner metav1.Object, gvk schema.GroupVersionKind) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:    owner.GetNamespace(),
			GenerateName: PodNamePrefix(owner.GetName()),
			Labels:       copyMap(tmpl.Labels),
			Annotations:  copyMap(tmpl.Annotations),
			Finalizers:   append([]string(nil), tmpl.Finalizers...),
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, gvk)}
	return pod
}

// PodNamePrefix is the generateName of an owner's pods: its name and a
// dash, shortened so that generated names stay valid.
func PodNamePrefix(owner string) string {
	prefix := owner + "-"
	// generateName adds 5 characters; names are DNS subdomains.
	if max := validation.DNS1123SubdomainMaxLength - 5; len(prefix) > max {
		prefix = prefix[:max]
	}
	return prefix
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Create creates pod (from PodFromTemplate, possibly adjusted) and
// records SuccessfulCreate or FailedCreate on owner.
func (p *PodControl) Create(ctx context.Context, pod *corev1.Pod, owner metav1.Object, gvk schema.GroupVersionKind) (*corev1.Pod, error) {
	created, err := p.Pods.Create(ctx, pod, metav1.CreateOptions{})
	ref := Ref(owner, gvk)
	if err != nil {
		// A namespace being deleted refuses new objects: not worth a
		// warning on every try.
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			p.Recorder.Event(ref, corev1.EventTypeWarning, "FailedCreate", fmt.Sprintf("Error creating: %v", err))
		}
		return nil, err
	}
	p.Recorder.Event(ref, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: "+created.Name)
	return created, nil
}

// Delete deletes pod (gracefully) and records SuccessfulDelete or
// FailedDelete on owner. A pod already gone is not an error.
func (p *PodControl) Delete(ctx context.Context, pod *corev1.Pod, owner metav1.Object, gvk schema.GroupVersionKind) error {
	uid := pod.UID
	err := p.Pods.Delete(ctx, pod.Namespace, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	ref := Ref(owner, gvk)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		p.Recorder.Event(ref, corev1.EventTypeWarning, "FailedDelete", fmt.Sprintf("Error deleting: %v", err))
		return err
	}
	p.Recorder.Event(ref, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: "+pod.Name)
	return nil
}

// SlowStartBatch calls fn count times, in batches of growing size (1, 2,
// 4, ... as Kubernetes' controllers create pods), the calls of a batch
// in parallel, and stops after the first batch with a failure: a quota or
// admission error costs one call, not count. It returns how many calls
// succeeded and the first error.
func SlowStartBatch(count, initialBatchSize int, fn func(i int) error) (int, error) {
	done := 0
	for batch := min(count, max(initialBatchSize, 1)); batch > 0; batch = min(2*batch, count-done) {
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			first error
			ok    int
		)
		for i := range batch {
			wg.Go(func() {
				err := fn(done + i)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if first == nil {
						first = err
					}
					return
				}
				ok++
			})
		}
		wg.Wait()
		done += batch
		if first != nil {
			return done - batch + ok, first
		}
	}
	return done, nil
}
