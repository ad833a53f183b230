package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// listen binds a unix datagram socket the way the service manager does
// and returns the value $NOTIFY_SOCKET takes for it.
func listen(t *testing.T, abstract bool) (string, *net.UnixConn) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify.sock")
	if abstract {
		name = fmt.Sprintf("@gantry-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return name, conn
}

// receive reads one datagram, or fails the test after a deadline.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification received: %v", err)
	}
	return string(buf[:n])
}

func TestNotifySendsToSocket(t *testing.T) {
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", Ready, "READY=1"},
		{"stopping", Stopping, "STOPPING=1"},
		{"watchdog", Watchdog, "WATCHDOG=1"},
		{"status", func() error { return Status("serving on :6443") }, "STATUS=serving on :6443"},
		{"status on one line", func() error { return Status("a\nREADY=1\r\nb") }, "STATUS=a READY=1 b"},
		{"several assignments", func() error { return Notify(StateReady, "STATUS=up") }, "READY=1\nSTATUS=up"},
	}
	for _, abstract := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/abstract=%v", tt.name, abstract), func(t *testing.T) {
				name, conn := listen(t, abstract)
				t.Setenv(SocketEnv, name)
				if err := tt.send(); err != nil {
					t.Fatal(err)
				}
				if got := receive(t, conn); got != tt.want {
					t.Errorf("received %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestStoppingWhenDone(t *testing.T) {
	t.Run("done", func(t *testing.T) {
		name, conn := listen(t, false)
		t.Setenv(SocketEnv, name)
		ctx, cancel := context.WithCancel(context.Background())
		wait := StoppingWhenDone(ctx)
		cancel()
		wait()
		if got := receive(t, conn); got != StateStopping {
			t.Errorf("received %q, want %q", got, StateStopping)
		}
	})
	t.Run("not done", func(t *testing.T) {
		name, conn := listen(t, false)
		t.Setenv(SocketEnv, name)
		ctx, cancel := context.WithCancel(context.Background())
		StoppingWhenDone(ctx)()
		cancel()
		// Nothing was sent: the next datagram is this one.
		if err := Status("after"); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, conn); got != "STATUS=after" {
			t.Errorf("received %q, want only the later STATUS=after", got)
		}
	})
}

func TestNotifyWithoutSocketDoesNothing(t *testing.T) {
	t.Setenv(SocketEnv, "")
	for _, f := range []func() error{Ready, Stopping, Watchdog, func() error { return Status("x") }} {
		if err := f(); err != nil {
			t.Errorf("without $%s: %v, want nil", SocketEnv, err)
		}
	}
}

func TestNotifyErrors(t *testing.T) {
	tests := []struct {
		name, socket string
	}{
		{"relative path", "run/notify"},
		{"vsock", "vsock:2:1234"},
		{"no listener", filepath.Join(t.TempDir(), "absent.sock")},
		{"no abstract listener", fmt.Sprintf("@gantry-sdnotify-absent-%d-%d", os.Getpid(), time.Now().UnixNano())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(SocketEnv, tt.socket)
			if err := Ready(); err == nil {
				t.Errorf("$%s=%q: no error", SocketEnv, tt.socket)
			}
		})
	}
	t.Run("stream socket", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "stream.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		t.Setenv(SocketEnv, path)
		if err := Ready(); err == nil {
			t.Error("a stream socket accepted a datagram")
		}
	})
	t.Run("empty message", func(t *testing.T) {
		name, _ := listen(t, false)
		t.Setenv(SocketEnv, name)
		if err := Notify(); err == nil {
			t.Error("an empty notification was sent")
		}
	})
}

func TestWatchdogEnabled(t *testing.T) {
	self := os.Getpid()
	tests := []struct {
		name, usec, pid string
		want            time.Duration
		enabled         bool
	}{
		{"unset", "", "", 0, false},
		{"interval", "30000000", "", 30 * time.Second, true},
		{"for this process", "500000", strconv.Itoa(self), 500 * time.Millisecond, true},
		{"for another process", "500000", strconv.Itoa(self + 1), 0, false},
		{"bad pid", "500000", "x", 0, false},
		{"zero", "0", "", 0, false},
		{"negative", "-5", "", 0, false},
		{"not a number", "30s", "", 0, false},
		{"overflows a duration", "18446744073709551615", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, enabled := watchdogEnabled(tt.usec, tt.pid, self)
			if got != tt.want || enabled != tt.enabled {
				t.Errorf("watchdogEnabled(%q, %q) = %v, %v; want %v, %v", tt.usec, tt.pid, got, enabled, tt.want, tt.enabled)
			}
		})
	}
	t.Run("from the environment", func(t *testing.T) {
		t.Setenv("WATCHDOG_USEC", "2000000")
		t.Setenv("WATCHDOG_PID", strconv.Itoa(self))
		if got, ok := WatchdogEnabled(); !ok || got != 2*time.Second {
			t.Errorf("WatchdogEnabled() = %v, %v; want 2s, true", got, ok)
		}
	})
}

// TestNotifyFromChildProcess notifies from a child process of the test
// binary and checks, as systemd does, the sender's credentials: the
// datagram must come from the process that called Ready.
func TestNotifyFromChildProcess(t *testing.T) {
	if os.Getenv("SDNOTIFY_TEST_CHILD") == "1" {
		if err := Ready(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	name, conn := listen(t, true)
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		t.Fatalf("SO_PASSCRED: %v %v", err, serr)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.StartProcess(exe, []string{exe, "-test.run=^TestNotifyFromChildProcess$"}, &os.ProcAttr{
		Env:   append(os.Environ(), "SDNOTIFY_TEST_CHILD=1", SocketEnv+"="+name),
		Files: []*os.File{nil, os.Stderr, os.Stderr},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Success() {
		t.Fatalf("child: %v", st)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf, oob := make([]byte, 512), make([]byte, 512)
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("no notification received: %v", err)
	}
	if got := string(buf[:n]); got != StateReady {
		t.Errorf("received %q, want %q", got, StateReady)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %d, %v", len(msgs), err)
	}
	cred, err := syscall.ParseUnixCredentials(&msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if int(cred.Pid) != p.Pid {
		t.Errorf("sender pid %d, want the child's %d", cred.Pid, p.Pid)
	}
}
