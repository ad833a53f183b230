package containerd

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/log"

	"github.com/gantry-dev/gantry/libs/testutil/containerdtest"
	"github.com/gantry-dev/gantry/services/agent/internal/images"
	"github.com/gantry-dev/gantry/services/agent/internal/logger"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// TestMain doubles as the log writer: containerd's shim runs this test
// binary as "<binary> logger <options>", as it runs the agent's.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == logger.Subcommand {
		os.Exit(logger.Main(os.Args[2:]))
	}
	// containerd's client logs failed registry requests at info level.
	log.SetLevel("warn")
	os.Exit(m.Run())
}

const busybox = images.Builtin

// testEnv is a private containerd, a Runtime on it with the busybox
// image, and a cgroup parent of the test's own.
type testEnv struct {
	t      *testing.T
	ctx    context.Context
	ctrd   *containerdtest.Containerd
	rt     *Runtime
	cgroup string
	image  runtime.Image
}

var (
	busyboxOnce    sync.Once
	busyboxArchive []byte
	busyboxErr     error
)

func busyboxImage(t *testing.T) []byte {
	t.Helper()
	busyboxOnce.Do(func() {
		var buf bytes.Buffer
		busyboxErr = images.BuildBusybox(&buf)
		busyboxArchive = buf.Bytes()
	})
	if busyboxErr != nil {
		t.Fatal(busyboxErr)
	}
	return busyboxArchive
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	// Registered first, so removed last: after the containers.
	cgroup := containerdtest.CgroupParent(t)
	ctrd := containerdtest.StartContainerd(t)
	e := &testEnv{t: t, ctx: ctx, ctrd: ctrd, cgroup: cgroup}
	e.rt = e.newRuntime()
	if _, err := e.rt.ImportImage(ctx, bytes.NewReader(busyboxImage(t))); err != nil {
		t.Fatal(err)
	}
	img, err := e.rt.EnsureImage(ctx, busybox, PullNever, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.image = img
	return e
}

// newRuntime returns another Runtime on the same containerd and state.
func (e *testEnv) newRuntime() *Runtime {
	e.t.Helper()
	rt, err := New(e.ctx, Config{
		Address:   e.ctrd.Address,
		Namespace: e.ctrd.Namespace,
		StateDir:  e.ctrd.StateDir,
		RuncRoot:  e.ctrd.RuncRoot,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { rt.Close() })
	return rt
}

func (e *testEnv) sandbox(uid string) *runtime.Sandbox {
	e.t.Helper()
	sb, err := e.rt.CreateSandbox(e.ctx, runtime.SandboxConfig{PodUID: uid, Namespace: "default", Name: "pod-" + uid, Hostname: "pod-" + uid})
	if err != nil {
		e.t.Fatal(err)
	}
	return sb
}

// config returns a container config running cmd in busybox, logging to
// the pod's directory.
func (e *testEnv) config(sb *runtime.Sandbox, name string, cmd ...string) runtime.ContainerConfig {
	return runtime.ContainerConfig{
		Name:      name,
		Image:     e.image,
		Command:   cmd,
		LogPath:   filepath.Join(sb.Dir, "logs", name, "0.log"),
		Resources: runtime.Resources{CgroupParent: e.cgroup + "/pod" + sb.PodUID},
	}
}

// run creates and starts a container.
func (e *testEnv) run(sb *runtime.Sandbox, cfg runtime.ContainerConfig) string {
	e.t.Helper()
	id, err := e.rt.CreateContainer(e.ctx, sb, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.rt.StartContainer(e.ctx, id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// waitExit polls the container's status until it has exited.
func (e *testEnv) waitExit(id string) runtime.ContainerStatus {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := e.rt.ContainerStatus(e.ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if st.State == runtime.StateExited {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s (%s) still %s", id, st.Name, st.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exec runs cmd in a container and returns its exit code and output.
func (e *testEnv) exec(id string, cmd ...string) (int, string, string) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	code, err := e.rt.Exec(e.ctx, id, runtime.ExecConfig{Cmd: cmd, Stdout: &out, Stderr: &errOut, Timeout: 30 * time.Second})
	if err != nil {
		e.t.Fatalf("exec %q: %v", cmd, err)
	}
	return code, out.String(), errOut.String()
}

var logLine = regexp.MustCompile(`^(\S+) (stdout|stderr) ([FP]) (.*)$`)

// logLines reads a CRI log file as "stream text" strings.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := logLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("%s: not a CRI log line: %q", path, sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Fatalf("%s: bad time in %q", path, sc.Text())
		}
		out = append(out, m[2]+" "+m[4])
	}
	return out
}

// waitLog polls a log file until it holds every one of want.
func waitLog(t *testing.T, path string, want ...string) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines := logLines(t, path)
		missing := false
		for _, w := range want {
			found := false
			for _, l := range lines {
				if l == w {
					found = true
				}
			}
			missing = missing || !found
		}
		if !missing {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("log %s lacks %q; has %q", path, want, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func trim(s string) string { return strings.TrimSpace(s) }
