package node

import (
	"cmp"
	"slices"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// maxImages is how many images status.images lists, largest first
// (kubelet's --node-status-max-images).
const maxImages = 50

// resources are the node's capacity, from the machine and the overrides,
// and allocatable: capacity minus what is reserved for the system and
// minus the hard eviction thresholds, as kubelet computes it.
func resources(s MachineStats, cfg *Config) (capacity, allocatable corev1.ResourceList) {
	capacity = corev1.ResourceList{
		corev1.ResourcePods: *resource.NewQuantity(int64(cfg.MaxPods), resource.DecimalSI),
	}
	if s.CPUs > 0 {
		capacity[corev1.ResourceCPU] = *resource.NewQuantity(s.CPUs, resource.DecimalSI)
	}
	if s.MemoryBytes > 0 {
		capacity[corev1.ResourceMemory] = *resource.NewQuantity(s.MemoryBytes, resource.BinarySI)
	}
	if s.DiskBytes > 0 {
		capacity[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(s.DiskBytes, resource.BinarySI)
	}
	for name, q := range cfg.Capacity {
		capacity[name] = q.DeepCopy()
	}

	kept := corev1.ResourceList{}
	if t := cfg.Thresholds.MemoryAvailable; t.Sign() > 0 {
		kept[corev1.ResourceMemory] = t.DeepCopy()
	}
	if disk, ok := capacity[corev1.ResourceEphemeralStorage]; ok && cfg.Thresholds.DiskAvailable > 0 {
		v := int64(cfg.Thresholds.DiskAvailable * float64(disk.Value()))
		kept[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(v, resource.BinarySI)
	}
	allocatable = corev1.ResourceList{}
	for name, q := range capacity {
		a := q.DeepCopy()
		for _, minus := range []corev1.ResourceList{cfg.Reserved, kept} {
			if r, ok := minus[name]; ok {
				a.Sub(r)
			}
		}
		if a.Sign() < 0 {
			a = *resource.NewQuantity(0, q.Format)
		}
		allocatable[name] = a
	}
	return capacity, allocatable
}

// nodeImages are the images for status.images: one entry per image ID
// with all its names, largest first, at most maxImages.
func nodeImages(imgs []runtime.Image) []corev1.ContainerImage {
	byID := map[string]*corev1.ContainerImage{}
	var out []*corev1.ContainerImage
	for _, img := range imgs {
		key := cmp.Or(img.ID, img.Name)
		ci, ok := byID[key]
		if !ok {
			ci = &corev1.ContainerImage{SizeBytes: img.Size}
			byID[key] = ci
			out = append(out, ci)
		}
		if !slices.Contains(ci.Names, img.Name) {
			ci.Names = append(ci.Names, img.Name)
		}
	}
	for _, ci := range out {
		slices.Sort(ci.Names)
	}
	slices.SortFunc(out, func(a, b *corev1.ContainerImage) int {
		return cmp.Or(cmp.Compare(b.SizeBytes, a.SizeBytes), cmp.Compare(a.Names[0], b.Names[0]))
	})
	list := make([]corev1.ContainerImage, 0, min(len(out), maxImages))
	for _, ci := range out[:min(len(out), maxImages)] {
		list = append(list, *ci)
	}
	return list
}
