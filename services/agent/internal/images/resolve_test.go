package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestImageResolvesNames unpacks the image's layer and runs its wget and
// ping, chrooted into it, in a network namespace of the test's own that
// holds a Go HTTP server and a DNS server on 127.0.0.1. The image's
// resolver files are those of a pod: /etc/hosts with an entry, and a
// resolv.conf with the cluster's search path and ndots:5. Names must
// resolve through the image's getaddrinfo, /etc/hosts first, the search
// path next, and the fetches must reach the server.
func TestImageResolvesNames(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chroot, network namespace)")
	}
	root := unpackBuiltin(t)
	// "pinned" is in /etc/hosts (127.0.0.1) and in DNS (127.0.0.2, where
	// nothing listens): only a lookup of /etc/hosts first reaches the
	// server.
	writeFile(t, root, "etc/hosts", "127.0.0.1\tlocalhost\n127.0.0.1\tpinned\n")
	writeFile(t, root, "etc/resolv.conf", "nameserver 127.0.0.1\n"+
		"search myns.svc.cluster.local svc.cluster.local cluster.local\n"+
		"options ndots:5 timeout:2 attempts:2\n")

	ns := newNetns(t)
	dns := &fakeDNS{answers: map[string][4]byte{
		"web.myns.svc.cluster.local.":    {127, 0, 0, 1},
		"pinned.":                        {127, 0, 0, 2},
		"pinned.myns.svc.cluster.local.": {127, 0, 0, 2},
	}}
	var port string
	if err := ns.do(func() error {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:53")
		if err != nil {
			return err
		}
		t.Cleanup(func() { pc.Close() })
		go dns.serve(pc)
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "served %s\n", r.Host)
		})}
		t.Cleanup(func() { srv.Close() })
		go srv.Serve(l)
		_, port, _ = net.SplitHostPort(l.Addr().String())
		return nil
	}); err != nil {
		t.Fatalf("servers in the test's network namespace: %v", err)
	}

	cases := []struct {
		what    string
		cmd     []string
		wantErr bool
		want    []string
	}{
		{"wget of an /etc/hosts name", []string{"wget", "-q", "-O", "-", "http://pinned:" + port + "/"}, false,
			[]string{"served pinned:" + port}},
		{"ping of an /etc/hosts name", []string{"ping", "-c1", "-W2", "pinned"}, false,
			[]string{"PING pinned (127.0.0.1)", "1 packets received"}},
		{"wget of a FQDN from DNS", []string{"wget", "-q", "-O", "-", "http://web.myns.svc.cluster.local:" + port + "/"}, false,
			[]string{"served web.myns.svc.cluster.local:" + port}},
		{"wget through the search path", []string{"wget", "-q", "-O", "-", "http://web:" + port + "/"}, false,
			[]string{"served web:" + port}},
		{"ping through the search path", []string{"ping", "-c1", "-W2", "web"}, false,
			[]string{"PING web (127.0.0.1)", "1 packets received"}},
		{"wget of a missing name", []string{"wget", "-q", "-O", "-", "http://nope:" + port + "/"}, true,
			[]string{"bad address 'nope:" + port + "'"}},
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) {
			out, err := ns.run(root, tc.cmd...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: err %v, want error %v; output:\n%s", strings.Join(tc.cmd, " "), err, tc.wantErr, out)
			}
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) && exitErr.Sys().(syscall.WaitStatus).Signaled() {
				t.Fatalf("%s: killed by a signal: %v; output:\n%s", strings.Join(tc.cmd, " "), err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s: output lacks %q:\n%s", strings.Join(tc.cmd, " "), w, out)
				}
			}
		})
	}

	asked := dns.asked()
	for _, q := range asked {
		if strings.HasPrefix(q, "pinned.") {
			t.Errorf("DNS was asked for %s, which /etc/hosts holds (queries: %v)", q, asked)
			break
		}
	}
	for _, want := range []string{"web.myns.svc.cluster.local.", "nope.myns.svc.cluster.local.", "nope.cluster.local."} {
		found := false
		for _, q := range asked {
			found = found || q == want
		}
		if !found {
			t.Errorf("DNS was never asked for %s (queries: %v)", want, asked)
		}
	}
}

// unpackBuiltin builds the image and unpacks its layer into a directory.
func unpackBuiltin(t *testing.T) string {
	t.Helper()
	var archive bytes.Buffer
	if err := BuildBusybox(&archive); err != nil {
		t.Fatal(err)
	}
	files, _ := readTar(t, bytes.NewReader(archive.Bytes()))
	var index ocispec.Index
	if err := json.Unmarshal(files[ocispec.ImageIndexFile], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 {
		t.Fatalf("index has %d manifests", len(index.Manifests))
	}
	var manifest ocispec.Manifest
	blob(t, files, index.Manifests[0], &manifest)
	if len(manifest.Layers) != 1 {
		t.Fatalf("manifest has %d layers", len(manifest.Layers))
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob(t, files, manifest.Layers[0], nil)))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := untar(zr, root); err != nil {
		t.Fatalf("unpacking the layer: %v", err)
	}
	return root
}

// untar writes the directories, files and symlinks of a tar under dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(h.Name, "/")
		if !filepath.IsLocal(name) {
			return fmt.Errorf("entry %q leaves the directory", h.Name)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			err = os.Chmod(p, os.FileMode(h.Mode&0o777)|modeBits(h.Mode))
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, b, os.FileMode(h.Mode&0o777))
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		default:
			err = fmt.Errorf("entry %q: unexpected type %c", h.Name, h.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

func modeBits(m int64) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

func writeFile(t *testing.T, root, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// netnsThread is an OS thread in a network namespace of its own, with
// loopback up. Sockets created and processes started by the functions
// given to do belong to that namespace. The thread and its namespace go
// away when the test ends.
type netnsThread struct {
	reqs chan func()
}

func newNetns(t *testing.T) *netnsThread {
	t.Helper()
	n := &netnsThread{reqs: make(chan func())}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine rather than
		// go back to the runtime in the wrong namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			errc <- fmt.Errorf("bringing lo up: %w", err)
			return
		}
		errc <- nil
		for f := range n.reqs {
			f()
		}
	}()
	if err := <-errc; err != nil {
		t.Fatalf("network namespace: %v", err)
	}
	t.Cleanup(func() { close(n.reqs) })
	return n
}

// do calls f on the namespace's thread.
func (n *netnsThread) do(f func() error) error {
	errc := make(chan error, 1)
	n.reqs <- func() { errc <- f() }
	return <-errc
}

// run runs a command chrooted into root, in the namespace, and returns
// its combined output.
func (n *netnsThread) run(root string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := n.do(func() error {
		// The image's busybox runs the applet named by argv[0].
		cmd := exec.CommandContext(ctx, "/bin/busybox")
		cmd.Args = args
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=" + imagePath}
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd.Run()
	})
	return out.String(), err
}

// fakeDNS answers A queries for the names it knows, NXDOMAIN for the
// others (and no data for other types of known names); it records the
// names asked.
type fakeDNS struct {
	answers map[string][4]byte // lower-case FQDN -> address

	mu    sync.Mutex
	names []string
}

func (d *fakeDNS) asked() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.names...)
}

func (d *fakeDNS) serve(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		if resp, err := d.answer(buf[:n]); err == nil {
			_, _ = pc.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query (RFC 1035, section 4.1).
func (d *fakeDNS) answer(q []byte) ([]byte, error) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil, errors.New("not a query with one question")
	}
	var labels []string
	off := 12
	for {
		if off >= len(q) {
			return nil, errors.New("truncated name")
		}
		l := int(q[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(q) {
			return nil, errors.New("bad label")
		}
		labels = append(labels, string(q[off:off+l]))
		off += l
	}
	if off+4 > len(q) {
		return nil, errors.New("truncated question")
	}
	name := strings.ToLower(strings.Join(labels, ".")) + "."
	qtype := binary.BigEndian.Uint16(q[off:])
	question := q[12 : off+4]
	d.mu.Lock()
	d.names = append(d.names, name)
	d.mu.Unlock()

	addr, known := d.answers[name]
	flags := uint16(0x8000 | 0x0400 | 0x0080) // QR, AA, RA
	flags |= binary.BigEndian.Uint16(q[2:]) & 0x0100
	if !known {
		flags |= 3 // NXDOMAIN
	}
	ancount := uint16(0)
	if known && qtype == 1 {
		ancount = 1
	}
	resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q))
	for _, v := range []uint16{flags, 1, ancount, 0, 0} {
		resp = binary.BigEndian.AppendUint16(resp, v)
	}
	resp = append(resp, question...)
	if ancount == 1 {
		// Name: a pointer to the question's; type A, class IN, TTL 30.
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4)
		resp = append(resp, addr[:]...)
	}
	return resp, nil
}
