package deployment

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// deploy is a RollingUpdate Deployment with replicas, maxSurge and
// maxUnavailable (ints or percents).
func deploy(replicas int32, surge, unavailable string) *appsv1.Deployment {
	s, u := intstr.Parse(surge), intstr.Parse(unavailable)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d-uid", Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:2"}}},
			},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u},
			},
			RevisionHistoryLimit:    ptr[int32](10),
			ProgressDeadlineSeconds: ptr[int32](600),
		},
	}
}

func recreate(replicas int32) *appsv1.Deployment {
	d := deploy(replicas, "0", "0")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	return d
}

// rs is a ReplicaSet of d: name, age (minutes before t0), spec replicas,
// available pods (status replicas = spec), annotations of d's sizes.
func rs(d *appsv1.Deployment, name string, age int, spec, avail int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ns", UID: types.UID(name + "-uid"),
			CreationTimestamp: metav1.NewTime(t0.Add(-time.Duration(age) * time.Minute)),
			Annotations: map[string]string{
				DesiredReplicasAnnotation: fmt.Sprint(replicas(d)),
				MaxReplicasAnnotation:     fmt.Sprint(replicas(d) + maxSurge(d)),
			},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(spec)},
		Status: appsv1.ReplicaSetStatus{
			Replicas: spec, ReadyReplicas: avail, AvailableReplicas: avail,
		},
	}
}

// sizes renders a plan as "name:to" strings.
func sizes(plan []scaling) []string {
	out := make([]string, len(plan))
	for i, s := range plan {
		out[i] = fmt.Sprintf("%s:%d", s.rs.Name, s.to)
	}
	return out
}
