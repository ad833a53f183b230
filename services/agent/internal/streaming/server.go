package streaming

import (
	"context"
	"log/slog"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"google.golang.org/grpc"
)

// PodRef names a pod the agent runs.
type PodRef struct {
	Namespace, Name, UID string
}

func podRefOf(p *agentv1.PodRef) PodRef {
	return PodRef{Namespace: p.GetNamespace(), Name: p.GetName(), UID: p.GetUid()}
}

// PodLookup finds the pods and containers the agent runs. Errors wrap
// ErrNotFound (no such pod, uid or container) or ErrNotStarted (no such
// container instance yet, or no previous one), or are gRPC status errors;
// their text is shown to the user and should read like the kubelet's, for
// example `container "web" in pod "web-0" is waiting to start:
// ContainerCreating`.
type PodLookup interface {
	// Container reports the latest instance of a container of the pod, or
	// with previous the one before it.
	Container(ctx context.Context, pod PodRef, container string, previous bool) (runtime.ContainerStatus, error)
	// NetNS returns the path of the pod's network namespace file, "" when
	// the pod uses the host's network.
	NetNS(ctx context.Context, pod PodRef) (string, error)
}

// Runtime is what the server needs of the container runtime;
// runtime.Runtime has it.
type Runtime interface {
	ContainerStatus(ctx context.Context, id string) (runtime.ContainerStatus, error)
	Exec(ctx context.Context, id string, cfg runtime.ExecConfig) (exitCode int, err error)
}

// Config of the server.
type Config struct {
	Pods    PodLookup
	Runtime Runtime
	Log     *slog.Logger
	// FollowInterval is how often a followed log is checked for new lines
	// and its container for its exit (250 ms when zero).
	FollowInterval time.Duration
}

// Server implements agentv1.AgentServer.
type Server struct {
	agentv1.UnimplementedAgentServer
	pods     PodLookup
	runtime  Runtime
	log      *slog.Logger
	interval time.Duration
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.FollowInterval <= 0 {
		cfg.FollowInterval = 250 * time.Millisecond
	}
	return &Server{
		pods:     cfg.Pods,
		runtime:  cfg.Runtime,
		log:      cfg.Log.With("component", "streaming"),
		interval: cfg.FollowInterval,
	}
}

// Register registers the Agent service on s.
func (s *Server) Register(gs grpc.ServiceRegistrar) {
	agentv1.RegisterAgentServer(gs, s)
}
