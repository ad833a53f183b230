package imagelocality

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// fakeLister is a NodeInfoLister over a fixed set of nodes.
type fakeLister []*framework.NodeInfo

func (l fakeLister) List() []*framework.NodeInfo                                 { return l }
func (l fakeLister) HavePodsWithAffinityList() []*framework.NodeInfo             { return nil }
func (l fakeLister) HavePodsWithRequiredAntiAffinityList() []*framework.NodeInfo { return nil }
func (l fakeLister) Get(name string) (*framework.NodeInfo, error) {
	for _, n := range l {
		if n.Name() == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("nodeinfo %q: %w", name, framework.ErrNotFound)
}

// fakeHandle offers the snapshot; every other Handle method panics.
type fakeHandle struct {
	framework.Handle
	lister fakeLister
}

func (h *fakeHandle) SnapshotSharedLister() framework.NodeInfoLister { return h.lister }

// snapshot returns n nodes; the first has images.
func snapshot(n int, images map[string]*framework.ImageState) fakeLister {
	var l fakeLister
	for i := 0; i < n; i++ {
		ni := framework.NewNodeInfo()
		ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i+1)}})
		if i == 0 {
			ni.ImageStates = images
		}
		l = append(l, ni)
	}
	return l
}

func image(sizeMB int64, numNodes int) *framework.ImageState {
	return &framework.ImageState{Size: sizeMB * mb, NumNodes: numNodes}
}

func podWith(initImages []string, images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}
	for i, im := range initImages {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: fmt.Sprintf("init%d", i), Image: im})
	}
	for i, im := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: im})
	}
	return p
}

func TestScore(t *testing.T) {
	tests := []struct {
		name   string
		pod    *corev1.Pod
		nodes  int
		images map[string]*framework.ImageState
		want   int64
	}{
		{
			name:  "node without the image",
			pod:   podWith(nil, "gcr.io/300"),
			nodes: 1,
			want:  0,
		},
		{
			name:   "image under the minimum threshold",
			pod:    podWith(nil, "gcr.io/20"),
			nodes:  1,
			images: map[string]*framework.ImageState{"gcr.io/20:latest": image(20, 1)},
			want:   0,
		},
		{
			name:   "one image: (300-23)/(1000-23)",
			pod:    podWith(nil, "gcr.io/300"),
			nodes:  1,
			images: map[string]*framework.ImageState{"gcr.io/300:latest": image(300, 1)},
			want:   28,
		},
		{
			name:   "image scaled by its spread: 600 MiB on 2 of 4 nodes counts 300",
			pod:    podWith(nil, "gcr.io/600:v1"),
			nodes:  4,
			images: map[string]*framework.ImageState{"gcr.io/600:v1": image(600, 2)},
			want:   28,
		},
		{
			name:   "spread brings a present image under the threshold",
			pod:    podWith(nil, "gcr.io/40"),
			nodes:  2,
			images: map[string]*framework.ImageState{"gcr.io/40:latest": image(40, 1)},
			want:   0,
		},
		{
			name:  "two containers: (340-23)/(2000-23)",
			pod:   podWith(nil, "gcr.io/300", "gcr.io/40"),
			nodes: 1,
			images: map[string]*framework.ImageState{
				"gcr.io/300:latest": image(300, 1),
				"gcr.io/40:latest":  image(40, 1),
			},
			want: 16,
		},
		{
			name:   "the same image in two containers counts twice",
			pod:    podWith(nil, "gcr.io/500", "gcr.io/500"),
			nodes:  1,
			images: map[string]*framework.ImageState{"gcr.io/500:latest": image(500, 1)},
			want:   49,
		},
		{
			name:   "init containers count too",
			pod:    podWith([]string{"gcr.io/500"}, "gcr.io/other"),
			nodes:  1,
			images: map[string]*framework.ImageState{"gcr.io/500:latest": image(500, 1)},
			want:   24,
		},
		{
			name:   "clamped at 1000 MiB per container",
			pod:    podWith(nil, "gcr.io/3000"),
			nodes:  1,
			images: map[string]*framework.ImageState{"gcr.io/3000:latest": image(3000, 1)},
			want:   100,
		},
		{
			name:   "short name found under its fully qualified name",
			pod:    podWith(nil, "nginx"),
			nodes:  1,
			images: map[string]*framework.ImageState{"docker.io/library/nginx:latest": image(500, 1)},
			want:   48,
		},
		{
			name:   "short name found as written",
			pod:    podWith(nil, "nginx"),
			nodes:  1,
			images: map[string]*framework.ImageState{"nginx:latest": image(500, 1)},
			want:   48,
		},
		{
			name:   "fully qualified name found under its short name",
			pod:    podWith(nil, "docker.io/library/nginx:1.27"),
			nodes:  1,
			images: map[string]*framework.ImageState{"nginx:1.27": image(500, 1)},
			want:   48,
		},
		{
			name:   "image with several names counts once",
			pod:    podWith(nil, "nginx"),
			nodes:  1,
			images: map[string]*framework.ImageState{"nginx:latest": image(500, 1), "docker.io/library/nginx:latest": image(500, 1)},
			want:   48,
		},
		{
			name:   "another tag is another image",
			pod:    podWith(nil, "nginx:1.26"),
			nodes:  1,
			images: map[string]*framework.ImageState{"docker.io/library/nginx:1.27": image(500, 1)},
			want:   0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := snapshot(tc.nodes, tc.images)
			p, err := New(nil, &fakeHandle{lister: nodes})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			pl := p.(*ImageLocality)
			got, st := pl.Score(context.Background(), framework.NewCycleState(), tc.pod, nodes[0])
			if !st.IsSuccess() {
				t.Fatalf("Score = %v", st)
			}
			if got != tc.want {
				t.Errorf("Score = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCandidateNames(t *testing.T) {
	tests := []struct {
		image string
		want  []string
	}{
		{"nginx", []string{"nginx:latest", "docker.io/library/nginx:latest"}},
		{"nginx:1.27", []string{"nginx:1.27", "docker.io/library/nginx:1.27"}},
		{"library/nginx", []string{"library/nginx:latest", "docker.io/library/nginx:latest", "nginx:latest"}},
		{"user/app:v1", []string{"user/app:v1", "docker.io/user/app:v1"}},
		{"docker.io/library/nginx", []string{"docker.io/library/nginx:latest", "nginx:latest"}},
		{"index.docker.io/library/nginx:1", []string{"index.docker.io/library/nginx:1", "docker.io/library/nginx:1", "nginx:1"}},
		{"docker.io/user/app", []string{"docker.io/user/app:latest", "user/app:latest"}},
		{"nginx@sha256:abcd", []string{"nginx@sha256:abcd", "docker.io/library/nginx@sha256:abcd"}},
		{"nginx:1.27@sha256:abcd", []string{"nginx:1.27@sha256:abcd", "docker.io/library/nginx:1.27@sha256:abcd"}},
		{"registry.local:5000/app", []string{"registry.local:5000/app:latest"}},
		{"localhost/app:dev", []string{"localhost/app:dev"}},
		{"gcr.io/project/app:v2", []string{"gcr.io/project/app:v2"}},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			if got := candidateNames(tc.image); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("candidateNames(%q) = %q, want %q", tc.image, got, tc.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		args    string
		wantErr bool
	}{
		{args: ""},
		{args: "{}"},
		{args: "null"},
		{args: `{"maxThreshold": 1}`, wantErr: true},
	} {
		t.Run(tc.args, func(t *testing.T) {
			var raw json.RawMessage
			if tc.args != "" {
				raw = json.RawMessage(tc.args)
			}
			p, err := New(raw, nil)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New(%s) error = %v, want error: %v", tc.args, err, tc.wantErr)
			}
			if err == nil && p.Name() != Name {
				t.Errorf("Name() = %q", p.Name())
			}
		})
	}
}

func TestScoreWithoutHandle(t *testing.T) {
	p, _ := New(nil, nil)
	ni := framework.NewNodeInfo()
	ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	if _, st := p.(*ImageLocality).Score(context.Background(), framework.NewCycleState(), podWith(nil, "nginx"), ni); st.Code() != framework.Error {
		t.Errorf("Score without a Handle = %v, want Error", st)
	}
}
