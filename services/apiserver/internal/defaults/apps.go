package defaults

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// revisionHistoryLimit is how many old revisions a workload keeps.
const revisionHistoryLimit int32 = 10

func defaultDeployment(d *appsv1.Deployment) {
	spec := &d.Spec
	setIfNil(&spec.Replicas, 1)
	strategy := &spec.Strategy
	setIfEmpty(&strategy.Type, appsv1.RollingUpdateDeploymentStrategyType)
	if strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if strategy.RollingUpdate == nil {
			strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		setIfNil(&strategy.RollingUpdate.MaxUnavailable, intstr.FromString("25%"))
		setIfNil(&strategy.RollingUpdate.MaxSurge, intstr.FromString("25%"))
	}
	setIfNil(&spec.RevisionHistoryLimit, revisionHistoryLimit)
	setIfNil(&spec.ProgressDeadlineSeconds, 600)
	defaultPodTemplate(&spec.Template, true)
}

func defaultReplicaSet(rs *appsv1.ReplicaSet) {
	setIfNil(&rs.Spec.Replicas, 1)
	defaultPodTemplate(&rs.Spec.Template, true)
}

func defaultStatefulSet(s *appsv1.StatefulSet) {
	spec := &s.Spec
	setIfNil(&spec.Replicas, 1)
	setIfEmpty(&spec.PodManagementPolicy, appsv1.OrderedReadyPodManagement)
	defaultStatefulSetUpdateStrategy(&spec.UpdateStrategy)
	retention := spec.PersistentVolumeClaimRetentionPolicy
	if retention == nil {
		retention = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
		spec.PersistentVolumeClaimRetentionPolicy = retention
	}
	setIfEmpty(&retention.WhenDeleted, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
	setIfEmpty(&retention.WhenScaled, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
	setIfNil(&spec.RevisionHistoryLimit, revisionHistoryLimit)
	defaultPodTemplate(&spec.Template, true)
	for i := range spec.VolumeClaimTemplates {
		claim := &spec.VolumeClaimTemplates[i]
		setIfEmpty(&claim.Status.Phase, corev1.ClaimPending)
		defaultPVCSpec(&claim.Spec)
	}
}

// defaultStatefulSetUpdateStrategy gives an unset strategy a rolling update
// from partition 0, one pod at a time. A rolling update given without
// parameters keeps them unset, as in Kubernetes.
func defaultStatefulSetUpdateStrategy(u *appsv1.StatefulSetUpdateStrategy) {
	if u.Type == "" {
		u.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if u.RollingUpdate == nil {
			u.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if u.Type == appsv1.RollingUpdateStatefulSetStrategyType && u.RollingUpdate != nil {
		setIfNil(&u.RollingUpdate.Partition, 0)
		setIfNil(&u.RollingUpdate.MaxUnavailable, intstr.FromInt32(1))
	}
}

func defaultDaemonSet(ds *appsv1.DaemonSet) {
	spec := &ds.Spec
	u := &spec.UpdateStrategy
	setIfEmpty(&u.Type, appsv1.RollingUpdateDaemonSetStrategyType)
	if u.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if u.RollingUpdate == nil {
			u.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		setIfNil(&u.RollingUpdate.MaxUnavailable, intstr.FromInt32(1))
		setIfNil(&u.RollingUpdate.MaxSurge, intstr.FromInt32(0))
	}
	setIfNil(&spec.RevisionHistoryLimit, revisionHistoryLimit)
	defaultPodTemplate(&spec.Template, true)
}
