package streaming

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// newNetNS creates a network namespace with only its loopback up, for the
// test, and returns its path. It skips the test without root or ip(8).
func newNetNS(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("creating a network namespace needs ip(8)")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "gantry-pf-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	return filepath.Join("/var/run/netns", name)
}

// upperServer listens on 127.0.0.1 (in netns unless it is "") and answers
// every connection, once the client has half-closed it, with what it
// sent in upper case. It returns the port.
func upperServer(t *testing.T, netns string) int {
	t.Helper()
	var lis net.Listener
	listen := func() (err error) {
		lis, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}
	var err error
	if netns == "" {
		err = listen()
	} else {
		err = inNetNS(netns, listen)
	}
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		lis.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				in, err := io.ReadAll(conn)
				if err != nil {
					return
				}
				_, _ = conn.Write(bytes.ToUpper(in))
			})
		}
	})
	return lis.Addr().(*net.TCPAddr).Port
}

// freePort returns a port nothing listens on in netns.
func freePort(t *testing.T, netns string) int {
	t.Helper()
	var port int
	err := inNetNS(netns, func() error {
		lis, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		port = lis.Addr().(*net.TCPAddr).Port
		return lis.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func pfFrame(f any) *agentv1.PortForwardFrame {
	switch f := f.(type) {
	case *agentv1.PortForwardStart:
		return &agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Start{Start: f}}
	case string:
		return &agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Data{Data: []byte(f)}}
	case bool:
		return &agentv1.PortForwardFrame{Frame: &agentv1.PortForwardFrame_Close{Close: f}}
	}
	panic(fmt.Sprintf("no frame for %T", f))
}

// forwardOnce sends start, data and close, and returns what came back:
// the data, whether close came, the error frame and how the call ended.
func forwardOnce(t *testing.T, client agentv1.AgentClient, pod *agentv1.PodRef, port int, data string) (got string, closed bool, errFrame string, err error) {
	t.Helper()
	call, err := client.PortForward(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = call.Send(pfFrame(&agentv1.PortForwardStart{Pod: pod, Port: uint32(port)}))
	_ = call.Send(pfFrame(data))
	_ = call.Send(pfFrame(true))
	_ = call.CloseSend()
	var b strings.Builder
	for {
		f, err := call.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), closed, errFrame, nil
		}
		if err != nil {
			return b.String(), closed, errFrame, err
		}
		if closed || errFrame != "" {
			t.Errorf("frame %v after close or error", f)
		}
		switch f := f.GetFrame().(type) {
		case *agentv1.PortForwardFrame_Data:
			b.Write(f.Data)
		case *agentv1.PortForwardFrame_Close:
			closed = true
		case *agentv1.PortForwardFrame_Error:
			errFrame = f.Error
		}
	}
}

func TestPortForward(t *testing.T) {
	ns := newNetNS(t)
	port := upperServer(t, ns)
	// The server is in the pod's namespace only.
	if conn, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		conn.Close()
		t.Logf("port %d is open on the node too; the test proves less", port)
	}
	pods := &fakePods{netns: ns}
	client := startServer(t, New(Config{Pods: pods, Runtime: newFakeRuntime(), Log: testLogger(t)}))

	// Several connections at once, each a call.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			msg := fmt.Sprintf("hello %d", i)
			got, closed, errFrame, err := forwardOnce(t, client, testPodRef(), port, msg)
			if want := strings.ToUpper(msg); got != want || !closed || errFrame != "" || err != nil {
				t.Errorf("got %q, close %v, error frame %q, %v; want %q, close, OK", got, closed, errFrame, err, want)
			}
		})
	}
	wg.Wait()
	checkThreadsInOwnNetNS(t)

	t.Run("connection refused", func(t *testing.T) {
		closedPort := freePort(t, ns)
		_, _, errFrame, err := forwardOnce(t, client, testPodRef(), closedPort, "x")
		want := fmt.Sprintf("failed to connect to localhost:%d inside namespace %q, IPv4: dial tcp4 127.0.0.1:%d: connect: connection refused IPv6 dial tcp6 [::1]:%d: ",
			closedPort, ns, closedPort, closedPort)
		if !strings.HasPrefix(errFrame, want) || err != nil {
			t.Errorf("got error frame %q, %v; want it to start with %q", errFrame, err, want)
		}
	})

	t.Run("unknown pod", func(t *testing.T) {
		other := testPodRef()
		other.Uid = "uid-other"
		_, _, _, err := forwardOnce(t, client, other, port, "x")
		if status.Code(err) != codes.NotFound {
			t.Errorf("got %v; want NotFound", err)
		}
	})

	t.Run("bad port", func(t *testing.T) {
		_, _, _, err := forwardOnce(t, client, testPodRef(), 70000, "x")
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("got %v; want InvalidArgument", err)
		}
	})
}

func TestPortForwardHostNetwork(t *testing.T) {
	port := upperServer(t, "")
	client := startServer(t, New(Config{Pods: &fakePods{}, Runtime: newFakeRuntime(), Log: testLogger(t)}))
	got, closed, errFrame, err := forwardOnce(t, client, testPodRef(), port, "on the node")
	if got != "ON THE NODE" || !closed || errFrame != "" || err != nil {
		t.Errorf("got %q, close %v, error frame %q, %v", got, closed, errFrame, err)
	}
}

// TestPortForwardHalfClose checks that the pod's answer still comes
// after the caller's close, and the caller's data after the pod's.
func TestPortForwardHalfClose(t *testing.T) {
	lis, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	// The pod greets, closes its side, then reads what the caller sends.
	received := make(chan string, 1)
	go func() {
		conn, err := lis.Accept()
		if err != nil {
			received <- err.Error()
			return
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("hi"))
		_ = conn.(*net.TCPConn).CloseWrite()
		in, _ := io.ReadAll(conn)
		received <- string(in)
	}()
	client := startServer(t, New(Config{Pods: &fakePods{}, Runtime: newFakeRuntime(), Log: testLogger(t)}))
	call, err := client.PortForward(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = call.Send(pfFrame(&agentv1.PortForwardStart{Pod: testPodRef(), Port: uint32(lis.Addr().(*net.TCPAddr).Port)}))
	for _, want := range []string{"data hi", "close"} {
		f, err := call.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got := "close"
		if d := f.GetData(); d != nil {
			got = "data " + string(d)
		}
		if got != want {
			t.Fatalf("got %v; want %s", f, want)
		}
	}
	_ = call.Send(pfFrame("late"))
	_ = call.Send(pfFrame(true))
	_ = call.CloseSend()
	if got := <-received; got != "late" {
		t.Errorf("the pod received %q; want %q", got, "late")
	}
	if _, err := call.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("the call ended with %v", err)
	}
}

func TestInNetNS(t *testing.T) {
	ns := newNetNS(t)
	want, err := os.Stat(ns)
	if err != nil {
		t.Fatal(err)
	}
	err = inNetNS(ns, func() error {
		got, err := os.Stat("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		if !os.SameFile(got, want) {
			return errors.New("the thread is not in the namespace")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if err := inNetNS("/nonexistent/netns", func() error { return nil }); err == nil {
		t.Error("entering a namespace that does not exist succeeded")
	}
	checkThreadsInOwnNetNS(t)
}

// checkThreadsInOwnNetNS runs goroutines on many threads at once and
// checks that each thread is in the process's network namespace: none
// was handed back to the scheduler inside a pod's.
func checkThreadsInOwnNetNS(t *testing.T) {
	t.Helper()
	want, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	n := 4 * runtime.GOMAXPROCS(0)
	var ready, check sync.WaitGroup
	ready.Add(n)
	check.Add(1)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready.Done()
			check.Wait() // keep every thread busy, so that each goroutine has its own
			got, err := os.Stat("/proc/thread-self/ns/net")
			if err == nil && !os.SameFile(got, want) {
				err = errors.New("a thread is in another network namespace")
			}
			errs <- err
		})
	}
	ready.Wait()
	check.Done()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
			return
		}
	}
}
