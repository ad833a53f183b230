package containerdtest

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
)

func TestStartContainerdAndCleanUp(t *testing.T) {
	c, err := startContainerd()
	if err != nil {
		if c != nil {
			c.stop()
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := containerd.New(c.Address, containerd.WithDefaultNamespace(c.Namespace))
	if err != nil {
		c.stop()
		t.Fatal(err)
	}
	v, err := client.Version(ctx)
	client.Close()
	if err != nil {
		c.stop()
		t.Fatal(err)
	}
	t.Logf("containerd %s at %s in %s", v.Version, c.Address, c.Dir)

	c.Restart(t)
	client, err = containerd.New(c.Address)
	if err != nil {
		c.stop()
		t.Fatal(err)
	}
	client.Close()

	pid := c.PID
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("containerd (pid %d) still running", pid)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("%s not removed: %v", c.Dir, err)
	}
}
