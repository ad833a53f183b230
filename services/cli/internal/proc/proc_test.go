package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParsePID(t *testing.T) {
	for in, want := range map[string]int{"123\n": 123, " 7 ": 7} {
		if got, err := ParsePID([]byte(in)); err != nil || got != want {
			t.Errorf("ParsePID(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "0", "-5", "+5", "12 13", "1.5"} {
		if got, err := ParsePID([]byte(in)); err == nil {
			t.Errorf("ParsePID(%q) = %d, want an error", in, got)
		}
	}
}

func TestSameBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "gantry-store")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		exe, want string
		same      bool
	}{
		{bin, bin, true},
		{bin + " (deleted)", bin, true}, // rebuilt while running
		{bin, link, true},               // the expected path is a symlink
		{bin, filepath.Join(dir, "gantry-store2"), false},
		{"/usr/bin/sleep", bin, false},
		{"", bin, false},
		{bin, "", false},
	}
	for _, tt := range tests {
		if got := SameBinary(tt.exe, tt.want); got != tt.same {
			t.Errorf("SameBinary(%q, %q) = %v, want %v", tt.exe, tt.want, got, tt.same)
		}
	}
}

func TestStatState(t *testing.T) {
	for in, want := range map[string]byte{
		"42 (sleep) S 1 2":          'S',
		"42 (a) b) (c) Z 1":         'Z',
		"42 (gantry-store) R 1 1 1": 'R',
	} {
		if got, ok := statState([]byte(in)); !ok || got != want {
			t.Errorf("statState(%q) = %c, %v; want %c", in, got, ok, want)
		}
	}
	if _, ok := statState([]byte("42 (x")); ok {
		t.Error("statState of a truncated line succeeded")
	}
}

func TestLastLines(t *testing.T) {
	data := []byte("a\nb\nc\nd\n")
	if got := lastLines(data, 2, false); !slices.Equal(got, []string{"c", "d"}) {
		t.Errorf("lastLines = %q", got)
	}
	if got := lastLines(data, 10, true); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("lastLines(cut) = %q", got)
	}
	if got := lastLines(nil, 3, false); got != nil {
		t.Errorf("lastLines(nil) = %q", got)
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	var b strings.Builder
	for i := range 100000 { // larger than Tail's window
		b.WriteString(strconv.Itoa(i) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Tail(path, 3)
	if err != nil || !slices.Equal(got, []string{"99997", "99998", "99999"}) {
		t.Errorf("Tail = %q, %v", got, err)
	}
}

// sleepBinary is a real binary to run as a daemon.
func sleepBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p
}

func TestStartCheckStop(t *testing.T) {
	bin := sleepBinary(t)
	dir := t.TempDir()
	logFile, pidFile := filepath.Join(dir, "d.log"), filepath.Join(dir, "d.pid")
	p, err := Start(bin, []string{"300"}, logFile, pidFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if Alive(p.PID) {
			_, _ = Stop(p.PID, time.Second)
		}
	})
	if pid, err := ReadPID(pidFile); err != nil || pid != p.PID {
		t.Fatalf("pid file = %d, %v; want %d", pid, err, p.PID)
	}
	if pgid, err := syscall.Getpgid(p.PID); err != nil || pgid != p.PID {
		t.Errorf("process group of %d = %d, %v; want its own (a new session)", p.PID, pgid, err)
	}
	if st := Check(pidFile, bin); !st.Running || st.PID != p.PID {
		t.Errorf("Check = %+v, want running as %d", st, p.PID)
	}
	// Another binary's pid file: not ours, and the file goes.
	other := filepath.Join(dir, "other.pid")
	if err := WritePID(other, p.PID); err != nil {
		t.Fatal(err)
	}
	if st := Check(other, filepath.Join(dir, "gantry-store")); st.Running {
		t.Errorf("Check with another binary = %+v, want not running", st)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("pid file of another binary kept: %v", err)
	}
	killed, err := Stop(p.PID, 10*time.Second)
	if err != nil || killed {
		t.Errorf("Stop = %v, %v; want SIGTERM to suffice", killed, err)
	}
	select {
	case <-p.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("Exited not closed after Stop")
	}
	if st := Check(pidFile, bin); st.Running {
		t.Errorf("Check after Stop = %+v", st)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("stale pid file kept: %v", err)
	}
	log, _ := os.ReadFile(logFile)
	if !strings.Contains(string(log), "starting "+bin+" 300") {
		t.Errorf("log lacks the header:\n%s", log)
	}
}

func TestStopKillsWhatIgnoresTERM(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	// The shell ignores SIGTERM and waits for its child; "ready" says
	// the trap is in place.
	ready := filepath.Join(dir, "ready")
	p, err := Start(sh, []string{"-c", "trap '' TERM; touch " + ready + "; while :; do sleep 0.1; done"},
		filepath.Join(dir, "d.log"), filepath.Join(dir, "d.pid"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if Alive(p.PID) {
			_ = os.Remove(ready)
			_, _ = Stop(p.PID, 0)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shell did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed, err := Stop(p.PID, 300*time.Millisecond)
	if err != nil || !killed {
		t.Errorf("Stop = %v, %v; want SIGKILL", killed, err)
	}
	if Alive(p.PID) {
		t.Error("still alive")
	}
}
