package defaults

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// check is one expectation on a defaulted object: got reads a field,
// dereferencing pointers ("<nil>" for nil ones) so values compare with !=.
type check[T any] struct {
	name string
	got  func(T) any
	want any
}

func runChecks[T any](t *testing.T, obj T, checks []check[T]) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if got := c.got(obj); got != c.want {
				t.Errorf("got %v (%T), want %v (%T)", got, got, c.want, c.want)
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func testContainer() corev1.Container {
	return corev1.Container{
		Name:  "app",
		Image: "nginx:1.27",
		Ports: []corev1.ContainerPort{{ContainerPort: 80}},
		Env: []corev1.EnvVar{{
			Name:      "NODE",
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}},
		}},
		Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}},
		},
	}
}

func testPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{testContainer()},
		Volumes: []corev1.Volume{
			{Name: "scratch"},
			{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var"}}},
			{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}},
			}}},
		},
	}
}

// podSpecChecks are the defaults every pod spec gets, pod or template.
func podSpecChecks(restartPolicy any) []check[*corev1.PodSpec] {
	c0 := func(s *corev1.PodSpec) *corev1.Container { return &s.Containers[0] }
	vol := func(s *corev1.PodSpec, i int) *corev1.VolumeSource { return &s.Volumes[i].VolumeSource }
	return []check[*corev1.PodSpec]{
		{"restartPolicy", func(s *corev1.PodSpec) any { return s.RestartPolicy }, restartPolicy},
		{"dnsPolicy", func(s *corev1.PodSpec) any { return s.DNSPolicy }, corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds", func(s *corev1.PodSpec) any { return deref(s.TerminationGracePeriodSeconds) }, int64(30)},
		{"schedulerName", func(s *corev1.PodSpec) any { return s.SchedulerName }, "default-scheduler"},
		{"securityContext", func(s *corev1.PodSpec) any { return s.SecurityContext != nil }, true},
		{"imagePullPolicy", func(s *corev1.PodSpec) any { return c0(s).ImagePullPolicy }, corev1.PullIfNotPresent},
		{"terminationMessagePath", func(s *corev1.PodSpec) any { return c0(s).TerminationMessagePath }, "/dev/termination-log"},
		{"terminationMessagePolicy", func(s *corev1.PodSpec) any { return c0(s).TerminationMessagePolicy }, corev1.TerminationMessageReadFile},
		{"port protocol", func(s *corev1.PodSpec) any { return c0(s).Ports[0].Protocol }, corev1.ProtocolTCP},
		{"fieldRef apiVersion", func(s *corev1.PodSpec) any { return c0(s).Env[0].ValueFrom.FieldRef.APIVersion }, "v1"},
		{"probe timeoutSeconds", func(s *corev1.PodSpec) any { return c0(s).LivenessProbe.TimeoutSeconds }, int32(1)},
		{"probe periodSeconds", func(s *corev1.PodSpec) any { return c0(s).LivenessProbe.PeriodSeconds }, int32(10)},
		{"probe successThreshold", func(s *corev1.PodSpec) any { return c0(s).LivenessProbe.SuccessThreshold }, int32(1)},
		{"probe failureThreshold", func(s *corev1.PodSpec) any { return c0(s).LivenessProbe.FailureThreshold }, int32(3)},
		{"httpGet scheme", func(s *corev1.PodSpec) any { return c0(s).LivenessProbe.HTTPGet.Scheme }, corev1.URISchemeHTTP},
		{"httpGet path", func(s *corev1.PodSpec) any { return c0(s).LivenessProbe.HTTPGet.Path }, "/"},
		{"grpc service", func(s *corev1.PodSpec) any { return deref(c0(s).ReadinessProbe.GRPC.Service) }, ""},
		{"volume without source is emptyDir", func(s *corev1.PodSpec) any { return vol(s, 0).EmptyDir != nil }, true},
		{"secret defaultMode", func(s *corev1.PodSpec) any { return deref(vol(s, 1).Secret.DefaultMode) }, int32(420)},
		{"configMap defaultMode", func(s *corev1.PodSpec) any { return deref(vol(s, 2).ConfigMap.DefaultMode) }, int32(420)},
		{"hostPath type", func(s *corev1.PodSpec) any { return deref(vol(s, 3).HostPath.Type) }, corev1.HostPathUnset},
		{"projected defaultMode", func(s *corev1.PodSpec) any { return deref(vol(s, 4).Projected.DefaultMode) }, int32(420)},
		{"token expirationSeconds", func(s *corev1.PodSpec) any {
			return deref(vol(s, 4).Projected.Sources[0].ServiceAccountToken.ExpirationSeconds)
		}, int64(3600)},
	}
}

func TestPod(t *testing.T) {
	pod := &corev1.Pod{Spec: testPodSpec()}
	pod.Spec.HostNetwork = true
	Default(pod)

	runChecks(t, &pod.Spec, podSpecChecks(corev1.RestartPolicyAlways))
	runChecks(t, pod, []check[*corev1.Pod]{
		{"enableServiceLinks", func(p *corev1.Pod) any { return deref(p.Spec.EnableServiceLinks) }, true},
		{"requests from limits", func(p *corev1.Pod) any {
			q := p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]
			return q.String()
		}, "500m"},
		{"hostPort under hostNetwork", func(p *corev1.Pod) any { return p.Spec.Containers[0].Ports[0].HostPort }, int32(80)},
	})
}

func TestPodKeepsGivenValues(t *testing.T) {
	c := testContainer()
	c.ImagePullPolicy = corev1.PullNever
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		RestartPolicy:                 corev1.RestartPolicyNever,
		DNSPolicy:                     corev1.DNSDefault,
		TerminationGracePeriodSeconds: new(int64(5)),
		EnableServiceLinks:            new(false),
	}}
	Default(pod)

	runChecks(t, pod, []check[*corev1.Pod]{
		{"restartPolicy", func(p *corev1.Pod) any { return p.Spec.RestartPolicy }, corev1.RestartPolicyNever},
		{"dnsPolicy", func(p *corev1.Pod) any { return p.Spec.DNSPolicy }, corev1.DNSDefault},
		{"terminationGracePeriodSeconds", func(p *corev1.Pod) any { return deref(p.Spec.TerminationGracePeriodSeconds) }, int64(5)},
		{"enableServiceLinks", func(p *corev1.Pod) any { return deref(p.Spec.EnableServiceLinks) }, false},
		{"imagePullPolicy", func(p *corev1.Pod) any { return p.Spec.Containers[0].ImagePullPolicy }, corev1.PullNever},
		{"request", func(p *corev1.Pod) any {
			q := p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]
			return q.String()
		}, "100m"},
		{"no hostPort without hostNetwork", func(p *corev1.Pod) any { return p.Spec.Containers[0].Ports[0].HostPort }, int32(0)},
	})
}

func TestImagePullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"nginx:1.27", corev1.PullIfNotPresent},
		{"registry.local:5000/team/app", corev1.PullAlways},
		{"registry.local:5000/team/app:v2", corev1.PullIfNotPresent},
		{"nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", corev1.PullIfNotPresent},
		{"nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", corev1.PullAlways},
		{"", corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			if got := pullPolicyFor(tt.image); got != tt.want {
				t.Errorf("pullPolicyFor(%q) = %q, want %q", tt.image, got, tt.want)
			}
		})
	}
}

func TestResourceRounding(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: "app:1",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("0.0001"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		}},
	}}}}
	Default(pod)
	requests := pod.Spec.Containers[0].Resources.Requests
	tests := []struct {
		name corev1.ResourceName
		want string
	}{
		{corev1.ResourceCPU, "1m"},
		{corev1.ResourceMemory, "64Mi"},
	}
	for _, tt := range tests {
		t.Run(string(tt.name), func(t *testing.T) {
			q := requests[tt.name]
			if got := q.String(); got != tt.want {
				t.Errorf("%s request = %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}

// TestPodTemplates checks the pod spec defaults inside every workload kind.
func TestPodTemplates(t *testing.T) {
	template := func() corev1.PodTemplateSpec { return corev1.PodTemplateSpec{Spec: testPodSpec()} }
	tests := []struct {
		name          string
		obj           runtime.Object
		spec          func(runtime.Object) *corev1.PodSpec
		restartPolicy any
	}{
		{"Deployment", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: template()}},
			func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.Deployment).Spec.Template.Spec }, corev1.RestartPolicyAlways},
		{"ReplicaSet", &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: template()}},
			func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.ReplicaSet).Spec.Template.Spec }, corev1.RestartPolicyAlways},
		{"StatefulSet", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: template()}},
			func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.StatefulSet).Spec.Template.Spec }, corev1.RestartPolicyAlways},
		{"DaemonSet", &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: template()}},
			func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.DaemonSet).Spec.Template.Spec }, corev1.RestartPolicyAlways},
		{"Job", &batchv1.Job{Spec: batchv1.JobSpec{Template: template()}},
			func(o runtime.Object) *corev1.PodSpec { return &o.(*batchv1.Job).Spec.Template.Spec }, corev1.RestartPolicy("")},
		{"CronJob", &batchv1.CronJob{Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: template()}}}},
			func(o runtime.Object) *corev1.PodSpec {
				return &o.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.Spec
			},
			corev1.RestartPolicy("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Default(tt.obj)
			spec := tt.spec(tt.obj)
			runChecks(t, spec, podSpecChecks(tt.restartPolicy))
			// Pod-only defaults stay off templates.
			runChecks(t, spec, []check[*corev1.PodSpec]{
				{"no enableServiceLinks", func(s *corev1.PodSpec) any { return deref(s.EnableServiceLinks) }, "<nil>"},
				{"no requests from limits", func(s *corev1.PodSpec) any { return len(s.Containers[0].Resources.Requests) }, 0},
			})
		})
	}
}

func TestDeployment(t *testing.T) {
	d := &appsv1.Deployment{}
	Default(d)
	runChecks(t, d, []check[*appsv1.Deployment]{
		{"replicas", func(d *appsv1.Deployment) any { return deref(d.Spec.Replicas) }, int32(1)},
		{"strategy", func(d *appsv1.Deployment) any { return d.Spec.Strategy.Type }, appsv1.RollingUpdateDeploymentStrategyType},
		{"maxUnavailable", func(d *appsv1.Deployment) any { return d.Spec.Strategy.RollingUpdate.MaxUnavailable.String() }, "25%"},
		{"maxSurge", func(d *appsv1.Deployment) any { return d.Spec.Strategy.RollingUpdate.MaxSurge.String() }, "25%"},
		{"revisionHistoryLimit", func(d *appsv1.Deployment) any { return deref(d.Spec.RevisionHistoryLimit) }, int32(10)},
		{"progressDeadlineSeconds", func(d *appsv1.Deployment) any { return deref(d.Spec.ProgressDeadlineSeconds) }, int32(600)},
		{"no selector", func(d *appsv1.Deployment) any { return d.Spec.Selector == nil }, true},
	})

	recreate := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	Default(recreate)
	runChecks(t, recreate, []check[*appsv1.Deployment]{
		{"recreate has no rollingUpdate", func(d *appsv1.Deployment) any { return d.Spec.Strategy.RollingUpdate == nil }, true},
	})
}

func TestReplicaSet(t *testing.T) {
	rs := &appsv1.ReplicaSet{}
	Default(rs)
	runChecks(t, rs, []check[*appsv1.ReplicaSet]{
		{"replicas", func(rs *appsv1.ReplicaSet) any { return deref(rs.Spec.Replicas) }, int32(1)},
	})
}

func TestStatefulSet(t *testing.T) {
	s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}},
	}}
	Default(s)
	runChecks(t, s, []check[*appsv1.StatefulSet]{
		{"replicas", func(s *appsv1.StatefulSet) any { return deref(s.Spec.Replicas) }, int32(1)},
		{"podManagementPolicy", func(s *appsv1.StatefulSet) any { return s.Spec.PodManagementPolicy }, appsv1.OrderedReadyPodManagement},
		{"updateStrategy", func(s *appsv1.StatefulSet) any { return s.Spec.UpdateStrategy.Type }, appsv1.RollingUpdateStatefulSetStrategyType},
		{"partition", func(s *appsv1.StatefulSet) any { return deref(s.Spec.UpdateStrategy.RollingUpdate.Partition) }, int32(0)},
		{"maxUnavailable", func(s *appsv1.StatefulSet) any { return s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.String() }, "1"},
		{"revisionHistoryLimit", func(s *appsv1.StatefulSet) any { return deref(s.Spec.RevisionHistoryLimit) }, int32(10)},
		{"whenDeleted", func(s *appsv1.StatefulSet) any { return s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted },
			appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
		{"whenScaled", func(s *appsv1.StatefulSet) any { return s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled },
			appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
		{"claim volumeMode", func(s *appsv1.StatefulSet) any { return deref(s.Spec.VolumeClaimTemplates[0].Spec.VolumeMode) },
			corev1.PersistentVolumeFilesystem},
		{"claim phase", func(s *appsv1.StatefulSet) any { return s.Spec.VolumeClaimTemplates[0].Status.Phase }, corev1.ClaimPending},
	})

	onDelete := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
		UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
	}}
	Default(onDelete)
	runChecks(t, onDelete, []check[*appsv1.StatefulSet]{
		{"onDelete has no rollingUpdate", func(s *appsv1.StatefulSet) any { return s.Spec.UpdateStrategy.RollingUpdate == nil }, true},
	})
}

func TestDaemonSet(t *testing.T) {
	ds := &appsv1.DaemonSet{}
	Default(ds)
	runChecks(t, ds, []check[*appsv1.DaemonSet]{
		{"updateStrategy", func(ds *appsv1.DaemonSet) any { return ds.Spec.UpdateStrategy.Type }, appsv1.RollingUpdateDaemonSetStrategyType},
		{"maxUnavailable", func(ds *appsv1.DaemonSet) any { return *ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable }, intstr.FromInt32(1)},
		{"maxSurge", func(ds *appsv1.DaemonSet) any { return *ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge }, intstr.FromInt32(0)},
		{"revisionHistoryLimit", func(ds *appsv1.DaemonSet) any { return deref(ds.Spec.RevisionHistoryLimit) }, int32(10)},
	})
}

func TestJob(t *testing.T) {
	job := &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "batch"}},
	}}}
	Default(job)
	runChecks(t, job, []check[*batchv1.Job]{
		{"parallelism", func(j *batchv1.Job) any { return deref(j.Spec.Parallelism) }, int32(1)},
		{"completions", func(j *batchv1.Job) any { return deref(j.Spec.Completions) }, int32(1)},
		{"backoffLimit", func(j *batchv1.Job) any { return deref(j.Spec.BackoffLimit) }, int32(6)},
		{"completionMode", func(j *batchv1.Job) any { return deref(j.Spec.CompletionMode) }, batchv1.NonIndexedCompletion},
		{"suspend", func(j *batchv1.Job) any { return deref(j.Spec.Suspend) }, false},
		{"podReplacementPolicy", func(j *batchv1.Job) any { return deref(j.Spec.PodReplacementPolicy) }, batchv1.TerminatingOrFailed},
		{"manualSelector", func(j *batchv1.Job) any { return deref(j.Spec.ManualSelector) }, "<nil>"},
		{"selector", func(j *batchv1.Job) any { return j.Spec.Selector == nil }, true},
		{"labels from template", func(j *batchv1.Job) any { return j.Labels["app"] }, "batch"},
	})

	parallel := &batchv1.Job{Spec: batchv1.JobSpec{
		Parallelism:          new(int32(4)),
		BackoffLimitPerIndex: new(int32(2)),
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:          batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}},
		}}},
	}}
	Default(parallel)
	runChecks(t, parallel, []check[*batchv1.Job]{
		{"completions stay unset", func(j *batchv1.Job) any { return deref(j.Spec.Completions) }, "<nil>"},
		{"parallelism kept", func(j *batchv1.Job) any { return deref(j.Spec.Parallelism) }, int32(4)},
		{"backoffLimit with per-index limit", func(j *batchv1.Job) any { return deref(j.Spec.BackoffLimit) }, int32(2147483647)},
		{"podReplacementPolicy with failure policy", func(j *batchv1.Job) any { return deref(j.Spec.PodReplacementPolicy) }, batchv1.Failed},
		{"condition pattern status", func(j *batchv1.Job) any {
			return j.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status
		}, corev1.ConditionTrue},
	})
}

func TestCronJob(t *testing.T) {
	cj := &batchv1.CronJob{}
	Default(cj)
	runChecks(t, cj, []check[*batchv1.CronJob]{
		{"concurrencyPolicy", func(c *batchv1.CronJob) any { return c.Spec.ConcurrencyPolicy }, batchv1.AllowConcurrent},
		{"suspend", func(c *batchv1.CronJob) any { return deref(c.Spec.Suspend) }, false},
		{"successfulJobsHistoryLimit", func(c *batchv1.CronJob) any { return deref(c.Spec.SuccessfulJobsHistoryLimit) }, int32(3)},
		{"failedJobsHistoryLimit", func(c *batchv1.CronJob) any { return deref(c.Spec.FailedJobsHistoryLimit) }, int32(1)},
		{"job template backoffLimit unset", func(c *batchv1.CronJob) any { return deref(c.Spec.JobTemplate.Spec.BackoffLimit) }, "<nil>"},
	})
}

func TestService(t *testing.T) {
	tests := []struct {
		name   string
		svc    corev1.ServiceSpec
		checks []check[*corev1.ServiceSpec]
	}{
		{
			name: "cluster IP",
			svc: corev1.ServiceSpec{
				Selector: map[string]string{"app": "web"},
				Ports:    []corev1.ServicePort{{Port: 80}, {Port: 443, TargetPort: intstr.FromString("https")}},
			},
			checks: []check[*corev1.ServiceSpec]{
				{"type", func(s *corev1.ServiceSpec) any { return s.Type }, corev1.ServiceTypeClusterIP},
				{"sessionAffinity", func(s *corev1.ServiceSpec) any { return s.SessionAffinity }, corev1.ServiceAffinityNone},
				{"protocol", func(s *corev1.ServiceSpec) any { return s.Ports[0].Protocol }, corev1.ProtocolTCP},
				{"targetPort from port", func(s *corev1.ServiceSpec) any { return s.Ports[0].TargetPort }, intstr.FromInt32(80)},
				{"named targetPort kept", func(s *corev1.ServiceSpec) any { return s.Ports[1].TargetPort }, intstr.FromString("https")},
				{"ipFamilyPolicy", func(s *corev1.ServiceSpec) any { return deref(s.IPFamilyPolicy) }, corev1.IPFamilyPolicySingleStack},
				{"ipFamilies", func(s *corev1.ServiceSpec) any { return familiesString(s.IPFamilies) }, "IPv4"},
				{"internalTrafficPolicy", func(s *corev1.ServiceSpec) any { return deref(s.InternalTrafficPolicy) },
					corev1.ServiceInternalTrafficPolicyCluster},
				{"no externalTrafficPolicy", func(s *corev1.ServiceSpec) any { return s.ExternalTrafficPolicy },
					corev1.ServiceExternalTrafficPolicy("")},
				{"no allocateLoadBalancerNodePorts", func(s *corev1.ServiceSpec) any { return deref(s.AllocateLoadBalancerNodePorts) }, "<nil>"},
			},
		},
		{
			name: "node port",
			svc:  corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}},
			checks: []check[*corev1.ServiceSpec]{
				{"externalTrafficPolicy", func(s *corev1.ServiceSpec) any { return s.ExternalTrafficPolicy },
					corev1.ServiceExternalTrafficPolicyCluster},
			},
		},
		{
			name: "load balancer",
			svc:  corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
			checks: []check[*corev1.ServiceSpec]{
				{"externalTrafficPolicy", func(s *corev1.ServiceSpec) any { return s.ExternalTrafficPolicy },
					corev1.ServiceExternalTrafficPolicyCluster},
				{"allocateLoadBalancerNodePorts", func(s *corev1.ServiceSpec) any { return deref(s.AllocateLoadBalancerNodePorts) }, true},
			},
		},
		{
			name: "cluster IP with external IPs",
			svc:  corev1.ServiceSpec{ExternalIPs: []string{"203.0.113.9"}},
			checks: []check[*corev1.ServiceSpec]{
				{"externalTrafficPolicy", func(s *corev1.ServiceSpec) any { return s.ExternalTrafficPolicy },
					corev1.ServiceExternalTrafficPolicyCluster},
			},
		},
		{
			name: "client IP affinity",
			svc:  corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP},
			checks: []check[*corev1.ServiceSpec]{
				{"timeoutSeconds", func(s *corev1.ServiceSpec) any { return deref(s.SessionAffinityConfig.ClientIP.TimeoutSeconds) }, int32(10800)},
			},
		},
		{
			name: "IPv6 cluster IP",
			svc:  corev1.ServiceSpec{ClusterIP: "fd00::10"},
			checks: []check[*corev1.ServiceSpec]{
				{"ipFamilies", func(s *corev1.ServiceSpec) any { return familiesString(s.IPFamilies) }, "IPv6"},
			},
		},
		{
			name: "headless with selector",
			svc:  corev1.ServiceSpec{ClusterIP: "None", Selector: map[string]string{"app": "db"}},
			checks: []check[*corev1.ServiceSpec]{
				{"ipFamilyPolicy", func(s *corev1.ServiceSpec) any { return deref(s.IPFamilyPolicy) }, corev1.IPFamilyPolicySingleStack},
				{"ipFamilies", func(s *corev1.ServiceSpec) any { return familiesString(s.IPFamilies) }, "IPv4"},
			},
		},
		{
			name: "headless without selector",
			svc:  corev1.ServiceSpec{ClusterIP: "None"},
			checks: []check[*corev1.ServiceSpec]{
				{"ipFamilyPolicy", func(s *corev1.ServiceSpec) any { return deref(s.IPFamilyPolicy) }, corev1.IPFamilyPolicyRequireDualStack},
				{"ipFamilies", func(s *corev1.ServiceSpec) any { return familiesString(s.IPFamilies) }, "IPv4,IPv6"},
			},
		},
		{
			name: "external name",
			svc:  corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"},
			checks: []check[*corev1.ServiceSpec]{
				{"no ipFamilyPolicy", func(s *corev1.ServiceSpec) any { return deref(s.IPFamilyPolicy) }, "<nil>"},
				{"no ipFamilies", func(s *corev1.ServiceSpec) any { return len(s.IPFamilies) }, 0},
				{"no internalTrafficPolicy", func(s *corev1.ServiceSpec) any { return deref(s.InternalTrafficPolicy) }, "<nil>"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &corev1.Service{Spec: tt.svc}
			Default(svc)
			runChecks(t, &svc.Spec, tt.checks)
		})
	}
}

func familiesString(fs []corev1.IPFamily) string {
	s := ""
	for i, f := range fs {
		if i > 0 {
			s += ","
		}
		s += string(f)
	}
	return s
}

func TestOtherKinds(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		got  func(runtime.Object) any
		want any
	}{
		{"namespace phase", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}},
			func(o runtime.Object) any { return o.(*corev1.Namespace).Status.Phase }, corev1.NamespaceActive},
		{"namespace name label", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}},
			func(o runtime.Object) any { return o.(*corev1.Namespace).Labels["kubernetes.io/metadata.name"] }, "team"},
		{"secret type", &corev1.Secret{},
			func(o runtime.Object) any { return o.(*corev1.Secret).Type }, corev1.SecretTypeOpaque},
		{"node allocatable from capacity", &corev1.Node{Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}}},
			func(o runtime.Object) any {
				q := o.(*corev1.Node).Status.Allocatable[corev1.ResourcePods]
				return q.String()
			}, "110"},
		{"endpoints port protocol", &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}}}}},
			func(o runtime.Object) any { return o.(*corev1.Endpoints).Subsets[0].Ports[0].Protocol }, corev1.ProtocolTCP},
		{"endpointslice port protocol", &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: new(int32(80))}}},
			func(o runtime.Object) any { return deref(o.(*discoveryv1.EndpointSlice).Ports[0].Protocol) }, corev1.ProtocolTCP},
		{"endpointslice port name", &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: new(int32(80))}}},
			func(o runtime.Object) any { return deref(o.(*discoveryv1.EndpointSlice).Ports[0].Name) }, ""},
		{"ingressclass parameters scope", &networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{
			Parameters: &networkingv1.IngressClassParametersReference{Kind: "Params", Name: "p"}}},
			func(o runtime.Object) any { return deref(o.(*networkingv1.IngressClass).Spec.Parameters.Scope) }, "Cluster"},
		{"ingress pathType not defaulted", &networkingv1.Ingress{Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/"}}}}}}}},
			func(o runtime.Object) any {
				return deref(o.(*networkingv1.Ingress).Spec.Rules[0].HTTP.Paths[0].PathType)
			}, "<nil>"},
		{"priorityclass preemption policy", &schedulingv1.PriorityClass{Value: 1000},
			func(o runtime.Object) any { return deref(o.(*schedulingv1.PriorityClass).PreemptionPolicy) }, corev1.PreemptLowerPriority},
		{"priorityclass preemption policy kept", &schedulingv1.PriorityClass{Value: 1000, PreemptionPolicy: new(corev1.PreemptNever)},
			func(o runtime.Object) any { return deref(o.(*schedulingv1.PriorityClass).PreemptionPolicy) }, corev1.PreemptNever},
		{"pv reclaim policy", &corev1.PersistentVolume{},
			func(o runtime.Object) any { return o.(*corev1.PersistentVolume).Spec.PersistentVolumeReclaimPolicy }, corev1.PersistentVolumeReclaimRetain},
		{"pv volume mode", &corev1.PersistentVolume{},
			func(o runtime.Object) any { return deref(o.(*corev1.PersistentVolume).Spec.VolumeMode) }, corev1.PersistentVolumeFilesystem},
		{"pv phase", &corev1.PersistentVolume{},
			func(o runtime.Object) any { return o.(*corev1.PersistentVolume).Status.Phase }, corev1.VolumePending},
		{"pv hostPath type", &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}}},
			func(o runtime.Object) any { return deref(o.(*corev1.PersistentVolume).Spec.HostPath.Type) }, corev1.HostPathUnset},
		{"pvc volume mode", &corev1.PersistentVolumeClaim{},
			func(o runtime.Object) any { return deref(o.(*corev1.PersistentVolumeClaim).Spec.VolumeMode) }, corev1.PersistentVolumeFilesystem},
		{"pvc phase", &corev1.PersistentVolumeClaim{},
			func(o runtime.Object) any { return o.(*corev1.PersistentVolumeClaim).Status.Phase }, corev1.ClaimPending},
		{"pvc class not defaulted", &corev1.PersistentVolumeClaim{},
			func(o runtime.Object) any { return deref(o.(*corev1.PersistentVolumeClaim).Spec.StorageClassName) }, "<nil>"},
		{"storageclass reclaim policy", &storagev1.StorageClass{Provisioner: "x"},
			func(o runtime.Object) any { return deref(o.(*storagev1.StorageClass).ReclaimPolicy) }, corev1.PersistentVolumeReclaimDelete},
		{"storageclass binding mode", &storagev1.StorageClass{Provisioner: "x"},
			func(o runtime.Object) any { return deref(o.(*storagev1.StorageClass).VolumeBindingMode) }, storagev1.VolumeBindingImmediate},
		{"list items", &corev1.SecretList{Items: []corev1.Secret{{}, {}}},
			func(o runtime.Object) any { return o.(*corev1.SecretList).Items[1].Type }, corev1.SecretTypeOpaque},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Default(tt.obj)
			if got := tt.got(tt.obj); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestIdempotent defaults every served kind twice: the second pass must
// change nothing, and nothing may panic on an empty object or list.
func TestIdempotent(t *testing.T) {
	for _, r := range api.Resources {
		t.Run(r.Resource, func(t *testing.T) {
			for _, obj := range []runtime.Object{r.New(), r.NewList()} {
				Default(obj)
				once := obj.DeepCopyObject()
				Default(obj)
				if !reflect.DeepEqual(obj, once) {
					t.Errorf("second Default changed %T:\n%#v\nwant\n%#v", obj, obj, once)
				}
			}
		})
	}
	t.Run("full pod", func(t *testing.T) {
		pod := &corev1.Pod{Spec: testPodSpec()}
		Default(pod)
		once := pod.DeepCopy()
		Default(pod)
		if !reflect.DeepEqual(pod, once) {
			t.Errorf("second Default changed the pod")
		}
	})
}
