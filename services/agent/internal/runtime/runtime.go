// Package runtime is the agent's view of a container runtime: pod
// sandboxes (the namespaces and directory a pod's containers share) and
// containers, images, exec and events. The agent's logic talks only to
// this interface; runtime/containerd implements it on containerd, and
// runtime/fake in memory for tests and simulated nodes.
//
// Containers carry labels naming their pod and container, so that a
// restarted agent finds and re-adopts what is running.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// Label keys every runtime sets on its containers (and reports back).
const (
	LabelPodUID        = "io.gantry.pod.uid"
	LabelPodNamespace  = "io.gantry.pod.namespace"
	LabelPodName       = "io.gantry.pod.name"
	LabelContainerName = "io.gantry.container.name"
	LabelAttempt       = "io.gantry.container.attempt"
	// LabelInit marks init containers ("true").
	LabelInit = "io.gantry.container.init"
)

// ErrNotFound is returned (wrapped) for a missing container, sandbox or
// image.
var ErrNotFound = errors.New("not found")

// Runtime runs pods' sandboxes and containers on this node. Methods are
// safe for concurrent use.
type Runtime interface {
	// EnsureImage makes ref (a normalised reference such as
	// "docker.io/library/nginx:1.25") present according to policy
	// ("Always", "IfNotPresent", "Never") and returns it. Pull errors say
	// what failed; Never with a missing image wraps ErrNotFound.
	EnsureImage(ctx context.Context, ref string, policy string, auth []RegistryAuth) (Image, error)
	// ImportImage imports an OCI or docker archive and returns the image
	// names it held.
	ImportImage(ctx context.Context, archive io.Reader) ([]string, error)
	// ListImages lists the images present.
	ListImages(ctx context.Context) ([]Image, error)

	// CreateSandbox prepares a pod's shared namespaces and directory. It
	// is idempotent: a sandbox that exists is returned as it is.
	CreateSandbox(ctx context.Context, cfg SandboxConfig) (*Sandbox, error)
	// RemoveSandbox releases a pod's namespaces and directory; its
	// containers must be removed first. A missing sandbox is not an error.
	RemoveSandbox(ctx context.Context, podUID string) error
	// ListSandboxes lists the sandboxes present (after an agent restart
	// too).
	ListSandboxes(ctx context.Context) ([]*Sandbox, error)

	// CreateContainer creates (does not start) a container in sb.
	CreateContainer(ctx context.Context, sb *Sandbox, cfg ContainerConfig) (id string, err error)
	// StartContainer starts a created container.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends SIGTERM (or the image's stop signal), then
	// SIGKILL after grace; it returns once the container has exited.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	// RemoveContainer deletes a stopped container and its resources (not
	// its log file).
	RemoveContainer(ctx context.Context, id string) error
	// ListContainers lists every container of this agent, running or not.
	ListContainers(ctx context.Context) ([]ContainerStatus, error)
	// ListPodContainers lists the containers of one pod; its cost grows
	// with the pod's containers, not the node's.
	ListPodContainers(ctx context.Context, podUID string) ([]ContainerStatus, error)
	// ContainerStatus reports one container.
	ContainerStatus(ctx context.Context, id string) (ContainerStatus, error)
	// Exec runs a command in a running container and returns its exit
	// code.
	Exec(ctx context.Context, id string, cfg ExecConfig) (exitCode int, err error)
	// Stats reports a container's resource usage.
	Stats(ctx context.Context, id string) (Stats, error)
	// Events delivers container exits and OOM kills as they happen. There
	// is one channel per runtime; it is closed by Close.
	Events() <-chan Event

	Close() error
}

// RegistryAuth is a credential for one registry (from imagePullSecrets).
type RegistryAuth struct {
	Server   string // "docker.io", "127.0.0.1:5000"
	Username string
	Password string
	// IdentityToken or RegistryToken may replace the password.
	IdentityToken string
}

// Image is an image present on the node.
type Image struct {
	Name string // the reference it is known by
	ID   string // digest of its config ("sha256:...")
	Size int64
	// Config from the image: defaults for containers.
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	StopSignal string
}

// SandboxConfig describes a pod's sandbox.
type SandboxConfig struct {
	PodUID    string
	Namespace string
	Name      string
	// Hostname of the pod's containers (the pod's name, or spec.hostname).
	Hostname string
	// HostNetwork and HostIPC share the node's namespaces instead.
	HostNetwork bool
	HostIPC     bool
	HostPID     bool
}

// Sandbox is a pod's shared environment.
type Sandbox struct {
	PodUID    string
	Namespace string
	Name      string
	// NetNS is the path of the pod's network namespace file, empty for
	// host networking (and for runtimes without real namespaces).
	NetNS string
	// IPCNS is the path of the pod's IPC namespace file, empty for host IPC.
	IPCNS string
	// Dir is a directory of the pod's own on the node: volumes, /etc/hosts
	// and resolv.conf files, logs live below it.
	Dir string
	// HostNetwork, HostIPC and HostPID as configured.
	HostNetwork, HostIPC, HostPID bool
}

// Mount binds a host path into a container.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
	// Propagation: "", "rprivate", "rslave" or "rshared".
	Propagation string
}

// ContainerConfig describes a container to create.
type ContainerConfig struct {
	Name    string // the pod spec's container name
	Attempt int    // restart count of this container in the pod
	Init    bool   // an init container
	Image   Image  // as returned by EnsureImage
	// Command and Args override the image's entrypoint and cmd, as
	// Kubernetes defines it.
	Command    []string
	Args       []string
	Env        []string // "NAME=value", after the image's
	WorkingDir string
	Mounts     []Mount
	Hostname   string

	// User to run as; nil means the image's.
	RunAsUser          *int64
	RunAsGroup         *int64
	SupplementalGroups []int64
	ReadOnlyRootfs     bool
	Privileged         bool
	CapAdd, CapDrop    []string
	// NoNewPrivileges when allowPrivilegeEscalation is false.
	NoNewPrivileges bool

	Resources Resources

	TTY       bool
	Stdin     bool
	StdinOnce bool

	// LogPath is the file the container's output goes to, in the CRI log
	// format ("<RFC3339Nano> stdout|stderr F|P <line>"), rotated at
	// LogMaxBytes keeping LogMaxFiles files.
	LogPath     string
	LogMaxBytes int64
	LogMaxFiles int

	// Labels and Annotations are stored with the container; the Label*
	// keys are set by the runtime from the fields above.
	Labels map[string]string
}

// Resources are a container's cgroup limits (cgroup v1 here).
type Resources struct {
	CPUShares   uint64 // from requests.cpu (2 minimum, 1024 per CPU)
	CPUQuota    int64  // from limits.cpu, µs per CPUPeriod; 0 = none
	CPUPeriod   uint64 // 100000
	MemoryLimit int64  // bytes, 0 = none
	PidsLimit   int64  // 0 = none
	// CgroupParent is the pod's cgroup ("/gantry/pod<uid>").
	CgroupParent string
}

// State of a container.
type State string

const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
	StateUnknown State = "unknown"
)

// ContainerStatus is what the runtime knows of a container.
type ContainerStatus struct {
	ID        string
	PodUID    string
	Name      string // the pod spec's container name
	Attempt   int
	Init      bool
	Image     string
	ImageID   string
	State     State
	CreatedAt time.Time
	StartedAt time.Time
	// FinishedAt, ExitCode and Reason are set once it has exited. Reason
	// is "OOMKilled", "Completed" (exit 0) or "Error".
	FinishedAt time.Time
	ExitCode   int
	Reason     string
	Message    string
	LogPath    string
	Labels     map[string]string
}

// ExecConfig describes a command run in a container.
type ExecConfig struct {
	Cmd    []string
	TTY    bool
	Stdin  io.Reader // nil: no stdin
	Stdout io.Writer // nil: discarded
	Stderr io.Writer // nil: discarded (ignored with TTY)
	// Resize delivers terminal size changes for TTY sessions.
	Resize <-chan TermSize
	// Timeout kills the command after this long (0 = none).
	Timeout time.Duration
}

// TermSize is a terminal's size.
type TermSize struct{ Width, Height uint16 }

// Stats are a container's resource usage.
type Stats struct {
	Time             time.Time
	CPUUsageNanos    uint64 // cumulative
	MemoryWorkingSet uint64 // bytes: usage minus inactive file cache
	MemoryUsage      uint64
	PidsCurrent      uint64
}

// EventType of a runtime event.
type EventType string

const (
	EventExit EventType = "exit"
	EventOOM  EventType = "oom"
)

// Event is a change of a container the agent must react to.
type Event struct {
	Type        EventType
	ContainerID string
	PodUID      string
	ExitCode    int
	Time        time.Time
}
