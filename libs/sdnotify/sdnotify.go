// Package sdnotify tells a service manager (systemd, for units of
// Type=notify) about a daemon's state with the sd_notify protocol: one
// datagram of newline-separated VAR=value assignments sent to the unix
// datagram socket named in $NOTIFY_SOCKET. A name starting with '@' is an
// abstract socket.
//
// Without $NOTIFY_SOCKET every call does nothing and returns nil, so a
// daemon calls Ready and Stopping unconditionally, also when it runs
// outside a service manager (in tests, from a shell).
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The variables a daemon sends (see sd_notify(3)).
const (
	// StateReady means start-up finished: the unit becomes active and
	// units ordered after it start.
	StateReady = "READY=1"
	// StateStopping means the daemon began shutting down.
	StateStopping = "STOPPING=1"
	// StateWatchdog resets the watchdog timer of a unit with WatchdogSec.
	StateWatchdog = "WATCHDOG=1"
)

// SocketEnv is the environment variable naming the service manager's
// socket.
const SocketEnv = "NOTIFY_SOCKET"

// Ready tells the service manager that the daemon is ready.
func Ready() error { return Notify(StateReady) }

// Stopping tells the service manager that the daemon is shutting down.
func Stopping() error { return Notify(StateStopping) }

// StoppingWhenDone sends STOPPING=1 as soon as ctx is done, such as the
// context of signal.NotifyContext on SIGTERM, so that the service manager
// shows the unit as deactivating while the daemon shuts down. Sending is
// best effort: the manager sees the process exit in any case. Call the
// returned function before exiting (defer it): it waits until the message
// has been sent if ctx is done, and otherwise cancels the notification.
//
//	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
//	defer stop()
//	defer sdnotify.StoppingWhenDone(ctx)()
func StoppingWhenDone(ctx context.Context) (wait func()) {
	sent := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(sent)
		_ = Stopping()
	})
	return func() {
		if !cancel() {
			<-sent
		}
	}
}

// Status sends a one-line, human-readable status (systemctl status shows
// it). Line breaks in s are replaced by spaces, since each line of a
// message is an assignment of its own.
func Status(s string) error {
	return Notify("STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// Watchdog resets the watchdog timer; see WatchdogEnabled for how often
// to call it.
func Watchdog() error { return Notify(StateWatchdog) }

// Notify sends the assignments (such as StateReady or "STATUS=...") in
// one datagram to the socket named in $NOTIFY_SOCKET. It returns nil
// without sending anything when the variable is not set.
func Notify(assignments ...string) error {
	return notify(os.Getenv(SocketEnv), strings.Join(assignments, "\n"))
}

func notify(socket, msg string) error {
	if socket == "" {
		return nil
	}
	if msg == "" {
		return errors.New("sdnotify: empty message")
	}
	// An absolute path names a socket in the file system; "@name" an
	// abstract one, which the net package maps to a leading NUL byte on
	// Linux. systemd's other form (vsock:CID:PORT, for virtual machines)
	// is not used on the hosts Gantry runs on.
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return fmt.Errorf("sdnotify: $%s=%q: want an absolute path or @abstract name", SocketEnv, socket)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sdnotify: send to %s: %w", socket, err)
	}
	return nil
}

// WatchdogEnabled reports whether the service manager expects watchdog
// keep-alives from this process (the unit has WatchdogSec) and the
// interval it allows between them; send them at half of it or more
// often. A WATCHDOG_PID naming another process means no.
func WatchdogEnabled() (time.Duration, bool) {
	return watchdogEnabled(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
}

func watchdogEnabled(usec, pid string, self int) (time.Duration, bool) {
	if usec == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || n <= 0 || n > int64(time.Duration(1<<63-1)/time.Microsecond) {
		return 0, false
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p != self {
			return 0, false
		}
	}
	return time.Duration(n) * time.Microsecond, true
}
