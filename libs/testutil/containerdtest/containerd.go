package containerdtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Containerd is a private containerd started for one test.
type Containerd struct {
	// Address is the path of its gRPC socket.
	Address string
	// Namespace is a containerd namespace of this instance's own.
	Namespace string
	// RuncRoot is the runc state directory its containers should use
	// (runc options Root).
	RuncRoot string
	// Dir is the temporary directory holding everything; StateDir is a
	// directory in it free for the test's own state (the agent's).
	Dir      string
	StateDir string
	// Root and State are containerd's directories.
	Root, State string
	// PID of the containerd process.
	PID int

	config  string
	logFile string
	holder  *forkThread
}

// StartContainerd starts a containerd for t and stops it, with everything
// it started, when t ends.
func StartContainerd(t testing.TB) *Containerd {
	t.Helper()
	c, err := startContainerd()
	if c != nil {
		t.Cleanup(func() {
			if err := c.stop(); err != nil {
				t.Errorf("containerdtest: clean up containerd: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("containerdtest: %v", err)
	}
	return c
}

// Launch starts a containerd outside of a test (for a TestMain sharing
// one among tests); Close takes it down. On error nothing is left behind.
func Launch() (*Containerd, error) {
	c, err := startContainerd()
	if err != nil && c != nil {
		c.stop()
		return nil, err
	}
	return c, err
}

// Close stops what Launch started and removes its directory.
func (c *Containerd) Close() error { return c.stop() }

// Restart stops containerd (leaving its tasks running, as a crash or an
// upgrade would) and starts it again on the same directories.
func (c *Containerd) Restart(t testing.TB) {
	t.Helper()
	if err := c.stopDaemon(); err != nil {
		t.Fatalf("containerdtest: stop containerd: %v", err)
	}
	if err := c.startDaemon(); err != nil {
		t.Fatalf("containerdtest: restart containerd: %v", err)
	}
}

// Log returns what containerd has logged so far.
func (c *Containerd) Log() string {
	b, _ := os.ReadFile(c.logFile)
	return string(b)
}

func startContainerd() (*Containerd, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("containerd tests need root")
	}
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return nil, fmt.Errorf("containerd not installed (apt-get install containerd): %w", err)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return nil, fmt.Errorf("runc not installed (apt-get install runc): %w", err)
	}
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "gantry-ctrd-")
	if err != nil {
		return nil, err
	}
	c := &Containerd{
		Dir:       dir,
		Address:   filepath.Join(dir, "containerd.sock"),
		Namespace: "gantry-test-" + randomHex(4),
		RuncRoot:  filepath.Join(dir, "runc"),
		StateDir:  filepath.Join(dir, "agent"),
		Root:      filepath.Join(dir, "root"),
		State:     filepath.Join(dir, "state"),
		config:    filepath.Join(dir, "config.toml"),
		logFile:   filepath.Join(dir, "containerd.log"),
	}
	for _, d := range []string{c.RuncRoot, c.StateDir, c.Root, c.State} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return c, err
		}
	}
	if err := os.WriteFile(c.config, []byte(c.configTOML()), 0o644); err != nil {
		return c, err
	}
	c.holder = newForkThread()
	if err := c.startDaemonWith(bin); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Containerd) configTOML() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = %q
`, c.Root, c.State, c.Address, c.Address+".ttrpc", filepath.Join(c.Dir, "opt"), c.RuncRoot)
}

func (c *Containerd) startDaemon() error {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return err
	}
	return c.startDaemonWith(bin)
}

func (c *Containerd) startDaemonWith(bin string) error {
	logf, err := os.OpenFile(c.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--config", c.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = c.Dir
	// Killed with the test process should it die without cleaning up.
	// The signal is tied to the forking thread, which forkThread keeps
	// alive until the test ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.holder.start(cmd); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	c.PID = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c.holder.exited = exited

	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("unix", c.Address, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case err := <-exited:
			c.PID = 0
			return fmt.Errorf("containerd exited (%v); its log:\n%s", err, tail(c.Log(), 40))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not listen on %s within 20s; its log:\n%s", c.Address, tail(c.Log(), 40))
		}
	}
}

// forkThread starts processes from one locked OS thread that lives until
// the test ends: Pdeathsig fires when the forking thread exits, and Go
// ends threads that other code locked and left (as namespace code does).
type forkThread struct {
	reqs   chan forkReq
	exited chan error
}

type forkReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func newForkThread() *forkThread {
	f := &forkThread{reqs: make(chan forkReq)}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for r := range f.reqs {
			r.errc <- r.cmd.Start()
		}
	}()
	return f
}

func (f *forkThread) start(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	f.reqs <- forkReq{cmd, errc}
	return <-errc
}

func (f *forkThread) close() { close(f.reqs) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
