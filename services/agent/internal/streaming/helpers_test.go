package streaming

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// testPod is the one pod fakePods knows.
var testPod = PodRef{Namespace: "default", Name: "web-0", UID: "uid-1234"}

func testPodRef() *agentv1.PodRef {
	return &agentv1.PodRef{Namespace: testPod.Namespace, Name: testPod.Name, Uid: testPod.UID}
}

// fakePods runs testPod, with the containers in current (latest
// instances) and previous. Container "waiting" is not started; netns is
// the pod's network namespace.
type fakePods struct {
	mu       sync.Mutex
	current  map[string]runtime.ContainerStatus
	previous map[string]runtime.ContainerStatus
	netns    string
}

func (p *fakePods) Container(_ context.Context, pod PodRef, container string, previous bool) (runtime.ContainerStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pod != testPod {
		return runtime.ContainerStatus{}, fmt.Errorf("pod %q in namespace %q (uid %s): %w", pod.Name, pod.Namespace, pod.UID, ErrNotFound)
	}
	if container == "waiting" {
		return runtime.ContainerStatus{}, status.Errorf(codes.FailedPrecondition, "container %q in pod %q is waiting to start: ContainerCreating", container, pod.Name)
	}
	if _, ok := p.current[container]; !ok {
		return runtime.ContainerStatus{}, fmt.Errorf("container %q in pod %q: %w", container, pod.Name, ErrNotFound)
	}
	if previous {
		c, ok := p.previous[container]
		if !ok {
			return runtime.ContainerStatus{}, fmt.Errorf("previous terminated container %q in pod %q: %w", container, pod.Name, ErrNotStarted)
		}
		return c, nil
	}
	return p.current[container], nil
}

func (p *fakePods) NetNS(_ context.Context, pod PodRef) (string, error) {
	if pod != testPod {
		return "", fmt.Errorf("pod %q in namespace %q (uid %s): %w", pod.Name, pod.Namespace, pod.UID, ErrNotFound)
	}
	return p.netns, nil
}

// fakeRuntime reports the states of containers by id and runs fakeExec.
// The Runtime methods the server does not use panic (nil interface).
type fakeRuntime struct {
	runtime.Runtime

	mu     sync.Mutex
	states map[string]runtime.State
	// execDone receives the error of the context of every exec that ended.
	execDone chan error
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{states: map[string]runtime.State{}, execDone: make(chan error, 10)}
}

func (r *fakeRuntime) setState(id string, s runtime.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[id] = s
}

func (r *fakeRuntime) ContainerStatus(_ context.Context, id string) (runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.states[id]
	if !ok {
		return runtime.ContainerStatus{}, fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	return runtime.ContainerStatus{ID: id, State: s}, nil
}

// Exec runs one of these commands:
//
//	echo ARGS...  prints ARGS
//	fail          prints "out" and "err", exits 3
//	cat           copies stdin to stdout
//	size          prints the first terminal size, WIDTHxHEIGHT
//	sleep         waits until the exec is cancelled
//	broken        cannot be run
func (r *fakeRuntime) Exec(ctx context.Context, _ string, cfg runtime.ExecConfig) (int, error) {
	defer func() { r.execDone <- ctx.Err() }()
	stdout, stderr := cfg.Stdout, cfg.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	switch cfg.Cmd[0] {
	case "echo":
		fmt.Fprintln(stdout, strings.Join(cfg.Cmd[1:], " "))
	case "fail":
		fmt.Fprintln(stdout, "out")
		fmt.Fprintln(stderr, "err")
		return 3, nil
	case "cat":
		if cfg.Stdin == nil {
			return 1, nil
		}
		if _, err := io.Copy(stdout, cfg.Stdin); err != nil {
			return 1, err
		}
	case "size":
		select {
		case size := <-cfg.Resize:
			fmt.Fprintf(stdout, "%dx%d\n", size.Width, size.Height)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	case "sleep":
		<-ctx.Done()
		return 0, ctx.Err()
	case "broken":
		return 0, fmt.Errorf("runtime failure")
	default:
		return 127, nil
	}
	return 0, nil
}

// startServer serves s on 127.0.0.1 and returns a client of it.
func startServer(t *testing.T, s *Server, opts ...grpc.ServerOption) agentv1.AgentClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(opts...)
	s.Register(gs)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-served
	})
	return agentv1.NewAgentClient(dial(t, lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())))
}

func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// testContext ends with the test or after a while, so that a stuck call
// fails the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
