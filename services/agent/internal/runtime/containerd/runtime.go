package containerd

import (
	"context"
	"errors"
	"fmt"
	"github.com/gantry-dev/gantry/services/agent/internal/keyed"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// Defaults of Config.
const (
	DefaultAddress      = "/run/containerd/containerd.sock"
	DefaultNamespace    = "gantry"
	DefaultSnapshotter  = "overlayfs"
	DefaultCgroupParent = "/gantry"
	DefaultShmSize      = 64 << 20
	// runcRuntime is the shim every container runs with.
	runcRuntime = "io.containerd.runc.v2"
)

// Config of a Runtime.
type Config struct {
	// Address of containerd's gRPC socket.
	Address string
	// Namespace (containerd's) holding this agent's images and
	// containers.
	Namespace string
	// StateDir holds the pods' directories (pods/<uid>) and exec fifos.
	// Required.
	StateDir string
	// RuncRoot is runc's state directory for these containers; empty
	// leaves the shim's default (/run/containerd/runc).
	RuncRoot string
	// Snapshotter images are unpacked for (overlayfs).
	Snapshotter string
	// LoggerBinary is the executable containerd's shim runs as each
	// container's log writer ("<LoggerBinary> logger <options>"):
	// gantry-logger, or any program that runs logger.Main for that
	// subcommand; default: this process's own executable.
	LoggerBinary string
	// LocalRegistries are registry hosts whose images are imported, never
	// pulled (default: gantry.local).
	LocalRegistries []string
	// DefaultCgroupParent is used for containers whose Resources name no
	// CgroupParent.
	DefaultCgroupParent string
	// ShmSize is the size of a pod's /dev/shm tmpfs in bytes.
	ShmSize int64
	Logger  *slog.Logger
}

// Runtime is runtime.Runtime on containerd.
type Runtime struct {
	cfg    Config
	client *containerd.Client
	log    *slog.Logger

	locks keyed.Mutex // by container id, and by "pod/<uid>" for sandboxes

	images imageCache

	oomMu sync.Mutex
	oom   map[string]bool // containers the OOM killer hit (TaskOOM)

	// events is closed by Close once no emit can send on it: emitters
	// hold emitMu for reading and give up when stopping is closed.
	events    chan runtime.Event
	emitMu    sync.RWMutex
	closed    bool
	stopping  chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to containerd and starts following its task events; Close
// stops it.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("containerd runtime: no state directory")
	}
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = DefaultSnapshotter
	}
	if cfg.DefaultCgroupParent == "" {
		cfg.DefaultCgroupParent = DefaultCgroupParent
	}
	if cfg.ShmSize == 0 {
		cfg.ShmSize = DefaultShmSize
	}
	if cfg.LocalRegistries == nil {
		cfg.LocalRegistries = []string{"gantry.local"}
	}
	if cfg.LoggerBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("containerd runtime: logger binary: %w", err)
		}
		cfg.LoggerBinary = exe
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{podsDir(cfg.StateDir), fifoDir(cfg.StateDir)} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("containerd runtime: %w", err)
		}
	}
	client, err := containerd.New(cfg.Address,
		containerd.WithDefaultNamespace(cfg.Namespace),
		containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", cfg.Address, err)
	}
	ctx = namespaces.WithNamespace(ctx, cfg.Namespace)
	if _, err := client.Version(ctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("containerd at %s: %w", cfg.Address, err)
	}
	r := &Runtime{
		cfg:      cfg,
		client:   client,
		log:      cfg.Logger.With("component", "containerd-runtime", "namespace", cfg.Namespace),
		oom:      map[string]bool{},
		events:   make(chan runtime.Event, 1024),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	watchCtx, cancel := context.WithCancel(namespaces.WithNamespace(context.Background(), cfg.Namespace))
	r.cancel = cancel
	go r.watchEvents(watchCtx)
	return r, nil
}

// Client is the containerd client the runtime uses (for tests and
// tools).
func (r *Runtime) Client() *containerd.Client { return r.client }

// Events delivers container exits and OOM kills; the channel is closed by
// Close.
func (r *Runtime) Events() <-chan runtime.Event { return r.events }

// Close stops following events, closes the Events channel and the
// connection. Containers keep running. Closing again does nothing.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		close(r.stopping)
		<-r.done
		r.emitMu.Lock()
		r.closed = true
		close(r.events)
		r.emitMu.Unlock()
		r.closeErr = r.client.Close()
	})
	return r.closeErr
}

// nsctx returns ctx in the runtime's containerd namespace.
func (r *Runtime) nsctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.cfg.Namespace)
}

func podsDir(stateDir string) string { return filepath.Join(stateDir, "pods") }
func fifoDir(stateDir string) string { return filepath.Join(stateDir, "fifo") }
