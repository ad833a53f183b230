package statefulset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// errStaleClaim: a claim of the pod to create still belongs to its
// previous incarnation; the pod waits until the claim is gone.
var errStaleClaim = errors.New("a claim still belongs to the previous pod of that name")

// podControl creates, deletes and relabels a set's pods and creates and
// updates their claims, recording Kubernetes' events on the set.
type podControl struct {
	pods     *client.Resource[*corev1.Pod, *corev1.PodList]
	claims   *client.Resource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList]
	claimsLs listers.ResourceIndexer[*corev1.PersistentVolumeClaim]
	recorder *client.EventRecorder
}

func (pc *podControl) event(set *appsv1.StatefulSet, verb, what string, err error) {
	ref := controller.Ref(set, setKind)
	if err == nil {
		pc.recorder.Event(ref, corev1.EventTypeNormal, "Successful"+title(verb),
			fmt.Sprintf("%s %s in StatefulSet %s successful", verb, what, set.Name))
		return
	}
	pc.recorder.Event(ref, corev1.EventTypeWarning, "Failed"+title(verb),
		fmt.Sprintf("%s %s in StatefulSet %s failed error: %v", verb, what, set.Name, err))
}

func (pc *podControl) claimEvent(set *appsv1.StatefulSet, claim, pod string, err error) {
	ref := controller.Ref(set, setKind)
	if err == nil {
		pc.recorder.Event(ref, corev1.EventTypeNormal, "SuccessfulCreate",
			fmt.Sprintf("create Claim %s Pod %s in StatefulSet %s success", claim, pod, set.Name))
		return
	}
	pc.recorder.Event(ref, corev1.EventTypeWarning, "FailedCreate",
		fmt.Sprintf("create Claim %s for Pod %s in StatefulSet %s failed error: %v", claim, pod, set.Name, err))
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// create creates pod after its claims. A pod that exists already (the
// cache is behind) is an error without an event: the sync is retried.
func (pc *podControl) create(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	ord := ordinalOf(pod)
	if len(set.Spec.VolumeClaimTemplates) > 0 {
		for _, c := range claimsFor(set, ord) {
			if cur, err := listers.NewNamespaced(pc.claimsLs, c.Namespace).Get(c.Name); err == nil && staleClaim(cur, set, pod.Name) {
				return fmt.Errorf("pod %s: claim %s: %w", pod.Name, c.Name, errStaleClaim)
			}
		}
		if err := pc.ensureClaims(ctx, set, pod); err != nil {
			pc.event(set, "create", "Pod "+pod.Name, err)
			return err
		}
	}
	created, err := pc.pods.Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	pc.event(set, "create", "Pod "+pod.Name, err)
	if err != nil {
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	if len(set.Spec.VolumeClaimTemplates) > 0 {
		// Now that the pod has a UID its claims can be owned as the
		// retention policy says.
		if err := pc.syncClaimOwners(ctx, set, created); err != nil {
			pc.event(set, "update", "Pod "+pod.Name, err)
			return err
		}
	}
	return nil
}

// ensureClaims creates the claims of pod that do not exist. A claim being
// deleted is an error: the pod cannot use it.
func (pc *podControl) ensureClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	var errs []error
	for _, c := range claimsFor(set, ordinalOf(pod)) {
		cur, err := listers.NewNamespaced(pc.claimsLs, c.Namespace).Get(c.Name)
		switch {
		case apierrors.IsNotFound(err):
			if refs, changed := claimOwners(c, set, pod); changed {
				c.OwnerReferences = refs
			}
			_, err := pc.claims.Create(ctx, c, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue // the cache is behind
			}
			pc.claimEvent(set, c.Name, pod.Name, err)
			if err != nil {
				errs = append(errs, fmt.Errorf("create claim %s: %w", c.Name, err))
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("get claim %s: %w", c.Name, err))
		case cur.DeletionTimestamp != nil:
			errs = append(errs, fmt.Errorf("claim %s is being deleted", c.Name))
		}
	}
	return errors.Join(errs...)
}

// syncClaimOwners gives pod's existing claims the owner references of
// the retention policy.
func (pc *podControl) syncClaimOwners(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	var errs []error
	for _, c := range claimsFor(set, ordinalOf(pod)) {
		cur, err := listers.NewNamespaced(pc.claimsLs, c.Namespace).Get(c.Name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("get claim %s: %w", c.Name, err))
			continue
		}
		refs, changed := claimOwners(cur, set, pod)
		if !changed {
			continue
		}
		upd := cur.DeepCopy()
		upd.OwnerReferences = refs
		if _, err := pc.claims.Update(ctx, upd, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("update owners of claim %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// delete deletes pod (gracefully). A pod already gone, or replaced by a
// namesake, is not an error.
func (pc *podControl) delete(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	uid := pod.UID
	err := pc.pods.Delete(ctx, pod.Namespace, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	pc.event(set, "delete", "Pod "+pod.Name, err)
	if err != nil {
		return fmt.Errorf("delete pod %s: %w", pod.Name, err)
	}
	return nil
}

// relabel restores pod's identity labels.
func (pc *podControl) relabel(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid": pod.UID,
		"labels": map[string]string{
			appsv1.StatefulSetPodNameLabel: pod.Name,
			appsv1.PodIndexLabel:           strconv.Itoa(ordinalOf(pod)),
		},
	}})
	if err != nil {
		return err
	}
	_, err = pc.pods.Patch(ctx, pod.Namespace, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	pc.event(set, "update", "Pod "+pod.Name, err)
	if err != nil {
		return fmt.Errorf("relabel pod %s: %w", pod.Name, err)
	}
	return nil
}
