package containerd

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	ctrimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"

	"github.com/gantry-dev/gantry/services/agent/internal/images"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

func TestImages(t *testing.T) {
	e := newTestEnv(t)

	if e.image.Name != busybox || !strings.HasPrefix(e.image.ID, "sha256:") || e.image.Size < 500000 ||
		!slices.Equal(e.image.Cmd, []string{"sh"}) || len(e.image.Env) != 1 {
		t.Fatalf("imported image %+v", e.image)
	}
	list, err := e.rt.ListImages(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != busybox || list[0].ID != e.image.ID {
		t.Fatalf("ListImages: %+v", list)
	}

	// Policies for a present image: no registry is asked.
	for _, policy := range []string{PullNever, PullIfNotPresent, "", PullAlways} {
		img, err := e.rt.EnsureImage(e.ctx, busybox, policy, nil)
		if err != nil || img.ID != e.image.ID {
			t.Errorf("EnsureImage(%q): %+v, %v", policy, img, err)
		}
	}
	// And for missing ones.
	for _, ref := range []string{"gantry.local/missing:1", "docker.io/library/missing:1", "missing"} {
		if _, err := e.rt.EnsureImage(e.ctx, ref, PullNever, nil); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("EnsureImage(%s, Never): %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := e.rt.EnsureImage(e.ctx, "gantry.local/missing:1", PullAlways, nil); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("EnsureImage of a missing gantry.local image: %v, want ErrNotFound without a pull", err)
	}
	if _, err := e.rt.EnsureImage(e.ctx, busybox, "Sometimes", nil); err == nil {
		t.Error("unknown pull policy accepted")
	}

	// A gzipped archive imports too, and again is harmless.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(busyboxImage(t))
	zw.Close()
	names, err := e.rt.ImportImage(e.ctx, &gz)
	if err != nil || !slices.Equal(names, []string{busybox}) {
		t.Fatalf("import of a gzipped archive: %v, %v", names, err)
	}

	// An archive made by containerd's exporter (OCI + docker manifest).
	var exported bytes.Buffer
	if err := e.rt.client.Export(e.rt.nsctx(e.ctx), &exported, archive.WithImage(e.rt.client.ImageService(), busybox)); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.client.ImageService().Delete(e.rt.nsctx(e.ctx), busybox, ctrimages.SynchronousDelete()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.EnsureImage(e.ctx, busybox, PullNever, nil); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("deleted image still there: %v", err)
	}
	names, err = e.rt.ImportImage(e.ctx, &exported)
	if err != nil || !slices.Contains(names, busybox) {
		t.Fatalf("import of an exported archive: %v, %v", names, err)
	}

	if _, err := e.rt.ImportImage(e.ctx, strings.NewReader("not an archive")); err == nil {
		t.Error("garbage imported")
	}
}

func TestEnsureBuiltin(t *testing.T) {
	e := newTestEnv(t)
	if err := e.rt.client.ImageService().Delete(e.rt.nsctx(e.ctx), busybox, ctrimages.SynchronousDelete()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := images.EnsureBuiltin(e.ctx, e.rt); err != nil {
			t.Fatal(err)
		}
	}
	img, err := e.rt.EnsureImage(e.ctx, images.Builtin, PullNever, nil)
	if err != nil || img.ID != e.image.ID {
		t.Fatalf("builtin image: %+v, %v", img, err)
	}
}

// registryPassword's bcrypt hash (cost 4, for speed) is in the
// registry's htpasswd file.
const (
	registryUser     = "gantry"
	registryPassword = "gantry-secret"
	registryHtpasswd = "gantry:$2b$04$qkNTKzmso5B.3d075Z0p0uKtKBvE9uSy3UqK3kKW0i9aLwUAcLQQe\n"
)

// startRegistry starts Debian's docker-registry on a free loopback port,
// with basic authentication, and returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatal("registry tests need Debian's docker-registry: apt-get install docker-registry")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  htpasswd:
    realm: gantry-test
    path: %s
`, filepath.Join(dir, "data"), addr, filepath.Join(dir, "htpasswd"))
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(registryHtpasswd), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return addr
			}
		}
		select {
		case <-exited:
			t.Fatalf("docker-registry exited: %s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry not serving on %s: %v %s", addr, err, log.String())
		}
	}
}

func TestPullFromRegistry(t *testing.T) {
	e := newTestEnv(t)
	addr := startRegistry(t)
	auth := []runtime.RegistryAuth{{Server: addr, Username: registryUser, Password: registryPassword}}
	ref := addr + "/gantry/busybox:latest"

	ctx := e.rt.nsctx(e.ctx)
	img, err := e.rt.client.GetImage(ctx, busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rt.client.Push(ctx, ref, img.Target(), containerd.WithResolver(newResolver(auth))); err != nil {
		t.Fatalf("push to %s: %v", addr, err)
	}
	// Nothing of the image stays on the node: the pull fetches it all.
	if err := e.rt.client.ImageService().Delete(ctx, busybox, ctrimages.SynchronousDelete()); err != nil {
		t.Fatal(err)
	}

	if _, err := e.rt.EnsureImage(e.ctx, ref, PullNever, auth); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("Never before the pull: %v", err)
	}
	if _, err := e.rt.EnsureImage(e.ctx, ref, PullIfNotPresent, nil); err == nil {
		t.Fatal("pulled without credentials")
	}
	pulled, err := e.rt.EnsureImage(e.ctx, ref, PullIfNotPresent, auth)
	if err != nil {
		t.Fatal(err)
	}
	if pulled.Name != ref || pulled.ID != e.image.ID || !slices.Equal(pulled.Cmd, []string{"sh"}) {
		t.Fatalf("pulled %+v, want the pushed busybox", pulled)
	}
	if again, err := e.rt.EnsureImage(e.ctx, ref, PullAlways, auth); err != nil || again.ID != pulled.ID {
		t.Fatalf("Always: %+v, %v", again, err)
	}

	// It runs.
	sb := e.sandbox("pulled")
	cfg := e.config(sb, "c", "echo", "from the registry")
	cfg.Image = pulled
	id := e.run(sb, cfg)
	if st := e.waitExit(id); st.ExitCode != 0 || st.Image != ref {
		t.Fatalf("container of the pulled image: %+v", st)
	}
	waitLog(t, cfg.LogPath, "stdout from the registry")
}

func TestRegistryHost(t *testing.T) {
	for server, want := range map[string]string{
		"docker.io":                   "registry-1.docker.io",
		"https://index.docker.io/v1/": "registry-1.docker.io",
		"127.0.0.1:5000":              "127.0.0.1:5000",
		"http://localhost:5000":       "localhost:5000",
		"registry.example.com/v2/":    "registry.example.com",
	} {
		if got := registryHost(server); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", server, got, want)
		}
	}
}

// The runtime remembers images it has described and unpacked, but an
// image deleted and imported again (here without unpacking, as another
// tool might) is looked at afresh: it is unpacked again and runs.
func TestImageCacheFollowsRecreatedImages(t *testing.T) {
	e := newTestEnv(t)
	ctx := e.rt.nsctx(e.ctx)
	if _, err := e.rt.EnsureImage(e.ctx, busybox, PullNever, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.client.ImageService().Delete(ctx, busybox, ctrimages.SynchronousDelete()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.EnsureImage(e.ctx, busybox, PullNever, nil); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("deleted image still there: %v", err)
	}
	if _, err := e.rt.client.Import(ctx, bytes.NewReader(busyboxImage(t))); err != nil {
		t.Fatal(err)
	}
	img, err := e.rt.client.GetImage(ctx, busybox)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := img.IsUnpacked(ctx, "overlayfs"); err != nil || ok {
		t.Fatalf("imported image unpacked already (%v, %v): the test shows nothing", ok, err)
	}
	if _, err := e.rt.EnsureImage(e.ctx, busybox, PullNever, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := img.IsUnpacked(ctx, "overlayfs"); err != nil || !ok {
		t.Fatalf("re-imported image not unpacked by EnsureImage: %v, %v", ok, err)
	}
	sb := e.sandbox("cache-pod")
	id := e.run(sb, e.config(sb, "c", "true"))
	if s := e.waitExit(id); s.ExitCode != 0 {
		t.Fatalf("container of the re-imported image: %+v", s)
	}
}
