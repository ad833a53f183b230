// Package imagelocality is the ImageLocality plugin: it prefers the nodes
// that already have the pod's container images, so that the pod starts
// without pulling them, the way kube-scheduler does.
//
// A node scores the sum, over the pod's init and app containers whose
// image it has, of the image's size scaled by its spread (the fraction of
// nodes having it: an image present everywhere gives no node an edge, and
// scaling by spread avoids piling pods onto the few nodes with a rare big
// image). The sum is clamped to [23 MiB, 1000 MiB × containers] and
// mapped linearly onto 0..100.
//
// Image names: nodes report every name of an image (NodeInfo.ImageStates
// is keyed by each), usually fully qualified ("docker.io/library/nginx:
// latest") by containerd, while pod specs often use short names
// ("nginx"). A container's image is looked up under its name with
// ":latest" added when it has no tag or digest (as Kubernetes does), then
// under its fully qualified form and its short (familiar) form, and
// counted once.
package imagelocality

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "ImageLocality"

// The score's bounds: below minThreshold an image is cheap to pull
// anyway; above maxContainerThreshold per container, more makes no
// difference. 90% of the images on Docker Hub fall in between.
const (
	mb                    int64 = 1024 * 1024
	minThreshold          int64 = 23 * mb
	maxContainerThreshold int64 = 1000 * mb
)

// ImageLocality scores nodes by the images of the pod they already have.
type ImageLocality struct {
	handle framework.Handle
}

var (
	_ framework.PreScorePlugin = (*ImageLocality)(nil)
	_ framework.ScorePlugin    = (*ImageLocality)(nil)
)

const preScoreStateKey framework.StateKey = "PreScore" + Name

// preScoreState holds the names each of the pod's images may be known by
// on a node, worked out once per scheduling cycle rather than per node;
// read-only after PreScore.
type preScoreState struct {
	pod *corev1.Pod
	// images has, for each of the pod's init and app containers in
	// order, the candidate names of its image (none for no image).
	images [][]string
	// containers is the number of init and app containers.
	containers int
}

// Clone returns s: it is never changed after PreScore.
func (s *preScoreState) Clone() framework.StateData { return s }

// newPreScoreState works out the candidate names of pod's images.
func newPreScoreState(pod *corev1.Pod) *preScoreState {
	s := &preScoreState{pod: pod, containers: len(pod.Spec.InitContainers) + len(pod.Spec.Containers)}
	s.images = make([][]string, 0, s.containers)
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			var names []string
			if cs[i].Image != "" {
				names = candidateNames(cs[i].Image)
			}
			s.images = append(s.images, names)
		}
	}
	return s
}

// PreScore works out the names the pod's images may be known by on the
// nodes, for Score.
func (pl *ImageLocality) PreScore(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	cs.Write(preScoreStateKey, newPreScoreState(pod))
	return nil
}

// New builds the plugin; it takes no arguments (nil or {}). Score needs
// h's SnapshotSharedLister, for the number of nodes.
func New(args json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	if err := helper.DecodeStrict(args, &struct{}{}); err != nil {
		return nil, fmt.Errorf("%s takes no arguments: %w", Name, err)
	}
	return &ImageLocality{handle: h}, nil
}

// Name returns the plugin's name.
func (pl *ImageLocality) Name() string { return Name }

// Score returns 0..MaxNodeScore: how much of the pod's images, by size,
// nodeInfo already has.
func (pl *ImageLocality) Score(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	if pl.handle == nil || pl.handle.SnapshotSharedLister() == nil {
		return 0, framework.AsStatus(errors.New("ImageLocality: no snapshot to count nodes"))
	}
	s := getPreScoreState(cs, pod)
	if s == nil {
		// Without PreScore (or for another pod): work the names out here.
		s = newPreScoreState(pod)
	}
	if len(nodeInfo.ImageStates) == 0 {
		return calculatePriority(0, s.containers), nil
	}
	totalNodes := len(pl.handle.SnapshotSharedLister().List())
	return calculatePriority(s.sumImageScores(nodeInfo, totalNodes), s.containers), nil
}

// getPreScoreState returns the PreScore state for pod in cs, or nil.
func getPreScoreState(cs *framework.CycleState, pod *corev1.Pod) *preScoreState {
	if cs == nil {
		return nil
	}
	d, err := cs.Read(preScoreStateKey)
	if err != nil {
		return nil
	}
	if s, ok := d.(*preScoreState); ok && s.pod == pod {
		return s
	}
	return nil
}

// sumImageScores adds up the scaled sizes of the images of the pod's init
// and app containers present on the node: each image is looked up under
// its candidate names, in order, and counted once.
func (s *preScoreState) sumImageScores(nodeInfo *framework.NodeInfo, totalNodes int) int64 {
	var sum int64
	for _, names := range s.images {
		for _, name := range names {
			if st, ok := nodeInfo.ImageStates[name]; ok {
				if st != nil {
					sum += scaledImageScore(st, totalNodes)
				}
				break
			}
		}
	}
	return sum
}

// calculatePriority maps the sum of image scores, clamped to
// [minThreshold, maxContainerThreshold × containers], onto
// 0..MaxNodeScore.
func calculatePriority(sum int64, containers int) int64 {
	maxThreshold := maxContainerThreshold * int64(containers)
	if sum < minThreshold {
		sum = minThreshold
	} else if sum > maxThreshold {
		sum = maxThreshold
	}
	return framework.MaxNodeScore * (sum - minThreshold) / (maxThreshold - minThreshold)
}

// scaledImageScore is the image's size times its spread over the nodes.
func scaledImageScore(st *framework.ImageState, totalNodes int) int64 {
	if totalNodes <= 0 {
		totalNodes = 1
	}
	spread := float64(st.NumNodes) / float64(totalNodes)
	return int64(float64(st.Size) * spread)
}

// candidateNames returns the names image may be known by on a node: as
// written with a default tag, fully qualified, and familiar.
func candidateNames(image string) []string {
	names := []string{withDefaultTag(image)}
	if full, ok := qualify(image); ok {
		for _, n := range []string{full, familiar(full)} {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// withDefaultTag adds ":latest" to a name without tag or digest, as
// Kubernetes' ImageLocality does.
func withDefaultTag(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		return name + ":latest"
	}
	return name
}

// qualify returns image's fully qualified form, as the Docker reference
// rules give it: "nginx" → "docker.io/library/nginx:latest",
// "user/app:v1" → "docker.io/user/app:v1", "registry:5000/app" →
// "registry:5000/app:latest"; a digest takes the place of the default
// tag. ok is false for a name it cannot make sense of.
func qualify(image string) (string, bool) {
	rest, digest, _ := strings.Cut(image, "@")
	domain, path := "docker.io", rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		first := rest[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			domain, path = first, rest[i+1:]
		}
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if path == "" {
		return "", false
	}
	if domain == "docker.io" && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	// A tag follows the last ':' of the path (the domain may hold a port).
	if !strings.Contains(path, ":") && digest == "" {
		path += ":latest"
	}
	full := domain + "/" + path
	if digest != "" {
		full += "@" + digest
	}
	return full, true
}

// familiar shortens a fully qualified name the way Docker shows it:
// "docker.io/library/nginx:latest" → "nginx:latest",
// "docker.io/user/app:v1" → "user/app:v1"; other registries unchanged.
func familiar(full string) string {
	rest, ok := strings.CutPrefix(full, "docker.io/")
	if !ok {
		return full
	}
	if short, ok := strings.CutPrefix(rest, "library/"); ok && !strings.Contains(short, "/") {
		return short
	}
	return rest
}
