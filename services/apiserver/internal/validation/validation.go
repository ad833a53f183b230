package validation

import (
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCreate validates obj as it will be stored by a create: defaulted,
// with metadata.name set and, for namespaced kinds, metadata.namespace.
func ValidateCreate(obj runtime.Object) field.ErrorList {
	if isNil(obj) {
		return nilObject()
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		return validateNamespace(o)
	case *corev1.Node:
		return validateNode(o)
	case *corev1.Pod:
		return validatePodCreate(o)
	case *corev1.Service:
		return validateService(o)
	case *corev1.Endpoints:
		return validateEndpoints(o)
	case *corev1.ConfigMap:
		return validateConfigMap(o)
	case *corev1.Secret:
		return validateSecret(o)
	case *corev1.Event:
		return validateEvent(o)
	case *corev1.ServiceAccount:
		return validateServiceAccount(o)
	case *appsv1.Deployment:
		return validateDeployment(o)
	case *appsv1.ReplicaSet:
		return validateReplicaSet(o)
	case *appsv1.StatefulSet:
		return validateStatefulSet(o)
	case *appsv1.DaemonSet:
		return validateDaemonSet(o)
	case *appsv1.ControllerRevision:
		return validateControllerRevision(o)
	case *batchv1.Job:
		return validateJobCreate(o)
	case *batchv1.CronJob:
		return validateCronJobCreate(o)
	case *networkingv1.Ingress:
		return validateIngressCreate(o)
	case *networkingv1.IngressClass:
		return validateIngressClass(o)
	case *certificatesv1.CertificateSigningRequest:
		return validateCSR(o)
	case *coordinationv1.Lease:
		return validateLease(o)
	case *discoveryv1.EndpointSlice:
		return validateEndpointSlice(o, false)
	case *schedulingv1.PriorityClass:
		return validatePriorityClass(o)
	case *corev1.PersistentVolume:
		return validatePersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		return validatePersistentVolumeClaim(o)
	case *storagev1.StorageClass:
		return validateStorageClass(o)
	case *autoscalingv1.Scale:
		return validateScale(o)
	case *policyv1.Eviction:
		return validateEviction(o)
	}
	return unsupported(obj)
}

// ValidateUpdate validates obj, the new state of an update of the spec or
// metadata, against old, the stored object. It checks what ValidateCreate
// checks for the kind (as Kubernetes does on update) and the fields that
// may not change.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	if isNil(obj) || isNil(old) {
		return nilObject()
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		return update(o, old, validateNamespaceUpdate)
	case *corev1.Node:
		return update(o, old, validateNodeUpdate)
	case *corev1.Pod:
		return update(o, old, validatePodUpdate)
	case *corev1.Service:
		return update(o, old, validateServiceUpdate)
	case *corev1.Endpoints:
		return update(o, old, validateEndpointsUpdate)
	case *corev1.ConfigMap:
		return update(o, old, validateConfigMapUpdate)
	case *corev1.Secret:
		return update(o, old, validateSecretUpdate)
	case *corev1.Event:
		return update(o, old, validateEventUpdate)
	case *corev1.ServiceAccount:
		return update(o, old, validateServiceAccountUpdate)
	case *appsv1.Deployment:
		return update(o, old, validateDeploymentUpdate)
	case *appsv1.ReplicaSet:
		return update(o, old, validateReplicaSetUpdate)
	case *appsv1.StatefulSet:
		return update(o, old, validateStatefulSetUpdate)
	case *appsv1.DaemonSet:
		return update(o, old, validateDaemonSetUpdate)
	case *appsv1.ControllerRevision:
		return update(o, old, validateControllerRevisionUpdate)
	case *batchv1.Job:
		return update(o, old, validateJobUpdate)
	case *batchv1.CronJob:
		return update(o, old, validateCronJobUpdate)
	case *networkingv1.Ingress:
		return update(o, old, validateIngressUpdate)
	case *networkingv1.IngressClass:
		return update(o, old, validateIngressClassUpdate)
	case *certificatesv1.CertificateSigningRequest:
		return update(o, old, validateCSRUpdate)
	case *coordinationv1.Lease:
		return update(o, old, validateLeaseUpdate)
	case *discoveryv1.EndpointSlice:
		return update(o, old, validateEndpointSliceUpdate)
	case *schedulingv1.PriorityClass:
		return update(o, old, validatePriorityClassUpdate)
	case *corev1.PersistentVolume:
		return update(o, old, validatePersistentVolumeUpdate)
	case *corev1.PersistentVolumeClaim:
		return update(o, old, validatePersistentVolumeClaimUpdate)
	case *storagev1.StorageClass:
		return update(o, old, validateStorageClassUpdate)
	case *autoscalingv1.Scale:
		return update(o, old, validateScaleUpdate)
	}
	return unsupported(obj)
}

// ValidateStatusUpdate validates obj, the new state of an update through the
// status subresource, against old, the stored object: the metadata rules of
// an update and the status checks Kubernetes makes for the kind.
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	if isNil(obj) || isNil(old) {
		return nilObject()
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		return update(o, old, validateNamespaceStatusUpdate)
	case *corev1.Node:
		return update(o, old, validateNodeUpdate)
	case *corev1.Pod:
		return update(o, old, validatePodStatusUpdate)
	case *corev1.Service:
		return update(o, old, validateServiceStatusUpdate)
	case *appsv1.Deployment:
		return update(o, old, validateDeploymentStatusUpdate)
	case *appsv1.ReplicaSet:
		return update(o, old, validateReplicaSetStatusUpdate)
	case *appsv1.StatefulSet:
		return update(o, old, validateStatefulSetStatusUpdate)
	case *appsv1.DaemonSet:
		return update(o, old, validateDaemonSetStatusUpdate)
	case *batchv1.Job:
		return update(o, old, validateJobStatusUpdate)
	case *batchv1.CronJob:
		return update(o, old, validateCronJobStatusUpdate)
	case *networkingv1.Ingress:
		return update(o, old, validateIngressStatusUpdate)
	case *certificatesv1.CertificateSigningRequest:
		return update(o, old, validateCSRStatusUpdate)
	case *corev1.PersistentVolume:
		return update(o, old, validatePersistentVolumeStatusUpdate)
	case *corev1.PersistentVolumeClaim:
		return update(o, old, validatePersistentVolumeClaimStatusUpdate)
	}
	return unsupported(obj)
}

// update checks that old has the type of obj and runs fn on the pair. The
// result holds each error once: Kubernetes runs the metadata checks both in
// the generic update path and in the kind's own validation.
func update[T runtime.Object](obj T, old runtime.Object, fn func(obj, old T) field.ErrorList) field.ErrorList {
	o, ok := old.(T)
	if !ok {
		return field.ErrorList{field.InternalError(nil,
			fmt.Errorf("cannot validate an update of %T from %T", obj, old))}
	}
	return dedupe(fn(obj, o))
}

// isNil reports a nil object, typed or not.
func isNil(obj runtime.Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

func nilObject() field.ErrorList {
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("no object to validate"))}
}

func unsupported(obj runtime.Object) field.ErrorList {
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("no validation for %T", obj))}
}

// dedupe drops errors equal to an earlier one, keeping the order.
func dedupe(errs field.ErrorList) field.ErrorList {
	if len(errs) < 2 {
		return errs
	}
	seen := make(map[string]bool, len(errs))
	out := errs[:0:0]
	for _, e := range errs {
		key := string(e.Type) + "\x00" + e.Error()
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, e)
	}
	return out
}
