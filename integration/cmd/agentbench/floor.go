package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/types/runc/options"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
)

const (
	image          = "gantry.local/busybox:latest"
	agentNamespace = "gantry"           // where the agent imports its built-in image
	floorNamespace = "agentbench-floor" // the floor's containers, out of the agent's sight
)

// floorResult is one floor run.
type floorResult struct {
	perContainer []time.Duration // create+start of each container
	total        time.Duration   // first create to last start
	remove       time.Duration   // removing them all
}

// floor measures bare containerd: busybox `sleep 3600` containers created
// and started through the containerd/v2 client, first one after another,
// then n at once; each run's containers are removed afterwards.
type floor struct {
	client   *containerd.Client
	img      containerd.Image
	runcRoot string
	seq      int
}

// newFloor copies the agent's built-in image into a namespace of the
// floor's own (so the agent never sees the floor's containers) and unpacks
// it there.
func newFloor(ctx context.Context, sock, runcRoot string) (*floor, error) {
	client, err := containerd.New(sock, containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, err
	}
	src := namespaces.WithNamespace(ctx, agentNamespace)
	dst := namespaces.WithNamespace(ctx, floorNamespace)
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(client.Export(src, pw, archive.WithImage(client.ImageService(), image)))
	}()
	imgs, err := client.Import(dst, pr)
	pr.CloseWithError(err)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("copy %s into namespace %s: %w", image, floorNamespace, err)
	}
	if len(imgs) == 0 {
		client.Close()
		return nil, fmt.Errorf("copy %s into namespace %s: nothing imported", image, floorNamespace)
	}
	img := containerd.NewImage(client, imgs[0])
	if err := img.Unpack(dst, "overlayfs"); err != nil {
		client.Close()
		return nil, fmt.Errorf("unpack %s: %w", image, err)
	}
	return &floor{client: client, img: img, runcRoot: runcRoot}, nil
}

func (f *floor) close() { f.client.Close() }

// start creates and starts one container and returns it.
func (f *floor) start(ctx context.Context, id string) (containerd.Container, error) {
	ctr, err := f.client.NewContainer(ctx, id,
		containerd.WithImage(f.img),
		containerd.WithSnapshotter("overlayfs"),
		containerd.WithNewSnapshot(id, f.img),
		containerd.WithRuntime("io.containerd.runc.v2", &options.Options{Root: f.runcRoot}),
		containerd.WithNewSpec(oci.WithImageConfig(f.img), oci.WithProcessArgs("sleep", "3600")))
	if err != nil {
		return nil, err
	}
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		return ctr, err
	}
	return ctr, task.Start(ctx)
}

// sequential starts n containers one after another.
func (f *floor) sequential(ctx context.Context, n int) (floorResult, error) {
	ctx = namespaces.WithNamespace(ctx, floorNamespace)
	var res floorResult
	var ctrs []containerd.Container
	begin := time.Now()
	var err error
	for i := 0; i < n && err == nil; i++ {
		f.seq++
		t0 := time.Now()
		var ctr containerd.Container
		ctr, err = f.start(ctx, fmt.Sprintf("floor-seq-%d", f.seq))
		if ctr != nil {
			ctrs = append(ctrs, ctr)
		}
		res.perContainer = append(res.perContainer, time.Since(t0))
	}
	res.total = time.Since(begin)
	t0 := time.Now()
	rerr := f.remove(ctx, ctrs, 1)
	res.remove = time.Since(t0)
	return res, errors.Join(err, rerr)
}

// burst starts n containers at once, each from its own goroutine.
func (f *floor) burst(ctx context.Context, n int) (floorResult, error) {
	ctx = namespaces.WithNamespace(ctx, floorNamespace)
	res := floorResult{perContainer: make([]time.Duration, n)}
	ctrs := make([]containerd.Container, n)
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range ids {
		f.seq++
		ids[i] = fmt.Sprintf("floor-burst-%d", f.seq)
	}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			t0 := time.Now()
			ctrs[i], errs[i] = f.start(ctx, ids[i])
			res.perContainer[i] = time.Since(t0)
		}()
	}
	begin := time.Now()
	close(gate)
	wg.Wait()
	res.total = time.Since(begin)
	var live []containerd.Container
	for _, c := range ctrs {
		if c != nil {
			live = append(live, c)
		}
	}
	t0 := time.Now()
	rerr := f.remove(ctx, live, 16)
	res.remove = time.Since(t0)
	return res, errors.Join(append(errs, rerr)...)
}

// remove kills and deletes containers, parallel at a time.
func (f *floor) remove(ctx context.Context, ctrs []containerd.Container, parallel int) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	sem := make(chan struct{}, parallel)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, c := range ctrs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := removeContainer(ctx, c); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// removeContainer kills its task if any, deletes it, then the container
// and its snapshot.
func removeContainer(ctx context.Context, ctr containerd.Container) error {
	if task, err := ctr.Task(ctx, nil); err == nil {
		if wait, err := task.Wait(ctx); err == nil {
			if err := task.Kill(ctx, syscall.SIGKILL); err == nil {
				select {
				case <-wait:
				case <-time.After(10 * time.Second):
				}
			}
		}
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil {
			return fmt.Errorf("delete task %s: %w", ctr.ID(), err)
		}
	}
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		return fmt.Errorf("delete container %s: %w", ctr.ID(), err)
	}
	return nil
}
