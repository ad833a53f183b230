package fake

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// TestConcurrentUse runs containers from many goroutines on the real
// clock (run it with -race): every exit is delivered exactly once.
func TestConcurrentUse(t *testing.T) {
	const workers, perWorker = 8, 25
	r := New(Config{})
	defer r.Close()
	ctx := context.Background()

	exits := map[string]int{}
	received := make(chan struct{})
	go func() {
		defer close(received)
		for ev := range r.Events() {
			if ev.Type == runtime.EventExit {
				exits[ev.ContainerID]++
				if len(exits) == workers*perWorker {
					return
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			uid := fmt.Sprintf("pod-%d", w)
			sb, err := r.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: uid, Namespace: "ns", Name: uid})
			if err != nil {
				t.Error(err)
				return
			}
			for i := range perWorker {
				env := []string{"FAKE_RUN_FOR=1ms"}
				if i%2 == 0 {
					env = nil // stopped below instead
				}
				id, err := r.CreateContainer(ctx, sb, runtime.ContainerConfig{Name: "c", Attempt: i, Env: env})
				if err == nil {
					err = r.StartContainer(ctx, id)
				}
				if err == nil {
					_, err = r.Exec(ctx, id, runtime.ExecConfig{Cmd: []string{"echo"}})
					if err != nil && i%2 == 1 {
						err = nil // it may have exited already
					}
				}
				if err == nil {
					err = r.StopContainer(ctx, id, time.Second)
				}
				if err == nil {
					_, err = r.ListContainers(ctx)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-received:
	case <-time.After(10 * time.Second):
		t.Fatalf("received %d exits, want %d", len(exits), workers*perWorker)
	}
	for id, n := range exits {
		if n != 1 {
			t.Errorf("%s exited %d times", id, n)
		}
	}
}

// TestManyNodes holds 1,000 nodes of 30 running containers each: the
// runtimes cost one goroutine each, the containers none.
func TestManyNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const nodes, pods, containers = 1000, 10, 3
	ctx := context.Background()
	before := goruntime.NumGoroutine()
	rts := make([]*Runtime, nodes)
	for n := range rts {
		r := New(Config{})
		rts[n] = r
		for p := range pods {
			sb, err := r.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: fmt.Sprint(p), Namespace: "ns", Name: fmt.Sprint(p)})
			if err != nil {
				t.Fatal(err)
			}
			for c := range containers {
				id, err := r.CreateContainer(ctx, sb, runtime.ContainerConfig{Name: fmt.Sprint(c), Env: []string{"FAKE_MEMORY=10Mi"}})
				if err == nil {
					err = r.StartContainer(ctx, id)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if got := goruntime.NumGoroutine() - before; got > nodes+10 {
		t.Errorf("%d goroutines for %d nodes", got, nodes)
	}
	for _, r := range rts {
		if list, _ := r.ListContainers(ctx); len(list) != pods*containers {
			t.Fatalf("%d containers", len(list))
		}
		_ = r.Close()
	}
}
