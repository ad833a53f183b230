package streaming

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"

	"github.com/vishvananda/netns"
)

// inNetNS calls fn on an OS thread that has entered the network namespace
// at path; sockets fn creates belong to that namespace for good. fn must
// not start goroutines that create sockets: they may run on other threads.
//
// fn runs in a goroutine of its own, locked to its thread. The thread
// returns to the namespace it came from afterwards; when that fails, the
// goroutine exits still locked, and the Go runtime ends the thread
// instead of reusing it.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// restored is false while the thread may be in another namespace.
		restored := true
		defer func() {
			if restored {
				runtime.UnlockOSThread()
			}
		}()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("reading the current network namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			errc <- fmt.Errorf("opening network namespace %q: %w", path, err)
			return
		}
		defer target.Close()
		restored = false
		if err := netns.Set(target); err != nil {
			// setns(2) fails without switching, but the thread is
			// dropped all the same.
			errc <- fmt.Errorf("entering network namespace %q: %w", path, err)
			return
		}
		ferr := fn()
		restored = netns.Set(orig) == nil
		errc <- ferr
	}()
	return <-errc
}

// dialPod connects to a port on the loopback of a pod's network
// namespace (of the node when netns is ""), over IPv4 or else IPv6, as
// the kubelet does. The error reads like the kubelet's.
func dialPod(ctx context.Context, netns string, port uint16) (*net.TCPConn, error) {
	var conn net.Conn
	dial := func() error {
		var d net.Dialer
		var err4, err6 error
		conn, err4 = d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
		if err4 == nil {
			return nil
		}
		conn, err6 = d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", strconv.Itoa(int(port))))
		if err6 == nil {
			return nil
		}
		where := "the node's network namespace"
		if netns != "" {
			where = fmt.Sprintf("namespace %q", netns)
		}
		return fmt.Errorf("failed to connect to localhost:%d inside %s, IPv4: %v IPv6 %v", port, where, err4, err6)
	}
	var err error
	if netns == "" {
		err = dial()
	} else {
		err = inNetNS(netns, dial)
	}
	if err != nil {
		return nil, err
	}
	return conn.(*net.TCPConn), nil
}
