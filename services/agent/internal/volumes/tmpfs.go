package volumes

import (
	"fmt"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// memoryBackedSize is the size of a pod's tmpfs volume in bytes, as
// kubelet computes it: the smallest of the node's allocatable memory, the
// pod's memory limit and the volume's sizeLimit, where set. 0 means no
// size option (the kernel's default, half of RAM).
func memoryBackedSize(pod *corev1.Pod, allocatable corev1.ResourceList, sizeLimit *int64) int64 {
	var size int64
	lower := func(v int64) {
		if v > 0 && (size == 0 || v < size) {
			size = v
		}
	}
	if q, ok := allocatable[corev1.ResourceMemory]; ok {
		lower(q.Value())
	}
	if limit, ok := podMemoryLimit(pod); ok {
		lower(limit)
	}
	if sizeLimit != nil {
		lower(*sizeLimit)
	}
	return size
}

// podMemoryLimit is the memory limit of the pod's cgroup, as kubelet sets
// it: the pod-level limit if there is one, else the sum of the
// containers' (and sidecars') limits, or the largest init container's if
// that is more, plus the pod overhead. ok is false when some container
// has no limit, so the pod has none.
func podMemoryLimit(pod *corev1.Pod) (limit int64, ok bool) {
	overhead := pod.Spec.Overhead.Memory().Value()
	if r := pod.Spec.Resources; r != nil {
		if q, found := r.Limits[corev1.ResourceMemory]; found && !q.IsZero() {
			return q.Value() + overhead, true
		}
	}
	containerLimit := func(c *corev1.Container) (int64, bool) {
		q, found := c.Resources.Limits[corev1.ResourceMemory]
		return q.Value(), found && !q.IsZero()
	}

	var sum, sidecars, initMax int64
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		v, found := containerLimit(c)
		if !found {
			return 0, false
		}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars += v
			initMax = max(initMax, sidecars)
			continue
		}
		initMax = max(initMax, sidecars+v)
	}
	for i := range pod.Spec.Containers {
		v, found := containerLimit(&pod.Spec.Containers[i])
		if !found {
			return 0, false
		}
		sum += v
	}
	return max(sum+sidecars, initMax) + overhead, true
}

// mountTmpfs mounts a tmpfs of size bytes (0: the kernel's default) on dir.
func mountTmpfs(dir string, size int64) error {
	opts := ""
	if size > 0 {
		opts = fmt.Sprintf("size=%d", size)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// isTmpfsMount reports whether dir is itself the mount point of a tmpfs.
func isTmpfsMount(dir string) (bool, error) {
	real, err := realPath(dir)
	if err != nil {
		return false, err
	}
	mounts, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(real))
	if err != nil {
		return false, err
	}
	for _, m := range mounts {
		if m.FSType == "tmpfs" {
			return true, nil
		}
	}
	return false, nil
}
