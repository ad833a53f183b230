package ingress_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// backendNS is a network namespace joined to the host by a veth pair:
// the host end has 10.253.<n>.1/28, the namespace end .2 to .14, where
// the test's backends listen.
type backendNS struct {
	t      *testing.T
	name   string
	prefix string // "10.253.<n>."
	next   int
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newBackendNS creates the namespace, removing it when the test ends.
func newBackendNS(t *testing.T) *backendNS {
	t.Helper()
	addrs, err := exec.Command("ip", "-o", "-4", "addr").Output()
	if err != nil {
		t.Fatal(err)
	}
	var prefix string
	for range 100 {
		p := fmt.Sprintf("10.253.%d.", rand.IntN(256))
		if !strings.Contains(string(addrs), " "+p) {
			prefix = p
			break
		}
	}
	if prefix == "" {
		t.Fatal("no free 10.253.x.0/28 subnet")
	}
	id := fmt.Sprintf("%06x", rand.IntN(1<<24))
	b := &backendNS{t: t, name: "gi-" + id, prefix: prefix, next: 2}
	host, peer := "gih"+id, "gin"+id
	t.Cleanup(func() {
		// Deleting the namespace deletes its veth end and so the pair.
		if err := run("ip", "netns", "del", b.name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := exec.Command("ip", "link", "show", host).Run(); err == nil {
			_ = run("ip", "link", "del", host)
		}
	})
	for _, cmd := range [][]string{
		{"ip", "netns", "add", b.name},
		{"ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", b.name},
		{"ip", "addr", "add", prefix + "1/28", "dev", host},
		{"ip", "link", "set", host, "up"},
		{"ip", "-n", b.name, "link", "set", "lo", "up"},
		{"ip", "-n", b.name, "link", "set", peer, "up"},
	} {
		if err := run(cmd...); err != nil {
			t.Fatal(err)
		}
	}
	for i := 2; i <= 14; i++ {
		if err := run("ip", "-n", b.name, "addr", "add", fmt.Sprintf("%s%d/28", prefix, i), "dev", peer); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// ip returns a fresh address of the namespace.
func (b *backendNS) ip() string {
	b.t.Helper()
	if b.next > 14 {
		b.t.Fatal("backend namespace out of addresses")
	}
	ip := fmt.Sprintf("%s%d", b.prefix, b.next)
	b.next++
	return ip
}

// listen opens a TCP listener on addr inside the namespace: the socket
// is made on a thread switched into it (then switched back; a thread
// that cannot switch back is left locked, so Go discards it).
func (b *backendNS) listen(addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		target, err := os.Open("/var/run/netns/" + b.name)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{ln: ln, err: errors.Join(err, errors.New("thread left in the backend namespace"))}
			return // still locked: the thread ends with the goroutine
		}
		runtime.UnlockOSThread()
		ch <- result{ln: ln, err: err}
	}()
	r := <-ch
	return r.ln, r.err
}

// backend is an HTTP server in the namespace answering with its name
// ("<name> <path>"), and echoing upper-cased lines over a WebSocket-style
// upgrade.
type backend struct {
	name string
	ip   string
	port int
	srv  *http.Server
	done chan struct{}
}

// backendPort is the port every backend listens on (one per address).
const backendPort = 8080

// startBackend runs a backend on a fresh address of the namespace until
// it is stopped or the test ends.
func (b *backendNS) startBackend(name string) *backend {
	b.t.Helper()
	ip := b.ip()
	ln, err := b.listen(net.JoinHostPort(ip, fmt.Sprint(backendPort)))
	if err != nil {
		b.t.Fatalf("backend %s: %v", name, err)
	}
	be := &backend{name: name, ip: ip, port: backendPort, done: make(chan struct{})}
	be.srv = &http.Server{Handler: http.HandlerFunc(be.serve)}
	go func() {
		defer close(be.done)
		be.srv.Serve(ln)
	}()
	b.t.Cleanup(be.stop)
	return be
}

// stop closes the backend's listener and connections at once.
func (be *backend) stop() {
	be.srv.Close()
	<-be.done
}

// shutdown stops the backend gracefully: requests in flight finish.
func (be *backend) shutdown(ctx context.Context) error {
	err := be.srv.Shutdown(ctx)
	<-be.done
	return err
}

func (be *backend) serve(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		be.websocket(w, r)
		return
	}
	w.Header().Set("X-Backend", be.name)
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port"} {
		w.Header().Set("Seen-"+h, r.Header.Get(h))
	}
	fmt.Fprintf(w, "%s %s\n", be.name, r.URL.Path)
}

// websocket answers the upgrade (with the RFC 6455 accept key) and then
// echoes lines upper-cased, which is all the proxy needs to carry.
func (be *backend) websocket(w http.ResponseWriter, r *http.Request) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Backend: %s\r\n\r\n",
		wsAccept(r.Header.Get("Sec-WebSocket-Key")), be.name)
	brw.Flush()
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		fmt.Fprint(brw, be.name+": "+strings.ToUpper(line))
		brw.Flush()
	}
}
