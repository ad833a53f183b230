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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
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

var _ framework.ScorePlugin = (*ImageLocality)(nil)

// New builds the plugin; it takes no arguments (nil or {}). Score needs
// h's SnapshotSharedLister, for the number of nodes.
func New(args json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	if len(bytes.TrimSpace(args)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(args))
		dec.DisallowUnknownFields()
		var none struct{}
		if err := dec.Decode(&none); err != nil {
			return nil, fmt.Errorf("%s takes no arguments: %w", Name, err)
		}
	}
	return &ImageLocality{handle: h}, nil
}

// Name returns the plugin's name.
func (pl *ImageLocality) Name() string { return Name }

// Score returns 0..MaxNodeScore: how much of the pod's images, by size,
// nodeInfo already has.
func (pl *ImageLocality) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, nodeInfo *framework.NodeInfo) (int64, *framework.Status) {
	if pl.handle == nil || pl.handle.SnapshotSharedLister() == nil {
		return 0, framework.AsStatus(errors.New("ImageLocality: no snapshot to count nodes"))
	}
	totalNodes := len(pl.handle.SnapshotSharedLister().List())
	containers := len(pod.Spec.InitContainers) + len(pod.Spec.Containers)
	return calculatePriority(sumImageScores(nodeInfo, pod, totalNodes), containers), nil
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

// sumImageScores adds up the scaled sizes of the images of pod's init and
// app containers present on the node.
func sumImageScores(nodeInfo *framework.NodeInfo, pod *corev1.Pod, totalNodes int) int64 {
	var sum int64
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if st := lookupImage(nodeInfo.ImageStates, cs[i].Image); st != nil {
				sum += scaledImageScore(st, totalNodes)
			}
		}
	}
	return sum
}

// scaledImageScore is the image's size times its spread over the nodes.
func scaledImageScore(st *framework.ImageState, totalNodes int) int64 {
	if totalNodes <= 0 {
		totalNodes = 1
	}
	spread := float64(st.NumNodes) / float64(totalNodes)
	return int64(float64(st.Size) * spread)
}

// lookupImage finds image in states under any of its names (see the
// package comment); nil when the node does not have it.
func lookupImage(states map[string]*framework.ImageState, image string) *framework.ImageState {
	if image == "" {
		return nil
	}
	for _, name := range candidateNames(image) {
		if st, ok := states[name]; ok {
			return st
		}
	}
	return nil
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
