package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
)

// Config of a node. Client (or API) is required; the rest has kubelet's
// defaults.
type Config struct {
	// Name of the Node; default Hostname.
	Name string
	// Client reaches the API server. API, when set, is used instead
	// (tests).
	Client *client.Client
	API    API

	// NodeIP is the node's InternalIP address; default the source address
	// of the default route, else the first non-loopback address.
	NodeIP net.IP
	// Hostname is the Hostname address and the kubernetes.io/hostname
	// label; default the host's name, lowercased.
	Hostname string
	// Labels are set at registration, over the default ones
	// (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch).
	Labels map[string]string
	// Taints are set at registration (not on an adopted Node).
	Taints []corev1.Taint
	// PodCIDR is the pod network used until the Node's spec.podCIDR is
	// set by the node IPAM controller.
	PodCIDR string

	// Capacity replaces, per resource, what the machine reports
	// (simulated nodes).
	Capacity corev1.ResourceList
	// Reserved is kept from pods: system-reserved plus kube-reserved
	// (cpu, memory, ephemeral-storage).
	Reserved corev1.ResourceList
	// MaxPods is the pods capacity; default 110.
	MaxPods int
	// Thresholds of the pressure conditions, which allocatable also
	// keeps free.
	Thresholds Thresholds
	// PressureTransitionPeriod is how long a pressure condition stays True
	// after the pressure is gone; default 5m (kubelet's
	// --eviction-pressure-transition-period).
	PressureTransitionPeriod time.Duration

	// Machine measures the host; default HostMachine(StateDir).
	Machine Machine
	// StateDir is the agent's state directory: the node's ephemeral
	// storage is its filesystem. Default /var/lib/gantry.
	StateDir string

	// Ready, when set, says why the node cannot run pods (nil: it can);
	// an error makes the node NotReady with its text as the message.
	Ready func() error
	// NetworkReady, when set, says why the pod network is not set up;
	// an error makes the node NetworkUnavailable and NotReady.
	NetworkReady func() error
	// Images, when set, lists the images reported in status.images.
	Images ImageLister

	// AgentPort is the port the agent serves on
	// (daemonEndpoints.kubeletEndpoint.Port).
	AgentPort int32
	// RuntimeVersion is the container runtime's, "containerd://2.1.4".
	RuntimeVersion string
	// KubeletVersion is reported as nodeInfo.kubeletVersion; default the
	// Kubernetes version whose API the agent is built against, as the API
	// server reports it ("v1.37.2+gantry").
	KubeletVersion string

	// HeartbeatInterval is how often the Lease is renewed; default 10s.
	HeartbeatInterval time.Duration
	// LeaseDuration is the Lease's leaseDurationSeconds; default 40s.
	LeaseDuration time.Duration
	// StatusUpdateFrequency is how often the status is computed; default
	// 10s.
	StatusUpdateFrequency time.Duration
	// StatusReportFrequency is how often an unchanged status is written
	// anyway; default 5m.
	StatusReportFrequency time.Duration

	Clock clock.Clock
	Log   *slog.Logger
}

// ImageLister lists the images on the node; runtime.Runtime is one.
type ImageLister interface {
	ListImages(ctx context.Context) ([]runtime.Image, error)
}

// Thresholds below which the node is under pressure. Zero fields take the
// defaults; a negative one turns that signal off.
type Thresholds struct {
	// MemoryAvailable: default 100Mi.
	MemoryAvailable resource.Quantity
	// DiskAvailable is the fraction of the state filesystem that must stay
	// free; default 0.10.
	DiskAvailable float64
	// InodesFree is the fraction of inodes that must stay free; default
	// 0.05.
	InodesFree float64
	// PIDAvailable is the fraction of process IDs that must stay free;
	// default 0.05.
	PIDAvailable float64
}

const (
	defaultMaxPods  = 110
	defaultStateDir = "/var/lib/gantry"
	// leaseNamespace holds the nodes' Leases.
	leaseNamespace = corev1.NamespaceNodeLease
)

func (cfg *Config) setDefaults() error {
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("host name: %w", err)
		}
		cfg.Hostname = h
	}
	cfg.Hostname = strings.ToLower(cfg.Hostname)
	if cfg.Name == "" {
		cfg.Name = cfg.Hostname
	}
	if cfg.NodeIP == nil {
		ip, err := defaultNodeIP()
		if err != nil {
			return err
		}
		cfg.NodeIP = ip
	}
	if cfg.API == nil && cfg.Client != nil {
		cfg.API = ClientAPI(cfg.Client)
	}
	if cfg.MaxPods == 0 {
		cfg.MaxPods = defaultMaxPods
	}
	if cfg.StateDir == "" {
		cfg.StateDir = defaultStateDir
	}
	if cfg.Machine == nil {
		cfg.Machine = HostMachine(cfg.StateDir)
	}
	cfg.Thresholds.setDefaults()
	setDuration(&cfg.PressureTransitionPeriod, 5*time.Minute)
	setDuration(&cfg.HeartbeatInterval, 10*time.Second)
	setDuration(&cfg.LeaseDuration, 40*time.Second)
	setDuration(&cfg.StatusUpdateFrequency, 10*time.Second)
	setDuration(&cfg.StatusReportFrequency, 5*time.Minute)
	if cfg.KubeletVersion == "" {
		cfg.KubeletVersion = kubeVersion()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return nil
}

func (t *Thresholds) setDefaults() {
	if t.MemoryAvailable.IsZero() {
		t.MemoryAvailable = resource.MustParse("100Mi")
	}
	setFraction(&t.DiskAvailable, 0.10)
	setFraction(&t.InodesFree, 0.05)
	setFraction(&t.PIDAvailable, 0.05)
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

func setFraction(f *float64, def float64) {
	if *f == 0 {
		*f = def
	}
}

func (cfg *Config) validate() error {
	var errs []error
	if cfg.API == nil {
		errs = append(errs, errors.New("Client or API is required"))
	}
	for _, msg := range validation.IsDNS1123Subdomain(cfg.Name) {
		errs = append(errs, fmt.Errorf("name %q: %s", cfg.Name, msg))
	}
	for k, v := range cfg.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("label %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("label %s=%q: %s", k, v, msg))
		}
	}
	if cfg.PodCIDR != "" {
		if _, _, err := net.ParseCIDR(cfg.PodCIDR); err != nil {
			errs = append(errs, fmt.Errorf("pod CIDR: %w", err))
		}
	}
	if cfg.LeaseDuration < time.Second || cfg.HeartbeatInterval >= cfg.LeaseDuration {
		errs = append(errs, errors.New("LeaseDuration must be at least 1s and longer than HeartbeatInterval"))
	}
	if cfg.MaxPods < 0 {
		errs = append(errs, errors.New("MaxPods must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}
