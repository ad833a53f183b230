package printers

import (
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Columns returns the table columns of a resource, in order. A resource
// without a printer of its own gets the default Name and Created At.
func Columns(gr schema.GroupResource) []metav1.TableColumnDefinition {
	if cols, ok := columns[gr]; ok {
		return slices.Clone(cols)
	}
	return slices.Clone(defaultColumns)
}

// Cells returns one object's table cells, one per column of its resource,
// wide columns included. now is the time ages and durations count to.
// Cells are strings, int64 or, in boolean columns, bool. The first is the
// name, except for events, which lead with LAST SEEN and keep the name as
// their last, wide, column, as Kubernetes does. An object without a
// printer of its own gets the default cells; one without object metadata
// gets nil.
func Cells(obj runtime.Object, now time.Time) []interface{} {
	switch o := obj.(type) {
	case *corev1.Pod:
		return podCells(o, now)
	case *corev1.Node:
		return nodeCells(o, now)
	case *corev1.Namespace:
		return namespaceCells(o, now)
	case *corev1.Service:
		return serviceCells(o, now)
	case *corev1.Endpoints:
		return endpointsCells(o, now)
	case *corev1.ConfigMap:
		return configMapCells(o, now)
	case *corev1.Secret:
		return secretCells(o, now)
	case *corev1.Event:
		return eventCells(o, now)
	case *corev1.ServiceAccount:
		return serviceAccountCells(o, now)
	case *appsv1.Deployment:
		return deploymentCells(o, now)
	case *appsv1.ReplicaSet:
		return replicaSetCells(o, now)
	case *appsv1.StatefulSet:
		return statefulSetCells(o, now)
	case *appsv1.DaemonSet:
		return daemonSetCells(o, now)
	case *appsv1.ControllerRevision:
		return controllerRevisionCells(o, now)
	case *batchv1.Job:
		return jobCells(o, now)
	case *batchv1.CronJob:
		return cronJobCells(o, now)
	case *networkingv1.Ingress:
		return ingressCells(o, now)
	case *networkingv1.IngressClass:
		return ingressClassCells(o, now)
	case *certificatesv1.CertificateSigningRequest:
		return csrCells(o, now)
	case *coordinationv1.Lease:
		return leaseCells(o, now)
	case *discoveryv1.EndpointSlice:
		return endpointSliceCells(o, now)
	case *schedulingv1.PriorityClass:
		return priorityClassCells(o, now)
	case *corev1.PersistentVolume:
		return persistentVolumeCells(o, now)
	case *corev1.PersistentVolumeClaim:
		return persistentVolumeClaimCells(o, now)
	case *storagev1.StorageClass:
		return storageClassCells(o, now)
	}
	return defaultCells(obj)
}

// defaultCells are those of Kubernetes' default table: the name and the
// creation time in RFC 3339, UTC.
func defaultCells(obj runtime.Object) []interface{} {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}
}

// age is how long ago t was, as kubectl shows it ("5m", "3d2h"), or
// "<unknown>" for an unset time.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// orNone is s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// sortedUnique sorts s in place and drops repeats.
func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
