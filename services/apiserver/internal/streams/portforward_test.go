package streams

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// dialers are the ways client-go (and so kubectl) connects for port-forward.
var dialers = []struct {
	name string
	new  func(*testing.T, *testEnv, *url.URL) httpstream.Dialer
}{
	{"spdy", func(t *testing.T, env *testEnv, u *url.URL) httpstream.Dialer {
		transport, upgrader, err := spdy.RoundTripperFor(env.config)
		if err != nil {
			t.Fatal(err)
		}
		return spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	}},
	{"spdy over websocket", func(t *testing.T, env *testEnv, u *url.URL) httpstream.Dialer {
		d, err := portforward.NewSPDYOverWebsocketDialer(u, env.config)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}},
}

// upperServer stands for a server in the pod: it answers every line with
// the line in upper case and closes after the client's end.
func upperServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(conn, strings.ToUpper(line)); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// forwardPorts runs client-go's port forwarder to podPort and returns the
// local port.
func forwardPorts(t *testing.T, dialer httpstream.Dialer, podPort int) int {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(podPort)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	ctx := testContext(t)
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port forwarding ended: %v", err)
	case <-ctx.Done():
		t.Fatal("port forwarding never got ready")
	}
	ports, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	return int(ports[0].Local)
}

func TestPortForwardMovesBytesBothWays(t *testing.T) {
	env := newTestEnv(t)
	podPort := upperServer(t)
	for _, d := range dialers {
		t.Run(d.name, func(t *testing.T) {
			local := forwardPorts(t, d.new(t, env, env.subresourceURL(testPod, "portforward", nil)), podPort)
			var wg sync.WaitGroup
			for i := range 3 {
				wg.Go(func() { converse(t, local, i) })
			}
			wg.Wait()
			// Every forwarded connection ended its agent call.
			env.agent.waitIdle(t)
		})
	}
}

// converse talks with upperServer through the forwarded port: one line
// and its answer, then a last line after the client's half-close, whose
// answer arrives before the end of the connection.
func converse(t *testing.T, local, n int) {
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(local)))
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	hello := fmt.Sprintf("hello %d\n", n)
	if _, err := io.WriteString(conn, hello); err != nil {
		t.Error(err)
		return
	}
	if got, err := r.ReadString('\n'); got != strings.ToUpper(hello) {
		t.Errorf("got %q, %v; want %q", got, err, strings.ToUpper(hello))
		return
	}
	if _, err := io.WriteString(conn, "bye\n"); err != nil {
		t.Error(err)
		return
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Error(err)
		return
	}
	if rest, err := io.ReadAll(r); string(rest) != "BYE\n" || err != nil {
		t.Errorf("after the half-close got %q, %v; want %q and the end", rest, err, "BYE\n")
	}
}

func TestPortForwardReportsAFailedConnection(t *testing.T) {
	env := newTestEnv(t)
	_, closedPort, _ := net.SplitHostPort(closedAddress(t))
	for _, d := range dialers {
		t.Run(d.name, func(t *testing.T) {
			conn, protocol, err := d.new(t, env, env.subresourceURL(testPod, "portforward", nil)).Dial("portforward.k8s.io")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if protocol != "portforward.k8s.io" {
				t.Errorf("negotiated %q", protocol)
			}
			hdr := http.Header{}
			hdr.Set(corev1.StreamType, corev1.StreamTypeError)
			hdr.Set(corev1.PortHeader, closedPort)
			hdr.Set(corev1.PortForwardRequestIDHeader, "0")
			errs, err := conn.CreateStream(hdr)
			if err != nil {
				t.Fatal(err)
			}
			errs.Close()
			hdr.Set(corev1.StreamType, corev1.StreamTypeData)
			if _, err := conn.CreateStream(hdr); err != nil {
				t.Fatal(err)
			}
			msg, err := io.ReadAll(errs)
			want := fmt.Sprintf("error forwarding port %s to pod web-0, uid uid-1234: dial tcp 127.0.0.1:%s: connect: connection refused", closedPort, closedPort)
			if string(msg) != want || err != nil {
				t.Errorf("error stream said %q, %v; want %q", msg, err, want)
			}
		})
	}
}

func TestPortForwardGivesUpOnAHalfPair(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.StreamCreationTimeout = 50 * time.Millisecond })
	conn, _, err := dialers[0].new(t, env, env.subresourceURL(testPod, "portforward", nil)).Dial("portforward.k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hdr := http.Header{}
	hdr.Set(corev1.StreamType, corev1.StreamTypeError)
	hdr.Set(corev1.PortHeader, "80")
	hdr.Set(corev1.PortForwardRequestIDHeader, "7")
	errs, err := conn.CreateStream(hdr)
	if err != nil {
		t.Fatal(err)
	}
	errs.Close()
	msg, err := io.ReadAll(errs)
	if want := "timed out waiting for the data stream of request 7"; string(msg) != want || err != nil {
		t.Errorf("error stream said %q, %v; want %q", msg, err, want)
	}
}

func TestPortForwardRefusals(t *testing.T) {
	env := newTestEnv(t)
	t.Run("no upgrade", func(t *testing.T) {
		code, st := env.do(t, http.MethodPost, "web-0/portforward")
		if code != http.StatusBadRequest || st.Message != "Upgrade request required" {
			t.Errorf("got %d %q", code, st.Message)
		}
	})
	t.Run("unscheduled pod", func(t *testing.T) {
		env.objects.pods["pending-0"] = runningPod("pending-0", "")
		_, _, err := dialers[0].new(t, env, env.subresourceURL("pending-0", "portforward", nil)).Dial("portforward.k8s.io")
		if err == nil || !strings.Contains(err.Error(), "pod pending-0 does not have a host assigned") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("unknown protocol", func(t *testing.T) {
		_, _, err := dialers[0].new(t, env, env.subresourceURL(testPod, "portforward", nil)).Dial("portforward.example.com")
		if err == nil || !strings.Contains(err.Error(), "unable to negotiate protocol") {
			t.Errorf("got %v", err)
		}
	})
}
