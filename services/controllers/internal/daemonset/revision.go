package daemonset

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// Labels and annotations daemon pods and DaemonSets carry, by Kubernetes'
// names.
const (
	// templateGenerationLabel is the (deprecated, still set) generation
	// of the template a pod was made from.
	templateGenerationLabel = "pod-template-generation"
	// templateGenerationAnnotation holds a DaemonSet's template
	// generation, counted by the API server.
	templateGenerationAnnotation = "deprecated.daemonset.template.generation"
)

// templateHash is the revision of a DaemonSet's template, the value of
// the controller-revision-hash label: an FNV-32a hash of the template
// (and the collision count, when set), in the safe alphabet Kubernetes
// uses for such hashes.
func templateHash(tmpl *corev1.PodTemplateSpec, collisionCount *int32) (string, error) {
	b, err := json.Marshal(tmpl)
	if err != nil {
		return "", fmt.Errorf("hash pod template: %w", err)
	}
	h := fnv.New32a()
	h.Write(b)
	if collisionCount != nil {
		var c [4]byte
		binary.LittleEndian.PutUint32(c[:], uint32(*collisionCount))
		h.Write(c[:])
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10)), nil
}

// templateGeneration is the generation the pod-template-generation label
// names: the DaemonSet's deprecated template generation annotation, which
// the API server keeps, else (a DaemonSet stored before it did) its
// metadata.generation.
func templateGeneration(ds *appsv1.DaemonSet) string {
	if g, ok := ds.Annotations[templateGenerationAnnotation]; ok {
		if _, err := strconv.ParseInt(g, 10, 64); err == nil {
			return g
		}
	}
	return strconv.FormatInt(ds.Generation, 10)
}

// isUpdated reports whether pod was made from the DaemonSet's current
// template: its revision hash, or its template generation, matches.
func isUpdated(pod *corev1.Pod, hash, generation string) bool {
	if h, ok := pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; ok && hash != "" && h == hash {
		return true
	}
	g, ok := pod.Labels[templateGenerationLabel]
	return ok && generation != "" && g == generation
}
