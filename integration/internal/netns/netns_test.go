package netns

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/integration/cluster"
)

// newNamespace creates a network namespace with loopback up and removes
// it when the test ends.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := "gnt-" + cluster.RandomHex(4)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	return name
}

// A client inside the namespace reaches, through the relay, a server on
// the root namespace's loopback at the same address; after Close the
// address is closed inside the namespace again.
func TestRelay(t *testing.T) {
	ns := newNamespace(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				c.Write([]byte("root says " + line))
			}()
		}
	}()
	addr := ln.Addr().String()

	dialInside := func() (net.Conn, error) {
		var c net.Conn
		err := Do(ns, func() (err error) {
			c, err = net.Dial("tcp", addr)
			return err
		})
		return c, err
	}
	if c, err := dialInside(); err == nil {
		c.Close()
		t.Fatalf("%s is reachable inside %s before the relay", addr, ns)
	}

	r, err := NewRelay(ns, addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialInside()
	if err != nil {
		r.Close()
		t.Fatalf("dial %s inside %s through the relay: %v", addr, ns, err)
	}
	if _, err := c.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(reply) != "root says hello" {
		t.Errorf("reply %q, %v", reply, err)
	}
	// Close cuts the open connection too.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("read %d bytes from a connection the relay cut", n)
	}
	c.Close()
	if c, err := dialInside(); err == nil {
		c.Close()
		t.Errorf("%s still reachable inside %s after Close", addr, ns)
	}
}
