package validation

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// want is one expected error: its type and field path exactly, and a
// piece of its detail (empty matches any detail).
type want struct {
	typ    field.ErrorType
	field  string
	detail string
}

func required(path, detail string) want { return want{field.ErrorTypeRequired, path, detail} }
func invalid(path, detail string) want  { return want{field.ErrorTypeInvalid, path, detail} }
func forbidden(path, detail string) want {
	return want{field.ErrorTypeForbidden, path, detail}
}
func notSupported(path, detail string) want { return want{field.ErrorTypeNotSupported, path, detail} }
func duplicate(path string) want            { return want{field.ErrorTypeDuplicate, path, ""} }
func notFound(path string) want             { return want{field.ErrorTypeNotFound, path, ""} }
func tooLong(path, detail string) want      { return want{field.ErrorTypeTooLong, path, detail} }

// expectErrors fails unless got holds exactly the wanted errors, in any
// order.
func expectErrors(t *testing.T, got field.ErrorList, wants ...want) {
	t.Helper()
	used := make([]bool, len(got))
	var missing []string
	for _, w := range wants {
		found := false
		for i, e := range got {
			if !used[i] && e.Type == w.typ && e.Field == w.field && strings.Contains(e.Detail, w.detail) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s %s %q", w.typ, w.field, w.detail))
		}
	}
	var extra []string
	for i, e := range got {
		if !used[i] {
			extra = append(extra, fmt.Sprintf("%s (%s)", e.Error(), e.Type))
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("errors do not match\nmissing:\n  %s\nunexpected:\n  %s",
			strings.Join(missing, "\n  "), strings.Join(extra, "\n  "))
	}
}

// expectMessage fails unless one error prints exactly msg, as kubectl
// would show it.
func expectMessage(t *testing.T, got field.ErrorList, msg string) {
	t.Helper()
	for _, e := range got {
		if e.Error() == msg {
			return
		}
	}
	t.Errorf("no error prints %q; got %v", msg, got)
}

func ptr[T any](v T) *T { return &v }

// Fixtures: valid, defaulted objects, as the server would store them.

func validContainer(name string) corev1.Container {
	return corev1.Container{
		Name:                     name,
		Image:                    "nginx:1.27",
		ImagePullPolicy:          corev1.PullIfNotPresent,
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

func validPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers:                    []corev1.Container{validContainer("app")},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		DNSPolicy:                     corev1.DNSClusterFirst,
		TerminationGracePeriodSeconds: ptr(int64(30)),
		SchedulerName:                 corev1.DefaultSchedulerName,
		SecurityContext:               &corev1.PodSecurityContext{},
	}
}

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", UID: "5d1d1c2c-95a2-4c49-9ad8-3a9b4d0b5e01"}
}

// stored returns the metadata of an object read back from storage, for
// updates.
func stored(m metav1.ObjectMeta) metav1.ObjectMeta {
	m.ResourceVersion = "42"
	m.CreationTimestamp = metav1.Date(2025, 1, 2, 3, 4, 5, 0, metav1.Now().Location())
	return m
}

func validPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: objectMeta("web"), Spec: validPodSpec()}
}

var webLabels = map[string]string{"app": "web"}

func validTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: validPodSpec()}
}

func validDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: objectMeta("web"),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: validTemplate(),
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr(intstr.FromString("25%")),
					MaxSurge:       ptr(intstr.FromString("25%")),
				},
			},
			RevisionHistoryLimit:    ptr(int32(10)),
			ProgressDeadlineSeconds: ptr(int32(600)),
		},
	}
}

func validReplicaSet() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: objectMeta("web-5d4f8"),
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: validTemplate(),
		},
	}
}

func validStatefulSet() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: objectMeta("db"),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr(int32(3)),
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template:            validTemplate(),
			ServiceName:         "db",
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(0))},
			},
			RevisionHistoryLimit: ptr(int32(10)),
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		},
	}
}

func validDaemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: objectMeta("agent"),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: validTemplate(),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{
					MaxUnavailable: ptr(intstr.FromInt32(1)),
					MaxSurge:       ptr(intstr.FromInt32(0)),
				},
			},
			RevisionHistoryLimit: ptr(int32(10)),
		},
	}
}

const jobUID = "8f3c1d7e-0b1a-4c2e-9d6f-2a7b3c4d5e6f"

func validJob() *batchv1.Job {
	l := map[string]string{
		batchv1.ControllerUidLabel:  jobUID,
		batchv1.JobNameLabel:        "pi",
		legacyJobControllerUIDLabel: jobUID,
		legacyJobNameLabel:          "pi",
	}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: validPodSpec()}
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: jobUID},
		Spec: batchv1.JobSpec{
			Parallelism:          ptr(int32(1)),
			Completions:          ptr(int32(1)),
			BackoffLimit:         ptr(int32(6)),
			CompletionMode:       ptr(batchv1.NonIndexedCompletion),
			Suspend:              ptr(false),
			PodReplacementPolicy: ptr(batchv1.TerminatingOrFailed),
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: jobUID}},
			Template:             tmpl,
		},
	}
}

func validCronJob() *batchv1.CronJob {
	tmpl := corev1.PodTemplateSpec{Spec: validPodSpec()}
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	return &batchv1.CronJob{
		ObjectMeta: objectMeta("nightly"),
		Spec: batchv1.CronJobSpec{
			Schedule:                   "*/5 * * * *",
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    ptr(false),
			SuccessfulJobsHistoryLimit: ptr(int32(3)),
			FailedJobsHistoryLimit:     ptr(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit:         ptr(int32(6)),
				CompletionMode:       ptr(batchv1.NonIndexedCompletion),
				PodReplacementPolicy: ptr(batchv1.TerminatingOrFailed),
				Template:             tmpl,
			}},
		},
	}
}

func validService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: objectMeta("web"),
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeClusterIP,
			Selector:              map[string]string{"app": "web"},
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
			ClusterIP:             "10.96.0.10",
			ClusterIPs:            []string{"10.96.0.10"},
			SessionAffinity:       corev1.ServiceAffinityNone,
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy:        ptr(corev1.IPFamilyPolicySingleStack),
			InternalTrafficPolicy: ptr(corev1.ServiceInternalTrafficPolicyCluster),
		},
	}
}
