package fake

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

func TestContainerLifecycle(t *testing.T) {
	type want struct {
		state    runtime.State
		exitCode int
		reason   string
		ranFor   time.Duration // FinishedAt - StartedAt
		events   []runtime.EventType
		timers   int // set after the step
	}
	tests := []struct {
		name        string
		env         []string
		memoryLimit int64
		step        time.Duration // clock advance after start
		want        want
	}{
		{name: "runs until stopped", step: time.Hour, want: want{state: runtime.StateRunning}},
		{name: "exits 0 after a while", env: []string{"FAKE_RUN_FOR=5s"}, step: 5 * time.Second,
			want: want{state: runtime.StateExited, reason: "Completed", ranFor: 5 * time.Second, events: []runtime.EventType{runtime.EventExit}}},
		{name: "still running before its time", env: []string{"FAKE_RUN_FOR=5s"}, step: 4 * time.Second,
			want: want{state: runtime.StateRunning, timers: 1}},
		{name: "exits with a code", env: []string{"FAKE_RUN_FOR=1m", "FAKE_EXIT_CODE=3"}, step: 2 * time.Minute,
			want: want{state: runtime.StateExited, exitCode: 3, reason: "Error", ranFor: time.Minute, events: []runtime.EventType{runtime.EventExit}}},
		{name: "exits at once", env: []string{"FAKE_RUN_FOR=0s", "FAKE_EXIT_CODE=1"},
			want: want{state: runtime.StateExited, exitCode: 1, reason: "Error", events: []runtime.EventType{runtime.EventExit}}},
		{name: "OOM-killed at once", env: []string{"FAKE_OOM=true"},
			want: want{state: runtime.StateExited, exitCode: 137, reason: "OOMKilled", events: []runtime.EventType{runtime.EventOOM, runtime.EventExit}}},
		{name: "OOM-killed later", env: []string{"FAKE_OOM=true", "FAKE_RUN_FOR=10s", "FAKE_EXIT_CODE=0"}, step: 10 * time.Second,
			want: want{state: runtime.StateExited, exitCode: 137, reason: "OOMKilled", ranFor: 10 * time.Second, events: []runtime.EventType{runtime.EventOOM, runtime.EventExit}}},
		{name: "memory over the limit", env: []string{"FAKE_MEMORY=200Mi"}, memoryLimit: 100 << 20,
			want: want{state: runtime.StateExited, exitCode: 137, reason: "OOMKilled", events: []runtime.EventType{runtime.EventOOM, runtime.EventExit}}},
		{name: "memory under the limit", env: []string{"FAKE_MEMORY=50Mi"}, memoryLimit: 100 << 20, step: time.Hour,
			want: want{state: runtime.StateRunning}},
		{name: "memory without a limit", env: []string{"FAKE_MEMORY=50Gi"}, want: want{state: runtime.StateRunning}},
		{name: "last variable wins", env: []string{"FAKE_EXIT_CODE=1", "FAKE_EXIT_CODE=2", "FAKE_RUN_FOR=0s"},
			want: want{state: runtime.StateExited, exitCode: 2, reason: "Error", events: []runtime.EventType{runtime.EventExit}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, clk := newRuntime(t)
			id := startContainer(t, r, "u1", runtime.ContainerConfig{Env: tc.env, Resources: runtime.Resources{MemoryLimit: tc.memoryLimit}})
			clk.Step(tc.step)
			st := status(t, r, id)
			if st.State != tc.want.state || st.ExitCode != tc.want.exitCode || st.Reason != tc.want.reason {
				t.Errorf("status = %s/%d/%q, want %s/%d/%q", st.State, st.ExitCode, st.Reason, tc.want.state, tc.want.exitCode, tc.want.reason)
			}
			if !st.StartedAt.Equal(t0) {
				t.Errorf("StartedAt = %v, want %v", st.StartedAt, t0)
			}
			if st.State == runtime.StateExited {
				if got := st.FinishedAt.Sub(st.StartedAt); got != tc.want.ranFor {
					t.Errorf("ran for %v, want %v", got, tc.want.ranFor)
				}
			}
			evs := nextEvents(t, r, len(tc.want.events))
			for i, ev := range evs {
				if ev.Type != tc.want.events[i] || ev.ContainerID != id || ev.PodUID != "u1" || !ev.Time.Equal(st.FinishedAt) {
					t.Errorf("event %d = %+v, want %s of %s at %v", i, ev, tc.want.events[i], id, st.FinishedAt)
				}
				if ev.Type == runtime.EventExit && ev.ExitCode != tc.want.exitCode {
					t.Errorf("exit event code = %d, want %d", ev.ExitCode, tc.want.exitCode)
				}
			}
			noEvent(t, r)
			if got := clk.Waiters(); got != tc.want.timers {
				t.Errorf("%d timers set, want %d", got, tc.want.timers)
			}
		})
	}
}

func TestStartError(t *testing.T) {
	r, _ := newRuntime(t)
	id := createContainer(t, r, "u1", runtime.ContainerConfig{Env: []string{`FAKE_START_ERROR=exec: "app": executable file not found in $PATH`}})
	err := r.StartContainer(context.Background(), id)
	if !errContains(err, `start container app: exec: "app": executable file not found in $PATH`) {
		t.Fatalf("StartContainer = %v", err)
	}
	st := status(t, r, id)
	if st.State != runtime.StateExited || st.ExitCode != 128 || st.Reason != "Error" || !strings.Contains(st.Message, "executable file not found") {
		t.Errorf("status = %+v", st)
	}
	if err := r.StartContainer(context.Background(), id); !errContains(err, "it is exited, not created") {
		t.Errorf("second start = %v", err)
	}
}

func TestCreateContainerErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		cfg     runtime.ContainerConfig
		sandbox *runtime.Sandbox
		wantErr string
	}{
		{name: "bad duration", cfg: runtime.ContainerConfig{Name: "a", Env: []string{"FAKE_RUN_FOR=soon"}}, wantErr: `create container "a": FAKE_RUN_FOR="soon"`},
		{name: "bad code", cfg: runtime.ContainerConfig{Name: "a", Env: []string{"FAKE_EXIT_CODE=x"}}, wantErr: `FAKE_EXIT_CODE="x"`},
		{name: "bad quantity", cfg: runtime.ContainerConfig{Name: "a", Env: []string{"FAKE_MEMORY=lots"}}, wantErr: `FAKE_MEMORY="lots"`},
		{name: "no sandbox", cfg: runtime.ContainerConfig{Name: "a"}, sandbox: &runtime.Sandbox{PodUID: "nope", Namespace: "ns", Name: "p"},
			wantErr: "sandbox of pod ns/p: not found"},
		{name: "same attempt twice", cfg: runtime.ContainerConfig{Name: "app"}, wantErr: `create container "app": attempt 0 of pod default/pod-u1 already exists`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newRuntime(t)
			createContainer(t, r, "u1", runtime.ContainerConfig{Name: "app"})
			sb := tc.sandbox
			if sb == nil {
				sb = &runtime.Sandbox{PodUID: "u1", Namespace: "default", Name: "pod-u1"}
			}
			_, err := r.CreateContainer(ctx, sb, tc.cfg)
			if !errContains(err, tc.wantErr) {
				t.Errorf("CreateContainer = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestStopContainer(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		grace    time.Duration
		wantCode int
		waits    bool // StopContainer waits for the grace period
	}{
		{name: "exits on SIGTERM", grace: 30 * time.Second, wantCode: 0},
		{name: "exits on SIGTERM with a code", env: []string{"FAKE_STOP_EXIT_CODE=143"}, grace: 30 * time.Second, wantCode: 143},
		{name: "ignores SIGTERM", env: []string{"FAKE_IGNORE_SIGTERM=true"}, grace: 30 * time.Second, wantCode: 137, waits: true},
		{name: "ignores SIGTERM, no grace", env: []string{"FAKE_IGNORE_SIGTERM=true"}, wantCode: 137},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, clk := newRuntime(t)
			id := startContainer(t, r, "u1", runtime.ContainerConfig{Env: tc.env})
			done := make(chan error, 1)
			go func() { done <- r.StopContainer(context.Background(), id, tc.grace) }()
			if tc.waits {
				waitFor(t, func() bool { return clk.Waiters() == 1 })
				if st := status(t, r, id); st.State != runtime.StateRunning {
					t.Fatalf("state during the grace period = %s", st.State)
				}
				clk.Step(tc.grace)
			}
			if err := <-done; err != nil {
				t.Fatalf("StopContainer: %v", err)
			}
			st := status(t, r, id)
			if st.State != runtime.StateExited || st.ExitCode != tc.wantCode {
				t.Errorf("status = %s/%d, want exited/%d", st.State, st.ExitCode, tc.wantCode)
			}
			if want := t0.Add(tc.grace); tc.waits && !st.FinishedAt.Equal(want) {
				t.Errorf("FinishedAt = %v, want %v", st.FinishedAt, want)
			}
			if ev := nextEvents(t, r, 1)[0]; ev.Type != runtime.EventExit || ev.ExitCode != tc.wantCode {
				t.Errorf("event = %+v", ev)
			}
			if err := r.StopContainer(context.Background(), id, tc.grace); err != nil {
				t.Errorf("stopping again: %v", err)
			}
			noEvent(t, r)
		})
	}
}

func TestStopWhileWaitingExitsOnItsOwn(t *testing.T) {
	r, clk := newRuntime(t)
	id := startContainer(t, r, "u1", runtime.ContainerConfig{Env: []string{"FAKE_IGNORE_SIGTERM=true", "FAKE_RUN_FOR=10s"}})
	done := make(chan error, 1)
	go func() { done <- r.StopContainer(context.Background(), id, time.Minute) }()
	waitFor(t, func() bool { return clk.Waiters() == 2 }) // its exit, and the kill
	clk.Step(10 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := status(t, r, id); st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("status = %+v, want its own exit", st)
	}
	if evs := nextEvents(t, r, 1); evs[0].ExitCode != 0 {
		t.Errorf("events = %+v", evs)
	}
	noEvent(t, r)
}

func TestStopCancels(t *testing.T) {
	r, _ := newRuntime(t)
	id := startContainer(t, r, "u1", runtime.ContainerConfig{Env: []string{"FAKE_IGNORE_SIGTERM=true"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.StopContainer(ctx, id, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("StopContainer = %v, want context.Canceled", err)
	}
}

func TestExitAndOOMKill(t *testing.T) {
	r, clk := newRuntime(t)
	a := startContainer(t, r, "u1", runtime.ContainerConfig{Name: "a", Env: []string{"FAKE_RUN_FOR=1h"}})
	b := startContainer(t, r, "u1", runtime.ContainerConfig{Name: "b"})
	clk.Step(time.Minute)
	if err := r.Exit(a, 2); err != nil {
		t.Fatal(err)
	}
	if err := r.OOMKill(b); err != nil {
		t.Fatal(err)
	}
	evs := nextEvents(t, r, 3)
	if evs[0].ContainerID != a || evs[0].ExitCode != 2 || evs[1].Type != runtime.EventOOM || evs[2].ContainerID != b || evs[2].ExitCode != 137 {
		t.Errorf("events = %+v", evs)
	}
	if clk.Waiters() != 0 {
		t.Errorf("the exit timer of %s is still set", a)
	}
	clk.Step(time.Hour)
	noEvent(t, r)
	if st := status(t, r, a); st.ExitCode != 2 || !st.FinishedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("a = %+v", st)
	}
	if err := r.Exit(a, 1); !errContains(err, "a is exited, not running") {
		t.Errorf("Exit of an exited container = %v", err)
	}
}

func TestRemoveContainer(t *testing.T) {
	ctx := context.Background()
	r, _ := newRuntime(t)
	id := startContainer(t, r, "u1", runtime.ContainerConfig{})
	if err := r.RemoveContainer(ctx, id); !errContains(err, "it is running; stop it first") {
		t.Errorf("removing a running container = %v", err)
	}
	if err := r.StopContainer(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ContainerStatus(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("ContainerStatus after remove = %v, want ErrNotFound", err)
	}
	if err := r.RemoveContainer(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("removing again = %v, want ErrNotFound", err)
	}
}

func TestListContainersAndLabels(t *testing.T) {
	r, clk := newRuntime(t)
	a := createContainer(t, r, "u1", runtime.ContainerConfig{Name: "init", Init: true, Labels: map[string]string{"x": "y"}})
	clk.Step(time.Second)
	b := createContainer(t, r, "u1", runtime.ContainerConfig{Name: "app", Attempt: 2})
	list, err := r.ListContainers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != a || list[1].ID != b {
		t.Fatalf("ListContainers = %+v", list)
	}
	wantLabels := map[string]string{
		"x": "y", runtime.LabelPodUID: "u1", runtime.LabelPodNamespace: "default", runtime.LabelPodName: "pod-u1",
		runtime.LabelContainerName: "init", runtime.LabelAttempt: "0", runtime.LabelInit: "true",
	}
	for k, v := range wantLabels {
		if list[0].Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, list[0].Labels[k], v)
		}
	}
	if list[1].Labels[runtime.LabelAttempt] != "2" || list[1].Labels[runtime.LabelInit] != "" || !list[1].CreatedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("app = %+v", list[1])
	}
	list[0].Labels["x"] = "changed"
	if st := status(t, r, a); st.Labels["x"] != "y" {
		t.Errorf("a caller's change reached the runtime")
	}
}

func TestExec(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		cmd      []string
		stdin    string
		wantOut  string
		wantCode int
		wantErr  string
	}{
		{name: "default", cmd: []string{"true"}},
		{name: "echo", cmd: []string{"echo", "hello", "world"}, wantOut: "hello world\n"},
		{name: "cat", cmd: []string{"cat"}, stdin: "from stdin", wantOut: "from stdin"},
		{name: "configured", env: []string{"FAKE_EXEC_OUTPUT=ok", "FAKE_EXEC_EXIT_CODE=1"}, cmd: []string{"check"}, wantOut: "ok", wantCode: 1},
		{name: "exit code only", env: []string{"FAKE_EXEC_EXIT_CODE=7"}, cmd: []string{"echo", "x"}, wantOut: "x\n", wantCode: 7},
		{name: "no command", cmd: nil, wantErr: "no command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newRuntime(t)
			id := startContainer(t, r, "u1", runtime.ContainerConfig{Env: tc.env})
			var out strings.Builder
			code, err := r.Exec(context.Background(), id, runtime.ExecConfig{Cmd: tc.cmd, Stdin: strings.NewReader(tc.stdin), Stdout: &out})
			if !errContains(err, tc.wantErr) || code != tc.wantCode || out.String() != tc.wantOut {
				t.Errorf("Exec = %d, %v, output %q; want %d, %q, output %q", code, err, out.String(), tc.wantCode, tc.wantErr, tc.wantOut)
			}
		})
	}
}

func TestExecHookAndStopped(t *testing.T) {
	ctx := context.Background()
	r := New(Config{Exec: func(_ context.Context, c runtime.ContainerStatus, cfg runtime.ExecConfig) (int, error) {
		return len(cfg.Cmd), nil
	}})
	defer r.Close()
	id := startContainer(t, r, "u1", runtime.ContainerConfig{})
	if code, err := r.Exec(ctx, id, runtime.ExecConfig{Cmd: []string{"a", "b", "c"}}); code != 3 || err != nil {
		t.Errorf("Exec through the hook = %d, %v", code, err)
	}
	if err := r.StopContainer(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Exec(ctx, id, runtime.ExecConfig{Cmd: []string{"a"}}); !errContains(err, "it is exited, not running") {
		t.Errorf("Exec in a stopped container = %v", err)
	}
}

func TestStats(t *testing.T) {
	r, clk := newRuntime(t)
	id := startContainer(t, r, "u1", runtime.ContainerConfig{Env: []string{"FAKE_MEMORY=64Mi", "FAKE_CPU=250m", "FAKE_RUN_FOR=20s"}})
	clk.Step(10 * time.Second)
	st, err := r.Stats(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryWorkingSet != 64<<20 || st.CPUUsageNanos != uint64(2500*time.Millisecond) || st.PidsCurrent != 1 {
		t.Errorf("running stats = %+v", st)
	}
	clk.Step(time.Minute)
	st, _ = r.Stats(context.Background(), id)
	if st.MemoryWorkingSet != 0 || st.CPUUsageNanos != uint64(5*time.Second) {
		t.Errorf("stats after exit = %+v", st)
	}
}

func TestLogFile(t *testing.T) {
	r, _ := newRuntime(t)
	path := t.TempDir() + "/logs/app/0.log"
	startContainer(t, r, "u1", runtime.ContainerConfig{LogPath: path, Env: []string{`FAKE_LOG=hello\nworld`}})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-01-02T03:04:05Z stdout F hello\n2026-01-02T03:04:05Z stdout F world\n"
	if string(b) != want {
		t.Errorf("log = %q, want %q", b, want)
	}
}

func TestClose(t *testing.T) {
	r, clk := newRuntime(t)
	startContainer(t, r, "u1", runtime.ContainerConfig{Env: []string{"FAKE_RUN_FOR=1s"}})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if clk.Waiters() != 0 {
		t.Errorf("Close left %d timers", clk.Waiters())
	}
	if _, ok := <-r.Events(); ok {
		t.Errorf("Events is open after Close")
	}
	if _, err := r.CreateSandbox(context.Background(), runtime.SandboxConfig{PodUID: "u2"}); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateSandbox after Close = %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}
