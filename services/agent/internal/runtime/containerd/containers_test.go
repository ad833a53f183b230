package containerd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

func TestRunToCompletion(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("run")

	cfg := e.config(sb, "echo", "sh", "-c", "echo hello; echo oops >&2; exit 3")
	cfg.Attempt = 2
	cfg.Init = true
	cfg.Labels = map[string]string{"app": "demo"}
	before := time.Now()
	id := e.run(sb, cfg)
	st := e.waitExit(id)
	if st.ExitCode != 3 || st.Reason != ReasonError {
		t.Fatalf("exit %d (%s), want 3 (Error)", st.ExitCode, st.Reason)
	}
	if st.PodUID != "run" || st.Name != "echo" || st.Attempt != 2 || !st.Init || st.Image != busybox || st.ImageID != e.image.ID {
		t.Errorf("status does not describe the container: %+v", st)
	}
	if st.StartedAt.Before(before) || st.FinishedAt.Before(st.StartedAt) || st.CreatedAt.IsZero() {
		t.Errorf("times: created %v started %v finished %v", st.CreatedAt, st.StartedAt, st.FinishedAt)
	}
	if st.Labels["app"] != "demo" || st.Labels[runtime.LabelPodName] != "pod-run" || st.Labels[runtime.LabelInit] != "true" {
		t.Errorf("labels: %v", st.Labels)
	}
	for k := range st.Labels {
		if strings.HasPrefix(k, internalPrefix) {
			t.Errorf("internal label %s reported", k)
		}
	}
	if st.LogPath != cfg.LogPath {
		t.Errorf("log path %q, want %q", st.LogPath, cfg.LogPath)
	}
	waitLog(t, cfg.LogPath, "stdout hello", "stderr oops")

	ok := e.run(sb, e.config(sb, "true", "true"))
	if st := e.waitExit(ok); st.ExitCode != 0 || st.Reason != ReasonCompleted {
		t.Fatalf("true: exit %d (%s), want 0 (Completed)", st.ExitCode, st.Reason)
	}

	// A container runs once.
	if err := e.rt.StartContainer(e.ctx, id); err == nil {
		t.Error("an exited container started again")
	}

	list, err := e.rt.ListContainers(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("listed %d containers, want 2", len(list))
	}
	for _, c := range []string{id, ok} {
		if err := e.rt.RemoveContainer(e.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.rt.ContainerStatus(e.ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("status of a removed container: %v, want ErrNotFound", err)
	}
	if err := e.rt.RemoveContainer(e.ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("removing a removed container: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(cfg.LogPath); err != nil {
		t.Errorf("log removed with the container: %v", err)
	}
}

func TestExitEvents(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("events")
	id := e.run(sb, e.config(sb, "exit", "sh", "-c", "exit 5"))
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-e.rt.Events():
			if ev.ContainerID != id {
				continue
			}
			if ev.Type != runtime.EventExit || ev.PodUID != "events" || ev.ExitCode != 5 || ev.Time.IsZero() {
				t.Fatalf("event %+v", ev)
			}
			// The exit is recorded before the event is sent.
			st, err := e.rt.ContainerStatus(e.ctx, id)
			if err != nil || st.State != runtime.StateExited || st.ExitCode != 5 {
				t.Fatalf("status after the event: %+v, %v", st, err)
			}
			return
		case <-timeout:
			t.Fatal("no exit event")
		}
	}
}

func TestStartFailure(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("fail")
	id, err := e.rt.CreateContainer(e.ctx, sb, e.config(sb, "missing", "/no/such/binary"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rt.StartContainer(e.ctx, id); err == nil {
		t.Fatal("started a container without its binary")
	}
	st, err := e.rt.ContainerStatus(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateExited || st.ExitCode != 128 || st.Reason != ReasonStartError || !strings.Contains(st.Message, "no such file") {
		t.Fatalf("status %+v, want exited 128 StartError", st)
	}
}

func TestLogRotation(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("rotate")
	cfg := e.config(sb, "chatty", "sh", "-c", `i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done`)
	cfg.LogMaxBytes = 2000
	cfg.LogMaxFiles = 3
	id := e.run(sb, cfg)
	e.waitExit(id)
	waitLog(t, cfg.LogPath, "stdout line 199")
	for _, p := range []string{cfg.LogPath, cfg.LogPath + ".1", cfg.LogPath + ".2"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > cfg.LogMaxBytes {
			t.Errorf("%s: %d bytes, over %d", p, st.Size(), cfg.LogMaxBytes)
		}
	}
	if _, err := os.Stat(cfg.LogPath + ".3"); !os.IsNotExist(err) {
		t.Errorf("a fourth file kept: %v", err)
	}
}

func TestPodNetworkShared(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("net")
	if !isNamespaceFile(sb.NetNS) {
		t.Fatalf("%s is not a namespace", sb.NetNS)
	}
	server := e.run(sb, e.config(sb, "server", "sh", "-c", "echo served > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"))
	clientCfg := e.config(sb, "client", "sh", "-c",
		"i=0; while [ $i -lt 100 ]; do timeout 5 wget -q -O- http://127.0.0.1:8080/index.html && exit 0; i=$((i+1)); sleep 0.1; done; exit 1")
	client := e.run(sb, clientCfg)
	if st := e.waitExit(client); st.ExitCode != 0 {
		t.Fatalf("client exited %d: %q", st.ExitCode, logLines(t, clientCfg.LogPath))
	}
	waitLog(t, clientCfg.LogPath, "stdout served")

	// Another pod has a network of its own: nothing listens there.
	other := e.sandbox("net-other")
	probeCfg := e.config(other, "probe", "sh", "-c", "timeout 5 wget -q -O- http://127.0.0.1:8080/index.html")
	probe := e.run(other, probeCfg)
	if st := e.waitExit(probe); st.ExitCode == 0 {
		t.Fatal("a container of another pod reached the server on localhost")
	}
	if err := e.rt.StopContainer(e.ctx, server, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestIPCAndUTS(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("ipc")
	a := e.run(sb, e.config(sb, "a", "sleep", "300"))
	b := e.run(sb, e.config(sb, "b", "sleep", "300"))
	_, nsA, _ := e.exec(a, "readlink", "/proc/self/ns/ipc")
	_, nsB, _ := e.exec(b, "readlink", "/proc/self/ns/ipc")
	// The host's: containerd's (this process's main thread may have
	// served a namespace's creation, and stays there).
	host, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/ipc", e.ctrd.PID))
	if err != nil {
		t.Fatal(err)
	}
	if trim(nsA) == "" || trim(nsA) != trim(nsB) || trim(nsA) == host {
		t.Fatalf("IPC namespaces: a %q, b %q, host %q", nsA, nsB, host)
	}
	if code, _, errOut := e.exec(a, "sh", "-c", "echo shared > /dev/shm/x"); code != 0 {
		t.Fatalf("write /dev/shm: %d %s", code, errOut)
	}
	if _, out, _ := e.exec(b, "cat", "/dev/shm/x"); trim(out) != "shared" {
		t.Fatalf("/dev/shm not shared: %q", out)
	}
	if _, out, _ := e.exec(a, "hostname"); trim(out) != "pod-ipc" {
		t.Fatalf("hostname %q, want pod-ipc", out)
	}
	if _, out, _ := e.exec(a, "sh", "-c", "echo $HOSTNAME"); trim(out) != "pod-ipc" {
		t.Fatalf("HOSTNAME %q, want pod-ipc", out)
	}
	// Each container has its own PID namespace.
	if _, out, _ := e.exec(a, "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "sleep") {
		t.Fatalf("pid 1 of a is %q", out)
	}
}

func TestStopContainer(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("stop")

	politeCfg := e.config(sb, "polite", "sh", "-c", `trap "echo got TERM; exit 0" TERM; echo ready; while true; do sleep 0.1; done`)
	polite := e.run(sb, politeCfg)
	waitLog(t, politeCfg.LogPath, "stdout ready")
	start := time.Now()
	if err := e.rt.StopContainer(e.ctx, polite, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopping a container that exits on TERM took %v", took)
	}
	st, err := e.rt.ContainerStatus(e.ctx, polite)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateExited || st.ExitCode != 0 {
		t.Fatalf("polite: %+v", st)
	}
	waitLog(t, politeCfg.LogPath, "stdout got TERM")

	stubbornCfg := e.config(sb, "stubborn", "sh", "-c", `trap "" TERM; echo ready; while true; do sleep 0.1; done`)
	stubborn := e.run(sb, stubbornCfg)
	waitLog(t, stubbornCfg.LogPath, "stdout ready")
	start = time.Now()
	if err := e.rt.StopContainer(e.ctx, stubborn, time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("killed after %v, before the grace period", took)
	}
	st, err = e.rt.ContainerStatus(e.ctx, stubborn)
	if err != nil {
		t.Fatal(err)
	}
	if st.ExitCode != 137 || st.Reason != ReasonError {
		t.Fatalf("stubborn: exit %d (%s), want 137 (Error)", st.ExitCode, st.Reason)
	}

	// Stopping what is not running is fine; removing what runs is not.
	if err := e.rt.StopContainer(e.ctx, stubborn, time.Second); err != nil {
		t.Fatal(err)
	}
	running := e.run(sb, e.config(sb, "running", "sleep", "300"))
	if err := e.rt.RemoveContainer(e.ctx, running); err == nil {
		t.Fatal("removed a running container")
	}
	if err := e.rt.StopContainer(e.ctx, running, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.RemoveContainer(e.ctx, running); err != nil {
		t.Fatal(err)
	}

	// Each exit was reported once, whoever recorded it; a last container
	// exiting marks the end of what was sent.
	marker := e.run(sb, e.config(sb, "marker", "true"))
	exits := map[string]int{}
	timeout := time.After(30 * time.Second)
	for exits[marker] == 0 {
		select {
		case ev := <-e.rt.Events():
			if ev.Type == runtime.EventExit {
				exits[ev.ContainerID]++
			}
		case <-timeout:
			t.Fatalf("no exit event for the marker; got %v", exits)
		}
	}
	for name, id := range map[string]string{"polite": polite, "stubborn": stubborn, "running": running} {
		if exits[id] != 1 {
			t.Errorf("%s: %d exit events, want 1", name, exits[id])
		}
	}
}

func TestOOMKilled(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("oom")
	cfg := e.config(sb, "hog", "sh", "-c", "echo start; x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived")
	cfg.Resources.MemoryLimit = 32 << 20
	id := e.run(sb, cfg)
	st := e.waitExit(id)
	if st.ExitCode != 137 || st.Reason != ReasonOOMKilled {
		t.Fatalf("exit %d (%s), want 137 (OOMKilled); log %q", st.ExitCode, st.Reason, logLines(t, cfg.LogPath))
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-e.rt.Events():
			if ev.ContainerID == id && ev.Type == runtime.EventOOM {
				if ev.PodUID != "oom" {
					t.Fatalf("OOM event %+v", ev)
				}
				return
			}
		case <-timeout:
			t.Fatal("no OOM event")
		}
	}
}

func TestCgroupLimits(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("limits")
	cfg := e.config(sb, "limited", "sleep", "300")
	cfg.Resources.CPUShares = 512
	cfg.Resources.CPUQuota = 50000
	cfg.Resources.CPUPeriod = 100000
	cfg.Resources.MemoryLimit = 64 << 20
	cfg.Resources.PidsLimit = 42
	id := e.run(sb, cfg)
	dir := func(ctrl string) string { return filepath.Join("/sys/fs/cgroup", ctrl, cfg.Resources.CgroupParent, id) }
	for file, want := range map[string]string{
		filepath.Join(dir("cpu"), "cpu.shares"):               "512",
		filepath.Join(dir("cpu"), "cpu.cfs_quota_us"):         "50000",
		filepath.Join(dir("cpu"), "cpu.cfs_period_us"):        "100000",
		filepath.Join(dir("memory"), "memory.limit_in_bytes"): fmt.Sprint(64 << 20),
		filepath.Join(dir("pids"), "pids.max"):                "42",
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Error(err)
			continue
		}
		if trim(string(b)) != want {
			t.Errorf("%s = %s, want %s", file, trim(string(b)), want)
		}
	}
}

func TestSecurityContext(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("sec")
	capEff := func(id string) string {
		t.Helper()
		_, out, _ := e.exec(id, "sh", "-c", "grep CapEff /proc/self/status")
		return strings.Fields(out)[1]
	}

	uid, gid := int64(65534), int64(1234)
	cfg := e.config(sb, "nobody", "sleep", "300")
	cfg.RunAsUser, cfg.RunAsGroup = &uid, &gid
	cfg.SupplementalGroups = []int64{5000}
	cfg.ReadOnlyRootfs = true
	cfg.NoNewPrivileges = true
	cfg.CapDrop = []string{"ALL"}
	cfg.CapAdd = []string{"NET_BIND_SERVICE"}
	restricted := e.run(sb, cfg)
	if _, out, _ := e.exec(restricted, "id", "-u"); trim(out) != "65534" {
		t.Errorf("uid %q", out)
	}
	if _, out, _ := e.exec(restricted, "id", "-g"); trim(out) != "1234" {
		t.Errorf("gid %q", out)
	}
	if _, out, _ := e.exec(restricted, "id", "-G"); !slices.Contains(strings.Fields(out), "5000") {
		t.Errorf("groups %q lack 5000", out)
	}
	if code, _, _ := e.exec(restricted, "touch", "/file"); code == 0 {
		t.Error("wrote to a read-only root")
	}
	if _, out, _ := e.exec(restricted, "sh", "-c", "grep NoNewPrivs /proc/self/status"); !strings.HasSuffix(trim(out), "1") {
		t.Errorf("NoNewPrivs: %q", out)
	}
	// CAP_NET_BIND_SERVICE is bit 10; a non-root user has no effective
	// capabilities, but the bounding set shows what was granted.
	if _, out, _ := e.exec(restricted, "sh", "-c", "grep CapBnd /proc/self/status"); strings.Fields(out)[1] != "0000000000000400" {
		t.Errorf("bounding set %q, want only NET_BIND_SERVICE", out)
	}

	plain := e.run(sb, e.config(sb, "plain", "sleep", "300"))
	if _, out, _ := e.exec(plain, "id", "-u"); trim(out) != "0" {
		t.Errorf("default uid %q", out)
	}
	if got := capEff(plain); got != "00000000a80425fb" {
		t.Errorf("default capabilities %s, want Docker's a80425fb", got)
	}
	if _, out, _ := e.exec(plain, "sh", "-c", "grep NoNewPrivs /proc/self/status"); !strings.HasSuffix(trim(out), "0") {
		t.Errorf("NoNewPrivs by default: %q", out)
	}

	privCfg := e.config(sb, "privileged", "sleep", "300")
	privCfg.Privileged = true
	priv := e.run(sb, privCfg)
	if got := capEff(priv); !strings.HasPrefix(got, "000001ff") && !strings.HasPrefix(got, "000000ff") && !strings.HasPrefix(got, "0000003f") {
		t.Errorf("privileged capabilities %s", got)
	}
	if code, _, errOut := e.exec(priv, "ls", "/dev/kmsg"); code != 0 {
		t.Errorf("privileged container lacks host devices: %s", errOut)
	}
}

func TestHostNetwork(t *testing.T) {
	e := newTestEnv(t)
	sb, err := e.rt.CreateSandbox(e.ctx, runtime.SandboxConfig{PodUID: "host", Namespace: "kube-system", Name: "hostnet", HostNetwork: true, HostIPC: true})
	if err != nil {
		t.Fatal(err)
	}
	if sb.NetNS != "" || sb.IPCNS != "" {
		t.Fatalf("host namespaces have files: %+v", sb)
	}
	id := e.run(sb, e.config(sb, "c", "sleep", "300"))
	host, _ := os.Hostname()
	if _, out, _ := e.exec(id, "hostname"); trim(out) != host {
		t.Errorf("hostname %q, want the host's %q", out, host)
	}
	hostNet, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", e.ctrd.PID))
	if _, out, _ := e.exec(id, "readlink", "/proc/self/ns/net"); trim(out) != hostNet {
		t.Errorf("net namespace %q, want the host's %q", out, hostNet)
	}
}

func TestTTYContainer(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("tty")
	cfg := e.config(sb, "term", "sh", "-c", "tty; echo $TERM")
	cfg.TTY = true
	id := e.run(sb, cfg)
	if st := e.waitExit(id); st.ExitCode != 0 {
		t.Fatalf("exit %d", st.ExitCode)
	}
	// (A terminal ends lines with \r\n; logLines' scanner drops the \r.)
	waitLog(t, cfg.LogPath, "stdout /dev/pts/0", "stdout xterm")
}
