package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Defaults counted for a container that requests no cpu or memory, when
// spreading load (scores), as Kubernetes does: without them a node full
// of request-less pods would look empty.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of the resources the scheduler accounts for.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is used for a node's allocatable pods.
	AllowedPodNumber int64
	// Scalar holds extended resources (example.com/gpu, hugepages-*, ...).
	Scalar map[corev1.ResourceName]int64
}

// NewResource reads a ResourceList.
func NewResource(rl corev1.ResourceList) *Resource {
	r := &Resource{}
	r.Add(rl)
	return r
}

// Add adds rl to r.
func (r *Resource) Add(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if IsScalarResource(name) {
				r.SetScalar(name, r.Scalar[name]+q.Value())
			}
		}
	}
}

// SetScalar sets an extended resource's amount.
func (r *Resource) SetScalar(name corev1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = map[corev1.ResourceName]int64{}
	}
	r.Scalar[name] = v
}

// plus adds o to r.
func (r *Resource) plus(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for n, v := range o.Scalar {
		r.SetScalar(n, r.Scalar[n]+v)
	}
}

// minus subtracts o from r.
func (r *Resource) minus(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for n, v := range o.Scalar {
		r.SetScalar(n, r.Scalar[n]-v)
	}
}

// setMax raises every amount of r to at least o's.
func (r *Resource) setMax(o *Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for n, v := range o.Scalar {
		if v > r.Scalar[n] {
			r.SetScalar(n, v)
		}
	}
}

// Clone returns a deep copy.
func (r *Resource) Clone() *Resource {
	c := *r
	if r.Scalar != nil {
		c.Scalar = make(map[corev1.ResourceName]int64, len(r.Scalar))
		for n, v := range r.Scalar {
			c.Scalar[n] = v
		}
	}
	return &c
}

// IsScalarResource reports whether name is an extended resource, a
// hugepages size or an attachable-volumes count: anything counted other
// than cpu, memory, ephemeral-storage and pods.
func IsScalarResource(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourcePods:
		return false
	}
	return true
}

// PodRequests computes what a pod asks for the way Kubernetes does: the
// larger of (the app containers' sum plus restartable init containers
// (sidecars)) and (each ordinary init container plus the sidecars started
// before it), plus the pod's overhead. nonZero applies the defaults for
// unset cpu and memory requests, per container.
func PodRequests(pod *corev1.Pod, nonZero bool) *Resource {
	req := &Resource{}
	for i := range pod.Spec.Containers {
		req.plus(containerRequests(&pod.Spec.Containers[i], nonZero))
	}
	sidecars := &Resource{}
	initMax := &Resource{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := containerRequests(c, nonZero)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars.plus(r)
			req.plus(r)
			continue
		}
		r.plus(sidecars)
		initMax.setMax(r)
	}
	req.setMax(initMax)
	if pod.Spec.Overhead != nil {
		req.Add(pod.Spec.Overhead)
	}
	return req
}

func containerRequests(c *corev1.Container, nonZero bool) *Resource {
	r := NewResource(c.Resources.Requests)
	if nonZero {
		if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
			r.Memory = DefaultMemoryRequest
		}
	}
	return r
}

// Quantity formats an amount of a resource for messages.
func Quantity(name corev1.ResourceName, v int64) string {
	if name == corev1.ResourceCPU {
		return resource.NewMilliQuantity(v, resource.DecimalSI).String()
	}
	return resource.NewQuantity(v, resource.BinarySI).String()
}
