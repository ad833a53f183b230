package imagelocality

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// referenceScore is Score as it was before PreScore: every container's
// image looked up under its candidate names on each node.
func referenceScore(pod *corev1.Pod, ni *framework.NodeInfo, totalNodes int) int64 {
	var sum int64
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if cs[i].Image == "" {
				continue
			}
			for _, name := range candidateNames(cs[i].Image) {
				if st, ok := ni.ImageStates[name]; ok {
					if st != nil {
						sum += scaledImageScore(st, totalNodes)
					}
					break
				}
			}
		}
	}
	return calculatePriority(sum, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
}

// TestPreScore checks that Score gives the same with the names PreScore
// works out as without, and as the per-node lookups did, and that the
// state of another pod is not used.
func TestPreScore(t *testing.T) {
	images := map[string]*framework.ImageState{
		"docker.io/library/nginx:latest": image(300, 2),
		"nginx:latest":                   image(300, 2),
		"docker.io/user/app:v1":          image(800, 1),
		"gcr.io/project/tool:v2":         image(60, 3),
		"registry.local:5000/big:latest": image(2000, 1),
		"nil:latest":                     nil,
	}
	pods := []*corev1.Pod{
		podWith(nil),
		podWith(nil, ""),
		podWith(nil, "nginx"),
		podWith(nil, "nginx", "user/app:v1"),
		podWith([]string{"gcr.io/project/tool:v2"}, "docker.io/library/nginx", ""),
		podWith(nil, "registry.local:5000/big", "user/app:v1", "nginx:1.27"),
		podWith(nil, "nil", "nginx"),
		podWith(nil, "unknown/image:v9"),
	}
	nodes := snapshot(4, images)
	nodes[1].ImageStates = map[string]*framework.ImageState{"nginx:latest": image(300, 2)}
	pl := &ImageLocality{handle: &fakeHandle{lister: nodes}}
	ctx := context.Background()
	for _, pod := range pods {
		cs := framework.NewCycleState()
		if st := pl.PreScore(ctx, cs, pod, nodes); !st.IsSuccess() {
			t.Fatalf("PreScore = %v", st)
		}
		for _, ni := range nodes {
			got, st := pl.Score(ctx, cs, pod, ni)
			if !st.IsSuccess() {
				t.Fatalf("Score = %v", st)
			}
			without, _ := pl.Score(ctx, framework.NewCycleState(), pod, ni)
			want := referenceScore(pod, ni, len(nodes))
			if got != want || without != want {
				t.Errorf("pod %v on %s: Score %d after PreScore, %d without, want %d", podImages(pod), ni.Name(), got, without, want)
			}
		}
	}

	// A state left by another pod is not used.
	cs := framework.NewCycleState()
	pl.PreScore(ctx, cs, podWith(nil, "registry.local:5000/big"), nodes)
	other := podWith(nil, "nginx")
	if got, want := mustScore(t, pl, cs, other, nodes[0]), referenceScore(other, nodes[0], len(nodes)); got != want {
		t.Errorf("Score of another pod than PreScore's = %d, want %d", got, want)
	}
}

func mustScore(t *testing.T, pl *ImageLocality, cs *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) int64 {
	t.Helper()
	v, st := pl.Score(context.Background(), cs, pod, ni)
	if !st.IsSuccess() {
		t.Fatalf("Score = %v", st)
	}
	return v
}

func podImages(p *corev1.Pod) []string {
	var out []string
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			out = append(out, c.Image)
		}
	}
	return out
}
