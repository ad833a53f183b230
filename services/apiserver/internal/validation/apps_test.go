package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateCreateDeployment(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []want
	}{
		{name: "valid deployment passes", mutate: func(*appsv1.Deployment) {}},
		{name: "Recreate strategy passes", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		}},
		{name: "selector missing", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			want: []want{required("spec.selector", ""), invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")}},
		{name: "selector does not match template", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "api"} },
			want: []want{invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")}},
		{name: "empty selector", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want: []want{invalid("spec.selector", "empty selector is invalid for deployment")}},
		{name: "bad selector operator", mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
		}, want: []want{
			invalid("spec.selector.matchExpressions[0].operator", "not a valid selector operator"),
			invalid("spec.selector", "invalid label selector"),
		}},
		{name: "negative replicas", mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(-1)) },
			want: []want{invalid("spec.replicas", "must be greater than or equal to 0")}},
		{name: "maxSurge and maxUnavailable both 0", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr(intstr.FromInt32(0)), MaxSurge: ptr(intstr.FromString("0%"))}
		}, want: []want{invalid("spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0")}},
		{name: "bad percentages", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr(intstr.FromString("120%")), MaxSurge: ptr(intstr.FromString("ten"))}
		}, want: []want{
			invalid("spec.strategy.rollingUpdate.maxSurge", "a valid percent string must be a numeric string followed by an ending '%'"),
			invalid("spec.strategy.rollingUpdate.maxUnavailable", "must not be greater than 100%"),
		}},
		{name: "Recreate with rolling update parameters", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			want: []want{forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")}},
		{name: "unknown strategy", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy = appsv1.DeploymentStrategy{Type: "BlueGreen"} },
			want: []want{notSupported("spec.strategy", `supported values: "Recreate", "RollingUpdate"`)}},
		{name: "template restarts Never", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []want{notSupported("spec.template.spec.restartPolicy", `supported values: "Always"`)}},
		{name: "template with active deadline", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(10)) },
			want: []want{forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in ReplicaSet is not Supported")}},
		{name: "template container without image", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			want: []want{required("spec.template.spec.containers[0].image", "")}},
		{name: "progress deadline not above minReadySeconds", mutate: func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 600
		}, want: []want{invalid("spec.progressDeadlineSeconds", "must be greater than minReadySeconds")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := validDeployment()
			tc.mutate(d)
			expectErrors(t, ValidateCreate(d), tc.want...)
		})
	}
}

func TestDeploymentMessagesAsKubectlPrintsThem(t *testing.T) {
	d := validDeployment()
	d.Spec.Selector = nil
	errs := ValidateCreate(d)
	expectMessage(t, errs, "spec.selector: Required value")
	expectMessage(t, errs, "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`")
}

func TestValidateUpdateDeployment(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []want
	}{
		{name: "scaling and a new image pass", mutate: func(d *appsv1.Deployment) {
			d.Spec.Replicas = ptr(int32(5))
			d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		}},
		{name: "selector changed", mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "front"}}
			d.Spec.Template.Labels = map[string]string{"app": "web", "tier": "front"}
		}, want: []want{invalid("spec.selector", "field is immutable")}},
		{name: "generation decremented", mutate: func(d *appsv1.Deployment) { d.Generation = 1 },
			want: []want{invalid("metadata.generation", "must not be decremented")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validDeployment()
			old.ObjectMeta = stored(old.ObjectMeta)
			old.Generation = 3
			d := old.DeepCopy()
			tc.mutate(d)
			expectErrors(t, ValidateUpdate(d, old), tc.want...)
		})
	}
}

func TestValidateStatusUpdateDeployment(t *testing.T) {
	tests := []struct {
		name   string
		status appsv1.DeploymentStatus
		want   []want
	}{
		{name: "consistent status passes", status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, CollisionCount: ptr(int32(1))}},
		{name: "negative replicas", status: appsv1.DeploymentStatus{Replicas: -1, CollisionCount: ptr(int32(1))},
			want: []want{
				invalid("status.replicas", "must be greater than or equal to 0"),
				// Kubernetes also compares the other counts with the negative total.
				invalid("status.updatedReplicas", "cannot be greater than status.replicas"),
				invalid("status.readyReplicas", "cannot be greater than status.replicas"),
				invalid("status.availableReplicas", "cannot be greater than status.replicas"),
			}},
		{name: "more ready than replicas", status: appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2, CollisionCount: ptr(int32(1))},
			want: []want{invalid("status.readyReplicas", "cannot be greater than status.replicas")}},
		{name: "more available than ready", status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2, CollisionCount: ptr(int32(1))},
			want: []want{invalid("status.availableReplicas", "cannot be greater than readyReplicas")}},
		{name: "collision count decremented", status: appsv1.DeploymentStatus{},
			want: []want{invalid("status.collisionCount", "cannot be decremented")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validDeployment()
			old.ObjectMeta = stored(old.ObjectMeta)
			old.Status.CollisionCount = ptr(int32(1))
			d := old.DeepCopy()
			d.Status = tc.status
			expectErrors(t, ValidateStatusUpdate(d, old), tc.want...)
		})
	}
}

func TestValidateReplicaSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.ReplicaSet)
		want   []want
	}{
		{name: "valid replica set passes", mutate: func(*appsv1.ReplicaSet) {}},
		{name: "empty selector", mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = &metav1.LabelSelector{} },
			want: []want{invalid("spec.selector", "empty selector is invalid for deployment")}},
		{name: "negative minReadySeconds", mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.MinReadySeconds = -5 },
			want: []want{invalid("spec.minReadySeconds", "must be greater than or equal to 0")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := validReplicaSet()
			tc.mutate(rs)
			expectErrors(t, ValidateCreate(rs), tc.want...)
		})
	}

	old := validReplicaSet()
	old.ObjectMeta = stored(old.ObjectMeta)
	t.Run("selector is immutable", func(t *testing.T) {
		rs := old.DeepCopy()
		rs.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}
		expectErrors(t, ValidateUpdate(rs, old), invalid("spec.selector", "field is immutable"))
	})
	t.Run("status counts", func(t *testing.T) {
		rs := old.DeepCopy()
		rs.Status = appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 2, ReadyReplicas: -1}
		expectErrors(t, ValidateStatusUpdate(rs, old),
			invalid("status.readyReplicas", "must be greater than or equal to 0"),
			invalid("status.fullyLabeledReplicas", "cannot be greater than status.replicas"),
			invalid("status.availableReplicas", "cannot be greater than readyReplicas"))
	})
}

func TestValidateStatefulSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   []want
	}{
		{name: "valid stateful set passes", mutate: func(*appsv1.StatefulSet) {}},
		{name: "claim templates back volume mounts", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}}
			s.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}}
		}},
		{name: "claim template without access modes or size", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
		}, want: []want{
			required("spec.volumeClaimTemplates[0].spec.accessModes", "at least 1 access mode is required"),
			required("spec.volumeClaimTemplates[0].spec.resources[storage]", ""),
		}},
		{name: "name with dots", mutate: func(s *appsv1.StatefulSet) { s.Name = "db.v1" },
			want: []want{invalid("metadata.name", "must not contain dots")}},
		{name: "policies missing", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.PodManagementPolicy = ""
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{}
		}, want: []want{required("spec.podManagementPolicy", ""), required("spec.updateStrategy", "")}},
		{name: "unknown pod management policy", mutate: func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Random" },
			want: []want{invalid("spec.podManagementPolicy", "must be 'OrderedReady' or 'Parallel'")}},
		{name: "rolling update maxUnavailable 0", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
		}, want: []want{invalid("spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0")}},
		{name: "empty selector", mutate: func(s *appsv1.StatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
			want: []want{invalid("spec.selector", "empty selector is invalid for statefulset")}},
		{name: "bad service name", mutate: func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "DB" },
			want: []want{invalid("spec.serviceName", "a lowercase RFC 1123 label")}},
		{name: "active deadline", mutate: func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(5)) },
			want: []want{forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validStatefulSet()
			tc.mutate(s)
			expectErrors(t, ValidateCreate(s), tc.want...)
		})
	}
}

func TestValidateUpdateStatefulSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   []want
	}{
		{name: "replicas, template and strategy may change", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.Replicas = ptr(int32(5))
			s.Spec.Template.Spec.Containers[0].Image = "postgres:17"
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
			s.Spec.MinReadySeconds = 10
		}},
		{name: "service name changed", mutate: func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "db2" },
			want: []want{forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")}},
		{name: "claim templates changed", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
		}, want: []want{forbidden("spec", "updates to statefulset spec for fields other than")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validStatefulSet()
			old.ObjectMeta = stored(old.ObjectMeta)
			s := old.DeepCopy()
			tc.mutate(s)
			expectErrors(t, ValidateUpdate(s, old), tc.want...)
		})
	}

	t.Run("status counts", func(t *testing.T) {
		old := validStatefulSet()
		old.ObjectMeta = stored(old.ObjectMeta)
		s := old.DeepCopy()
		s.Status = appsv1.StatefulSetStatus{Replicas: 2, CurrentReplicas: 3, UpdatedReplicas: -1}
		expectErrors(t, ValidateStatusUpdate(s, old),
			invalid("status.updatedReplicas", "must be greater than or equal to 0"),
			invalid("status.currentReplicas", "cannot be greater than status.replicas"))
	})
}

func TestValidateDaemonSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.DaemonSet)
		want   []want
	}{
		{name: "valid daemon set passes", mutate: func(*appsv1.DaemonSet) {}},
		{name: "OnDelete passes", mutate: func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
		}},
		{name: "selector missing selects nothing", mutate: func(d *appsv1.DaemonSet) { d.Spec.Selector = nil },
			want: []want{invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")}},
		{name: "empty selector", mutate: func(d *appsv1.DaemonSet) { d.Spec.Selector = &metav1.LabelSelector{} },
			want: []want{invalid("spec.selector", "empty selector is invalid for daemonset")}},
		{name: "maxSurge and maxUnavailable both 0", mutate: func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
		}, want: []want{required("spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0")}},
		{name: "both maxSurge and maxUnavailable set", mutate: func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromString("10%"))
		}, want: []want{invalid("spec.updateStrategy.rollingUpdate.maxSurge", "may not be set when maxUnavailable is non-zero")}},
		{name: "rolling update parameters missing", mutate: func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.RollingUpdate = nil },
			want: []want{required("spec.updateStrategy.rollingUpdate", "")}},
		{name: "restartPolicy OnFailure", mutate: func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			want: []want{notSupported("spec.template.spec.restartPolicy", `supported values: "Always"`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := validDaemonSet()
			tc.mutate(d)
			expectErrors(t, ValidateCreate(d), tc.want...)
		})
	}

	old := validDaemonSet()
	old.ObjectMeta = stored(old.ObjectMeta)
	t.Run("selector is immutable", func(t *testing.T) {
		d := old.DeepCopy()
		d.Spec.Selector.MatchLabels = map[string]string{"app": "web", "x": "y"}
		d.Spec.Template.Labels = map[string]string{"app": "web", "x": "y"}
		expectErrors(t, ValidateUpdate(d, old), invalid("spec.selector", "field is immutable"))
	})
	t.Run("status counts", func(t *testing.T) {
		d := old.DeepCopy()
		d.Status.NumberReady = -1
		expectErrors(t, ValidateStatusUpdate(d, old), invalid("status.numberReady", "must be greater than or equal to 0"))
	})
}
