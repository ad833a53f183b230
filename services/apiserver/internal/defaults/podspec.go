package defaults

import (
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// defaultPod applies the pod spec defaults and those Kubernetes keeps for
// pods alone, never for pod templates: requests copied from limits,
// enableServiceLinks and host ports under host networking.
func defaultPod(pod *corev1.Pod) {
	defaultPodSpec(&pod.Spec, true)
	for i := range pod.Spec.Containers {
		defaultRequestsFromLimits(&pod.Spec.Containers[i].Resources)
	}
	for i := range pod.Spec.InitContainers {
		defaultRequestsFromLimits(&pod.Spec.InitContainers[i].Resources)
	}
	setIfNil(&pod.Spec.EnableServiceLinks, corev1.DefaultEnableServiceLinks)
	if pod.Spec.HostNetwork {
		defaultHostPorts(pod.Spec.Containers)
		defaultHostPorts(pod.Spec.InitContainers)
	}
}

// defaultPodTemplate applies the pod spec defaults to a workload's pod
// template. Job templates pass restartPolicy false: their restart policy
// must be given (OnFailure or Never). Kubernetes defaults it to Always and
// then rejects that; here validation sees it unset and can require it.
func defaultPodTemplate(t *corev1.PodTemplateSpec, restartPolicy bool) {
	defaultPodSpec(&t.Spec, restartPolicy)
}

func defaultPodSpec(spec *corev1.PodSpec, restartPolicy bool) {
	setIfEmpty(&spec.DNSPolicy, corev1.DNSClusterFirst)
	if restartPolicy {
		setIfEmpty(&spec.RestartPolicy, corev1.RestartPolicyAlways)
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	setIfNil(&spec.TerminationGracePeriodSeconds, int64(corev1.DefaultTerminationGracePeriodSeconds))
	setIfEmpty(&spec.SchedulerName, corev1.DefaultSchedulerName)

	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		defaultContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	roundResourceList(spec.Overhead)
	if spec.Resources != nil {
		roundResources(spec.Resources)
	}
}

func defaultContainer(c *corev1.Container) {
	setIfEmpty(&c.ImagePullPolicy, pullPolicyFor(c.Image))
	setIfEmpty(&c.TerminationMessagePath, corev1.TerminationMessagePathDefault)
	setIfEmpty(&c.TerminationMessagePolicy, corev1.TerminationMessageReadFile)
	for i := range c.Ports {
		setIfEmpty(&c.Ports[i].Protocol, corev1.ProtocolTCP)
	}
	for i := range c.Env {
		if from := c.Env[i].ValueFrom; from != nil && from.FieldRef != nil {
			defaultFieldRef(from.FieldRef)
		}
	}
	roundResources(&c.Resources)
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			defaultProbe(p)
		}
	}
	if c.Lifecycle != nil {
		for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h != nil && h.HTTPGet != nil {
				defaultHTTPGet(h.HTTPGet)
			}
		}
	}
}

// pullPolicyFor is Always for an image whose tag is latest, named or
// implied by giving neither tag nor digest, and IfNotPresent otherwise.
func pullPolicyFor(image string) corev1.PullPolicy {
	if imageTag(image) == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// imageTag is the tag of an image reference, "latest" when it has neither
// tag nor digest, and "" when it has only a digest or is empty.
func imageTag(image string) string {
	if image == "" {
		return ""
	}
	name, digest, hasDigest := strings.Cut(image, "@")
	// A colon after the last slash separates the tag; one before it
	// belongs to a registry host's port.
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	if hasDigest && digest != "" {
		return ""
	}
	return "latest"
}

func defaultProbe(p *corev1.Probe) {
	setIfEmpty(&p.TimeoutSeconds, 1)
	setIfEmpty(&p.PeriodSeconds, 10)
	setIfEmpty(&p.SuccessThreshold, 1)
	setIfEmpty(&p.FailureThreshold, 3)
	if p.HTTPGet != nil {
		defaultHTTPGet(p.HTTPGet)
	}
	if p.GRPC != nil {
		setIfNil(&p.GRPC.Service, "")
	}
}

func defaultHTTPGet(a *corev1.HTTPGetAction) {
	setIfEmpty(&a.Path, "/")
	setIfEmpty(&a.Scheme, corev1.URISchemeHTTP)
}

func defaultFieldRef(ref *corev1.ObjectFieldSelector) {
	setIfEmpty(&ref.APIVersion, "v1")
}

func defaultVolume(v *corev1.Volume) {
	src := &v.VolumeSource
	if allPointersNil(src) {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if src.HostPath != nil {
		setIfNil(&src.HostPath.Type, corev1.HostPathUnset)
	}
	if src.Secret != nil {
		setIfNil(&src.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	}
	if src.ConfigMap != nil {
		setIfNil(&src.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if src.DownwardAPI != nil {
		setIfNil(&src.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		defaultDownwardAPIItems(src.DownwardAPI.Items)
	}
	if src.Projected != nil {
		defaultProjected(src.Projected)
	}
	if src.Ephemeral != nil && src.Ephemeral.VolumeClaimTemplate != nil {
		defaultPVCSpec(&src.Ephemeral.VolumeClaimTemplate.Spec)
	}
	if src.Image != nil {
		setIfEmpty(&src.Image.PullPolicy, pullPolicyFor(src.Image.Reference))
	}
	defaultLegacyVolumeSources(src)
}

func defaultProjected(p *corev1.ProjectedVolumeSource) {
	setIfNil(&p.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
	for i := range p.Sources {
		s := &p.Sources[i]
		if s.DownwardAPI != nil {
			defaultDownwardAPIItems(s.DownwardAPI.Items)
		}
		if s.ServiceAccountToken != nil {
			setIfNil(&s.ServiceAccountToken.ExpirationSeconds, int64(3600))
		}
	}
}

func defaultDownwardAPIItems(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if items[i].FieldRef != nil {
			defaultFieldRef(items[i].FieldRef)
		}
	}
}

// defaultLegacyVolumeSources covers the in-tree volume plugins that still
// carry defaults.
func defaultLegacyVolumeSources(src *corev1.VolumeSource) {
	if s := src.ISCSI; s != nil {
		setIfEmpty(&s.ISCSIInterface, "default")
	}
	if s := src.RBD; s != nil {
		setIfEmpty(&s.RBDPool, "rbd")
		setIfEmpty(&s.RadosUser, "admin")
		setIfEmpty(&s.Keyring, "/etc/ceph/keyring")
	}
	if s := src.AzureDisk; s != nil {
		setIfNil(&s.CachingMode, corev1.AzureDataDiskCachingReadWrite)
		setIfNil(&s.Kind, corev1.AzureSharedBlobDisk)
		setIfNil(&s.FSType, "ext4")
		setIfNil(&s.ReadOnly, false)
	}
	if s := src.ScaleIO; s != nil {
		setIfEmpty(&s.StorageMode, "ThinProvisioned")
		setIfEmpty(&s.FSType, "xfs")
	}
}

// allPointersNil reports whether a struct of pointer fields, such as a
// VolumeSource, has none set.
func allPointersNil(structPtr any) bool {
	v := reflect.ValueOf(structPtr).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			return false
		}
	}
	return true
}

// defaultPVCSpec defaults a claim spec inside a pod's ephemeral volume or
// a StatefulSet's claim templates.
func defaultPVCSpec(spec *corev1.PersistentVolumeClaimSpec) {
	setIfNil(&spec.VolumeMode, corev1.PersistentVolumeFilesystem)
	roundResourceList(spec.Resources.Limits)
	roundResourceList(spec.Resources.Requests)
}

// defaultRequestsFromLimits sets each resource's request to its limit when
// the request is not given.
func defaultRequestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	for name, limit := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = limit.DeepCopy()
		}
	}
}

// defaultHostPorts makes each container port a host port too, as a pod on
// the host network listens on the node's ports.
func defaultHostPorts(containers []corev1.Container) {
	for i := range containers {
		for j := range containers[i].Ports {
			p := &containers[i].Ports[j]
			setIfEmpty(&p.HostPort, p.ContainerPort)
		}
	}
}

func roundResources(r *corev1.ResourceRequirements) {
	roundResourceList(r.Limits)
	roundResourceList(r.Requests)
}

// roundResourceList rounds every quantity up to milli precision: Kubernetes
// stores no finer value, so "0.0001" CPU becomes "1m".
func roundResourceList(list corev1.ResourceList) {
	for name, q := range list {
		rounded := q.DeepCopy()
		rounded.RoundUp(resource.Milli)
		if rounded.Cmp(q) != 0 {
			list[name] = rounded
		}
	}
}
