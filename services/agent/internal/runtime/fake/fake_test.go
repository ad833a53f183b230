package fake

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newRuntime is a runtime on a fake clock, closed with the test.
func newRuntime(t *testing.T) (*Runtime, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	r := New(Config{Clock: clk, Root: t.TempDir()})
	t.Cleanup(func() { _ = r.Close() })
	return r, clk
}

// startContainer creates a sandbox for pod uid if needed and a container
// with env in it, and starts it.
func startContainer(t *testing.T, r *Runtime, uid string, cfg runtime.ContainerConfig) string {
	t.Helper()
	id := createContainer(t, r, uid, cfg)
	if err := r.StartContainer(context.Background(), id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return id
}

func createContainer(t *testing.T, r *Runtime, uid string, cfg runtime.ContainerConfig) string {
	t.Helper()
	ctx := context.Background()
	sb, err := r.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: uid, Namespace: "default", Name: "pod-" + uid})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	if cfg.Name == "" {
		cfg.Name = "app"
	}
	if cfg.Image.Name == "" {
		cfg.Image = imageFor("docker.io/library/busybox:latest")
	}
	id, err := r.CreateContainer(ctx, sb, cfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	return id
}

func status(t *testing.T, r *Runtime, id string) runtime.ContainerStatus {
	t.Helper()
	st, err := r.ContainerStatus(context.Background(), id)
	if err != nil {
		t.Fatalf("ContainerStatus: %v", err)
	}
	return st
}

// nextEvents receives n events, failing after a deadline.
func nextEvents(t *testing.T, r *Runtime, n int) []runtime.Event {
	t.Helper()
	var out []runtime.Event
	deadline := time.After(5 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-r.Events():
			if !ok {
				t.Fatalf("events closed after %v", out)
			}
			out = append(out, ev)
		case <-deadline:
			t.Fatalf("got events %v, want %d", out, n)
		}
	}
	return out
}

// noEvent checks that no event is waiting.
func noEvent(t *testing.T, r *Runtime) {
	t.Helper()
	select {
	case ev := <-r.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(20 * time.Millisecond):
	}
}

func errContains(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && strings.Contains(err.Error(), want)
}

func TestEnsureImage(t *testing.T) {
	auth := []runtime.RegistryAuth{{Server: "registry.example.com", Username: "u", Password: "p"}}
	tests := []struct {
		name, ref, policy string
		auth              []runtime.RegistryAuth
		wantErr           string
		wantNotFound      bool
	}{
		{name: "present", ref: "docker.io/library/nginx:1.25", policy: "IfNotPresent"},
		{name: "always pulls", ref: "docker.io/library/nginx:1.25", policy: "Always"},
		{name: "never, but present", ref: "docker.io/library/nginx:1.25", policy: "Never"},
		{name: "missing", ref: "docker.io/library/missing:1", policy: "IfNotPresent",
			wantErr: `failed to pull and unpack image "docker.io/library/missing:1": failed to resolve reference "docker.io/library/missing:1": docker.io/library/missing:1: not found`},
		{name: "missing, always", ref: "docker.io/library/missing:1", policy: "Always", wantErr: "not found"},
		{name: "missing, never", ref: "docker.io/library/missing:1", policy: "Never", wantErr: "pull policy Never", wantNotFound: true},
		{name: "private without auth", ref: "registry.example.com/team/private-app:1", policy: "IfNotPresent",
			wantErr: "pull access denied, repository does not exist or may require authorization"},
		{name: "private with auth", ref: "registry.example.com/team/private-app:1", policy: "IfNotPresent", auth: auth},
		{name: "private with another registry's auth", ref: "other.example.com/private:1", policy: "IfNotPresent", auth: auth,
			wantErr: "pull access denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newRuntime(t)
			img, err := r.EnsureImage(context.Background(), tc.ref, tc.policy, tc.auth)
			if !errContains(err, tc.wantErr) {
				t.Fatalf("EnsureImage(%q, %s) = %v, want error %q", tc.ref, tc.policy, err, tc.wantErr)
			}
			if got := errors.Is(err, runtime.ErrNotFound); got != tc.wantNotFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tc.wantNotFound)
			}
			if err != nil {
				return
			}
			if img.Name != tc.ref || !strings.HasPrefix(img.ID, "sha256:") || img.Size <= 0 {
				t.Errorf("image = %+v", img)
			}
			imgs, _ := r.ListImages(context.Background())
			if len(imgs) != 1 || imgs[0].ID != img.ID {
				t.Errorf("ListImages = %+v, want the image pulled", imgs)
			}
		})
	}
}

func TestPullErrorHook(t *testing.T) {
	r := New(Config{PullError: func(ref string, _ []runtime.RegistryAuth) error {
		if ref == "bad" {
			return errors.New("registry down")
		}
		return nil
	}})
	defer r.Close()
	if _, err := r.EnsureImage(context.Background(), "bad", "IfNotPresent", nil); !errContains(err, "registry down") {
		t.Errorf("bad: %v", err)
	}
	if _, err := r.EnsureImage(context.Background(), "docker.io/library/missing:1", "IfNotPresent", nil); err != nil {
		t.Errorf("the hook replaces the default rule: %v", err)
	}
}

func TestSandboxes(t *testing.T) {
	ctx := context.Background()
	r, _ := newRuntime(t)
	cfg := runtime.SandboxConfig{PodUID: "u1", Namespace: "ns", Name: "p", HostNetwork: true}
	sb, err := r.CreateSandbox(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Dir == "" || !sb.HostNetwork || sb.NetNS != "" {
		t.Errorf("sandbox = %+v", sb)
	}
	again, err := r.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "u1", Namespace: "ns", Name: "p"})
	if err != nil || *again != *sb {
		t.Errorf("CreateSandbox again = %+v, %v; want the same sandbox", again, err)
	}
	id := createContainer(t, r, "u1", runtime.ContainerConfig{})
	if err := r.RemoveSandbox(ctx, "u1"); !errContains(err, "containers app remain") {
		t.Errorf("RemoveSandbox with a container = %v", err)
	}
	if err := r.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveSandbox(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveSandbox(ctx, "u1"); err != nil {
		t.Errorf("removing a missing sandbox: %v", err)
	}
	if _, err := os.Stat(sb.Dir); !os.IsNotExist(err) {
		t.Errorf("the sandbox directory is left: %v", err)
	}
	if sbs, _ := r.ListSandboxes(ctx); len(sbs) != 0 {
		t.Errorf("ListSandboxes = %v", sbs)
	}
}

func TestImportImage(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    []string
		wantErr string
	}{
		{name: "docker archive", files: map[string]string{
			"manifest.json": `[{"Config":"c.json","RepoTags":["busybox:1.36","registry.example.com/app:v1"],"Layers":[]}]`,
		}, want: []string{"docker.io/library/busybox:1.36", "registry.example.com/app:v1"}},
		{name: "OCI archive", files: map[string]string{
			"oci-layout": `{"imageLayoutVersion":"1.0.0"}`,
			"index.json": `{"manifests":[{"annotations":{"io.containerd.image.name":"docker.io/library/nginx:1.25","org.opencontainers.image.ref.name":"1.25"}},` +
				`{"annotations":{"org.opencontainers.image.ref.name":"example.com/tool"}}]}`,
		}, want: []string{"docker.io/library/nginx:1.25", "example.com/tool:latest"}},
		{name: "no names", files: map[string]string{"index.json": `{"manifests":[{}]}`}, wantErr: "the archive names no image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for name, body := range tc.files {
				_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))})
				_, _ = tw.Write([]byte(body))
			}
			_ = tw.Close()
			r, _ := newRuntime(t)
			names, err := r.ImportImage(context.Background(), &buf)
			if !errContains(err, tc.wantErr) || !slices.Equal(names, tc.want) {
				t.Fatalf("ImportImage = %q, %v; want %q, %q", names, err, tc.want, tc.wantErr)
			}
			for _, n := range tc.want {
				if _, err := r.EnsureImage(context.Background(), n, "Never", nil); err != nil {
					t.Errorf("%s after import: %v", n, err)
				}
			}
		})
	}
	r, _ := newRuntime(t)
	if _, err := r.ImportImage(context.Background(), strings.NewReader("not a tar")); !errContains(err, "import image: not an image archive") {
		t.Errorf("ImportImage(garbage) = %v", err)
	}
}
