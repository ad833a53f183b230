package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func deploymentCells(d *appsv1.Deployment, now time.Time) []interface{} {
	st := d.Status
	cells := []interface{}{
		d.Name,
		fmt.Sprintf("%d/%d", st.ReadyReplicas, replicas(d.Spec.Replicas)),
		int64(st.UpdatedReplicas),
		int64(st.AvailableReplicas),
		age(d.CreationTimestamp, now),
	}
	return append(cells, templateCells(&d.Spec.Template, selectorString(d.Spec.Selector))...)
}

func replicaSetCells(rs *appsv1.ReplicaSet, now time.Time) []interface{} {
	st := rs.Status
	cells := []interface{}{
		rs.Name,
		int64(replicas(rs.Spec.Replicas)),
		int64(st.Replicas),
		int64(st.ReadyReplicas),
		age(rs.CreationTimestamp, now),
	}
	return append(cells, templateCells(&rs.Spec.Template, metav1.FormatLabelSelector(rs.Spec.Selector))...)
}

func statefulSetCells(s *appsv1.StatefulSet, now time.Time) []interface{} {
	cells := []interface{}{
		s.Name,
		fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, replicas(s.Spec.Replicas)),
		age(s.CreationTimestamp, now),
	}
	names, images := containerNamesAndImages(s.Spec.Template.Spec.Containers)
	return append(cells, names, images)
}

func daemonSetCells(ds *appsv1.DaemonSet, now time.Time) []interface{} {
	st := ds.Status
	cells := []interface{}{
		ds.Name,
		int64(st.DesiredNumberScheduled),
		int64(st.CurrentNumberScheduled),
		int64(st.NumberReady),
		int64(st.UpdatedNumberScheduled),
		int64(st.NumberAvailable),
		labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
		age(ds.CreationTimestamp, now),
	}
	return append(cells, templateCells(&ds.Spec.Template, metav1.FormatLabelSelector(ds.Spec.Selector))...)
}

// controllerRevisionCells name the revision's controller as
// "<kind>.<group>/<name>" ("statefulset.apps/web"), or "<none>".
func controllerRevisionCells(cr *appsv1.ControllerRevision, now time.Time) []interface{} {
	controller := "<none>"
	if ref := metav1.GetControllerOfNoCopy(cr); ref != nil {
		controller = ref.Name
		if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil && ref.Kind != "" {
			controller = strings.ToLower(gv.WithKind(ref.Kind).GroupKind().String()) + "/" + ref.Name
		}
	}
	return []interface{}{cr.Name, controller, cr.Revision, age(cr.CreationTimestamp, now)}
}

// replicas is a desired replica count, 0 when unset.
func replicas(n *int32) int32 {
	if n == nil {
		return 0
	}
	return *n
}

// templateCells are the wide cells of a workload: its containers, images
// and selector.
func templateCells(t *corev1.PodTemplateSpec, selector string) []interface{} {
	names, images := containerNamesAndImages(t.Spec.Containers)
	return []interface{}{names, images, selector}
}

// containerNamesAndImages lists the containers' names and their images,
// each comma separated.
func containerNamesAndImages(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	i := make([]string, len(containers))
	for k, c := range containers {
		n[k], i[k] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}

// selectorString is a selector in label query form: "app=web,tier in
// (a,b)", empty for no selector and "<invalid>" for one that cannot be
// parsed.
func selectorString(ls *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return "<invalid>"
	}
	return sel.String()
}
