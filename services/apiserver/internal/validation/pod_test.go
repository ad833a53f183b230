package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateCreatePod(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []want
	}{
		{name: "valid pod passes", mutate: func(*corev1.Pod) {}},
		{name: "valid pod with volumes, env, probes and resources passes", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "web-conf"}, DefaultMode: ptr(int32(0644))}}},
			}
			c := &p.Spec.Containers[0]
			c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "conf", MountPath: "/etc/web"}}
			c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}
			c.Env = []corev1.EnvVar{
				{Name: "MODE", Value: "prod"},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
				{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "web"}, Key: "token"}}},
			}
			c.Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			}
			c.LivenessProbe = &corev1.Probe{
				ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
				TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
			}
			p.Spec.InitContainers = []corev1.Container{validContainer("init")}
			p.Spec.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))}}
			p.Spec.Hostname = "web-0"
			p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
		}},
		{name: "name not a DNS subdomain", mutate: func(p *corev1.Pod) { p.Name = "Bad_Name" },
			want: []want{invalid("metadata.name", "a lowercase RFC 1123 subdomain must consist of")}},
		{name: "namespace missing", mutate: func(p *corev1.Pod) { p.Namespace = "" },
			want: []want{required("metadata.namespace", "")}},
		{name: "invalid label value", mutate: func(p *corev1.Pod) { p.Labels = map[string]string{"app": "a b"} },
			want: []want{invalid("metadata.labels", "a valid label must be")}},
		{name: "unqualified finalizer", mutate: func(p *corev1.Pod) { p.Finalizers = []string{"cleanup"} },
			want: []want{invalid("metadata.finalizers[0]", "name is neither a standard finalizer name nor is it fully qualified")}},
		{name: "no containers", mutate: func(p *corev1.Pod) { p.Spec.Containers = nil },
			want: []want{required("spec.containers", "")}},
		{name: "container without image", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want: []want{required("spec.containers[0].image", "")}},
		{name: "image with trailing space", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx " },
			want: []want{invalid("spec.containers[0].image", "must not have leading or trailing whitespace")}},
		{name: "container name not a DNS label", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App" },
			want: []want{invalid("spec.containers[0].name", "a lowercase RFC 1123 label must consist of")}},
		{name: "duplicate container names", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, validContainer("app"))
		}, want: []want{duplicate("spec.containers[1].name")}},
		{name: "init container named like a container", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{validContainer("app")}
		}, want: []want{duplicate("spec.initContainers[0].name")}},
		{name: "defaults missing", mutate: func(p *corev1.Pod) {
			p.Spec.RestartPolicy, p.Spec.DNSPolicy, p.Spec.TerminationGracePeriodSeconds = "", "", nil
			p.Spec.Containers[0].ImagePullPolicy, p.Spec.Containers[0].TerminationMessagePolicy = "", ""
		}, want: []want{
			required("spec.restartPolicy", ""), required("spec.dnsPolicy", ""),
			required("spec.terminationGracePeriodSeconds", ""), required("spec.containers[0].imagePullPolicy", ""),
			required("spec.containers[0].terminationMessagePolicy", ""),
		}},
		{name: "unknown restart and DNS policies", mutate: func(p *corev1.Pod) {
			p.Spec.RestartPolicy, p.Spec.DNSPolicy = "Sometimes", "Google"
		}, want: []want{
			notSupported("spec.restartPolicy", `supported values: "Always", "OnFailure", "Never"`),
			notSupported("spec.dnsPolicy", `supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`),
		}},
		{name: "port out of range, bad protocol and duplicate name", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{Name: "http", ContainerPort: 70000, Protocol: corev1.ProtocolTCP},
				{Name: "http", ContainerPort: 8443, Protocol: "HTTP"},
				{ContainerPort: 0, Protocol: corev1.ProtocolUDP},
			}
		}, want: []want{
			invalid("spec.containers[0].ports[0].containerPort", "must be between 1 and 65535, inclusive"),
			duplicate("spec.containers[0].ports[1].name"),
			notSupported("spec.containers[0].ports[1].protocol", `supported values: "SCTP", "TCP", "UDP"`),
			required("spec.containers[0].ports[2].containerPort", ""),
		}},
		{name: "host port used twice", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP},
				{ContainerPort: 81, HostPort: 8080, Protocol: corev1.ProtocolTCP},
			}
		}, want: []want{duplicate("spec.containers[0].ports[1].hostPort")}},
		{name: "host network needs matching host ports", mutate: func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
		}, want: []want{invalid("spec.containers[0].ports[0].hostPort", "must match `containerPort` when `hostNetwork` is true")}},
		{name: "bad environment variables", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "A=B", Value: "x"},
				{Name: ""},
				{Name: "EMPTY_SOURCE", ValueFrom: &corev1.EnvVarSource{}},
				{Name: "BOTH", Value: "x", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
				{Name: "FIELD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}}},
				{Name: "KEY", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}},
			}
		}, want: []want{
			invalid("spec.containers[0].env[0].name", "a valid environment variable name must consist only of printable ASCII characters other than '='"),
			required("spec.containers[0].env[1].name", ""),
			invalid("spec.containers[0].env[2].valueFrom", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
			invalid("spec.containers[0].env[3].valueFrom", "may not be specified when `value` is not empty"),
			notSupported("spec.containers[0].env[4].valueFrom.fieldRef.fieldPath", `supported values: "metadata.name"`),
			required("spec.containers[0].env[5].valueFrom.configMapKeyRef.key", ""),
		}},
		{name: "unsupported downward API field", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.bogus"}}}}
		}, want: []want{invalid("spec.containers[0].env[0].valueFrom.fieldRef.fieldPath", "error converting fieldPath: field label not supported: spec.bogus")}},
		{name: "volumes: duplicate name, two sources, no source", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "b", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{},
					HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
				{Name: "c"},
				{Name: "d", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
			}
		}, want: []want{
			duplicate("spec.volumes[1].name"),
			forbidden("spec.volumes[2].hostPath", "may not specify more than 1 volume type"),
			required("spec.volumes[3]", "must specify a volume type"),
			required("spec.volumes[4].secret.secretName", ""),
		}},
		{name: "mount of an unknown volume", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "missing", MountPath: "/data"}, {Name: "", MountPath: ""}}
		}, want: []want{
			notFound("spec.containers[0].volumeMounts[0].name"),
			required("spec.containers[0].volumeMounts[1].name", ""), notFound("spec.containers[0].volumeMounts[1].name"),
			required("spec.containers[0].volumeMounts[1].mountPath", ""),
		}},
		{name: "mount path used twice and sub path escaping", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "data", MountPath: "/data"},
				{Name: "data", MountPath: "/data", SubPath: "../etc"},
			}
		}, want: []want{
			invalid("spec.containers[0].volumeMounts[1].mountPath", "must be unique"),
			invalid("spec.containers[0].volumeMounts.subPath", "must not contain '..'"),
		}},
		{name: "requests above limits", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
		}, want: []want{invalid("spec.containers[0].resources.requests", "must be less than or equal to cpu limit of 1")}},
		{name: "unknown and negative resources", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{
				"gpu":                  resource.MustParse("1"),
				corev1.ResourceMemory:  resource.MustParse("-1"),
				"example.com/dongle":   resource.MustParse("500m"),
				corev1.ResourceStorage: resource.MustParse("1Gi"),
			}}
		}, want: []want{
			invalid("spec.containers[0].resources.limits[gpu]", "must be a standard resource type or fully qualified"),
			invalid("spec.containers[0].resources.limits[gpu]", "must be a standard resource for containers"),
			invalid("spec.containers[0].resources.limits[memory]", "must be greater than or equal to 0"),
			invalid("spec.containers[0].resources.limits[example.com/dongle]", "must be an integer"),
			invalid("spec.containers[0].resources.limits[storage]", "must be a standard resource for containers"),
		}},
		{name: "extended resource request without limit", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{"example.com/dongle": resource.MustParse("1")}}
		}, want: []want{required("spec.containers[0].resources.limits", "Limit must be set for non overcommitable resources")}},
		{name: "probes", mutate: func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}},
				SuccessThreshold: 2, PeriodSeconds: -1}
			c.ReadinessProbe = &corev1.Probe{SuccessThreshold: 1}
			c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec:    &corev1.ExecAction{Command: []string{"true"}},
				HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80), Scheme: corev1.URISchemeHTTP},
			}, SuccessThreshold: 1}
		}, want: []want{
			invalid("spec.containers[0].livenessProbe.successThreshold", "must be 1"),
			invalid("spec.containers[0].livenessProbe.periodSeconds", "must be greater than or equal to 0"),
			required("spec.containers[0].readinessProbe", "must specify a handler type"),
			forbidden("spec.containers[0].startupProbe.httpGet", "may not specify more than 1 handler type"),
		}},
		{name: "init container hooks and probes need restartPolicy Always", mutate: func(p *corev1.Pod) {
			c := validContainer("init")
			c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
			sidecar := validContainer("sidecar")
			sidecar.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			sidecar.Lifecycle = c.Lifecycle
			p.Spec.InitContainers = []corev1.Container{c, sidecar}
		}, want: []want{forbidden("spec.initContainers[0].lifecycle", "may not be set for init containers without restartPolicy=Always")}},
		{name: "restartPolicy on a regular container", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
		}, want: []want{forbidden("spec.containers[0].restartPolicy", "may not be set for non-init containers")}},
		{name: "bad hostname and subdomain", mutate: func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "web.0", "Svc" },
			want: []want{invalid("spec.hostname", "must not contain dots"), invalid("spec.subdomain", "a lowercase RFC 1123 label")}},
		{name: "active deadline out of range", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(0)) },
			want: []want{invalid("spec.activeDeadlineSeconds", "must be between 1 and 2147483647, inclusive")}},
		{name: "tolerations", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{
				{Operator: corev1.TolerationOpEqual, Value: "x"},
				{Key: "k", Operator: "Matches"},
				{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr(int64(1))},
			}
		}, want: []want{
			invalid("spec.tolerations[0].operator", "operator must be Exists when `key` is empty"),
			notSupported("spec.tolerations[1].operator", `supported values: "Equal", "Exists"`),
			invalid("spec.tolerations[2].effect", "effect must be 'NoExecute' when `tolerationSeconds` is set"),
		}},
		{name: "node affinity without terms", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, want: []want{required("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
			"must have at least one node selector term")}},
		{name: "pod anti-affinity without topology key", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{LabelSelector: &metav1.LabelSelector{MatchLabels: webLabels}}}}}
		}, want: []want{
			required("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", "can not be empty"),
			invalid("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", "name part must be non-empty"),
			invalid("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", "name part must consist of"),
		}},
		{name: "dnsPolicy None needs dnsConfig", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			want: []want{required("spec.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")}},
		{name: "ephemeral containers on create", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(validContainer("debug"))}}
		}, want: []want{forbidden("spec.ephemeralContainers", "cannot be set on create")}},
		{name: "security context IDs", mutate: func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsUser = ptr(int64(-1))
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsGroup: ptr(int64(-2))}
		}, want: []want{
			invalid("spec.securityContext.runAsUser", "must be between 0 and 2147483647, inclusive"),
			invalid("spec.containers[0].securityContext.runAsGroup", "must be between 0 and 2147483647, inclusive"),
		}},
		{name: "mirror pod annotation needs a node", mutate: func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		}, want: []want{invalid("metadata.annotations[kubernetes.io/config.mirror]", "must set spec.nodeName if mirror pod annotation is set")}},
		{name: "service account token volume without a service account", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3600))}}}}}}}
		}, want: []want{forbidden("spec.volumes[0].projected.sources[0].serviceAccountToken", "must not be specified when serviceAccountName is not set")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := validPod()
			tc.mutate(pod)
			expectErrors(t, ValidateCreate(pod), tc.want...)
		})
	}
}

func TestPodMessagesAsKubectlPrintsThem(t *testing.T) {
	pod := validPod()
	pod.Name = "Bad_Name"
	pod.Spec.Containers[0].Image = ""
	errs := ValidateCreate(pod)
	expectMessage(t, errs, `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`)
	expectMessage(t, errs, "spec.containers[0].image: Required value")

	pod = validPod()
	pod.Spec.Containers = nil
	expectMessage(t, ValidateCreate(pod), "spec.containers: Required value")
}

func storedPod() *corev1.Pod {
	p := validPod()
	p.ObjectMeta = stored(p.ObjectMeta)
	p.Spec.NodeName = "node-1"
	p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(60))}}
	p.Spec.ActiveDeadlineSeconds = ptr(int64(600))
	return p
}

func TestValidateUpdatePod(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []want
	}{
		{name: "unchanged pod passes", mutate: func(*corev1.Pod) {}},
		{name: "new image, lower deadline, added toleration and labels pass", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "nginx:1.28"
			p.Spec.ActiveDeadlineSeconds = ptr(int64(60))
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists})
			p.Spec.Tolerations[0].TolerationSeconds = ptr(int64(30))
			p.Labels = map[string]string{"tier": "front"}
		}},
		{name: "other spec field changed", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []want{forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")}},
		{name: "container added", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, validContainer("side"))
		}, want: []want{forbidden("spec.containers", "pod updates may not add or remove containers")}},
		{name: "image cleared", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want: []want{required("spec.containers[0].image", "")}},
		{name: "deadline raised", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(6000)) },
			want: []want{invalid("spec.activeDeadlineSeconds", "must be less than or equal to previous value")}},
		{name: "deadline removed", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			want: []want{invalid("spec.activeDeadlineSeconds", "must not update from a positive integer to nil value")}},
		{name: "toleration changed", mutate: func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "c" },
			want: []want{forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")}},
		{name: "name, uid and creation time changed", mutate: func(p *corev1.Pod) {
			p.Name, p.UID = "other", "x"
			p.CreationTimestamp = metav1.Date(2030, 1, 1, 0, 0, 0, 0, p.CreationTimestamp.Location())
		}, want: []want{
			invalid("metadata.name", "field is immutable"), invalid("metadata.uid", "field is immutable"),
			invalid("metadata.creationTimestamp", "field is immutable"),
		}},
		{name: "namespace changed", mutate: func(p *corev1.Pod) { p.Namespace = "other" },
			want: []want{invalid("metadata.namespace", "field is immutable")}},
		{name: "resourceVersion missing", mutate: func(p *corev1.Pod) { p.ResourceVersion = "" },
			want: []want{invalid("metadata.resourceVersion", "must be specified for an update")}},
		{name: "mirror annotation added", mutate: func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		}, want: []want{forbidden("metadata.annotations[kubernetes.io/config.mirror]", "may not add mirror pod annotation")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedPod()
			pod := old.DeepCopy()
			tc.mutate(pod)
			expectErrors(t, ValidateUpdate(pod, old), tc.want...)
		})
	}
}

func TestValidateStatusUpdatePod(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []want
	}{
		{name: "status written by the kubelet passes", mutate: func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.HostIP = "192.168.1.10"
			p.Status.HostIPs = []corev1.HostIP{{IP: "192.168.1.10"}}
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.7"}, {IP: "fd00::7"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}},
		{name: "node changed through status", mutate: func(p *corev1.Pod) { p.Spec.NodeName = "node-2" },
			want: []want{forbidden("status.nodeName", "may not be changed directly")}},
		{name: "bad pod IPs", mutate: func(p *corev1.Pod) {
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.7"}, {IP: "10.244.1.8"}}
		}, want: []want{invalid("status.podIPs", "may specify no more than one IP for each IP family")}},
		{name: "invalid pod IP", mutate: func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1"}} },
			want: []want{invalid("status.podIPs[0]", "must be a valid IP address")}},
		{name: "QoS class changed", mutate: func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed },
			want: []want{invalid("status.qosClass", "field is immutable")}},
		{name: "terminated container restarted against the policy", mutate: func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}, want: []want{forbidden("status.containerStatuses[0].state", "may not be transitioned to non-terminated state")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedPod()
			old.Spec.RestartPolicy = corev1.RestartPolicyNever
			old.Status.QOSClass = corev1.PodQOSBestEffort
			old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}
			pod := old.DeepCopy()
			pod.Status.ContainerStatuses = nil
			tc.mutate(pod)
			expectErrors(t, ValidateStatusUpdate(pod, old), tc.want...)
		})
	}
}
