package node

import (
	"context"
	"log/slog"
	"maps"
	"runtime"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// Node registers this agent's Node and keeps its Lease and status. Its
// accessors are safe for concurrent use with Run.
type Node struct {
	cfg   Config
	api   API
	clock clock.Clock
	log   *slog.Logger

	labels     map[string]string // at registration
	addresses  []corev1.NodeAddress
	info       corev1.NodeSystemInfo
	registered chan struct{}

	mu   sync.Mutex
	node *corev1.Node // as last seen

	// Owned by the lease loop.
	lease *coordinationv1.Lease // as last written

	// Owned by the status loop (and registration before it).
	lastReport   time.Time // of the status
	stats        MachineStats
	statsErr     string // the last measurement's error, logged once
	pressureSeen map[corev1.NodeConditionType]time.Time
}

// New checks cfg and reads the machine's system info; Run registers the
// node.
func New(cfg Config) (*Node, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:          cfg,
		api:          cfg.API,
		clock:        cfg.Clock,
		log:          cfg.Log.With("component", "node", "node", cfg.Name),
		addresses:    addresses(cfg.NodeIP, cfg.Hostname),
		registered:   make(chan struct{}),
		pressureSeen: map[corev1.NodeConditionType]time.Time{},
	}
	n.labels = map[string]string{
		corev1.LabelHostname:   cfg.Hostname,
		corev1.LabelOSStable:   runtime.GOOS,
		corev1.LabelArchStable: runtime.GOARCH,
	}
	maps.Copy(n.labels, cfg.Labels)
	info, err := cfg.Machine.SystemInfo()
	if err != nil {
		n.log.Warn("reading the system info", "err", err)
	}
	info.ContainerRuntimeVersion = cfg.RuntimeVersion
	info.KubeletVersion = cfg.KubeletVersion
	n.info = info
	return n, nil
}

// Name is the Node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Registered is closed once the Node is registered.
func (n *Node) Registered() <-chan struct{} { return n.registered }

// Node is the Node as last seen (a copy), nil before registration.
func (n *Node) Node() *corev1.Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.node == nil {
		return nil
	}
	return n.node.DeepCopy()
}

// PodCIDR is the Node's spec.podCIDR once the IPAM controller has set it,
// else Config.PodCIDR.
func (n *Node) PodCIDR() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.node != nil && n.node.Spec.PodCIDR != "" {
		return n.node.Spec.PodCIDR
	}
	return n.cfg.PodCIDR
}

func (n *Node) setNode(node *corev1.Node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.node = node
}

// nodeUID is the UID of the Node as last seen.
func (n *Node) nodeUID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.node == nil {
		return ""
	}
	return string(n.node.UID)
}

// Run registers the Node, retrying until it succeeds, then renews the
// Lease and updates the status until ctx ends; it returns nil then. It
// returns an error only when the API server rejects the Node as invalid.
// Run once.
func (n *Node) Run(ctx context.Context) error {
	if err := n.retry(ctx, "register", n.register); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	n.log.Info("registered", "podCIDR", n.PodCIDR())
	close(n.registered)
	var wg sync.WaitGroup
	wg.Go(func() { n.every(ctx, "renew lease", n.cfg.HeartbeatInterval, n.syncLease) })
	n.every(ctx, "update status", n.cfg.StatusUpdateFrequency, n.syncStatus)
	wg.Wait()
	return nil
}
