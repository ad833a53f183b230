package pods

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Network wires a pod's network namespace.
type Network interface {
	// Setup connects the pod and returns its IPs (idempotent).
	Setup(ctx context.Context, pod *corev1.Pod, netns string) ([]string, error)
	// Teardown disconnects the pod (also when netns is gone).
	Teardown(ctx context.Context, pod *corev1.Pod, netns string) error
}

// Volumes prepares a pod's volumes and its /etc/hosts and resolv.conf.
type Volumes interface {
	// Setup makes every volume of the pod and returns the host path of
	// each by name.
	Setup(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error)
	// Mounts turns a container's volumeMounts into bind mounts; env is the
	// container's resolved environment (for subPathExpr).
	Mounts(pod *corev1.Pod, c *corev1.Container, paths map[string]string, env []string) ([]runtime.Mount, error)
	// PodFiles writes /etc/hosts and resolv.conf for the pod and returns
	// their mounts.
	PodFiles(pod *corev1.Pod, podDir string, ips []string) ([]runtime.Mount, error)
	// Refresh rewrites configMap, secret, downwardAPI and projected
	// volumes whose sources changed.
	Refresh(ctx context.Context, pod *corev1.Pod, podDir string) error
	// Teardown removes what Setup made.
	Teardown(ctx context.Context, pod *corev1.Pod, podDir string) error
}

// Cgroups are the pods' cgroups on the host (package cgroups).
type Cgroups interface {
	// PodCgroup is the cgroup a pod's containers go under.
	PodCgroup(uid string) string
	// Remove removes a pod's cgroup (rmdir only: one with tasks stays
	// and is an error); a cgroup that is not there is no error.
	Remove(uid string) error
	// List returns the uids of the pods that have a cgroup.
	List() ([]string, error)
}

// API is what the workers need of the API server.
type API interface {
	// UpdatePodStatus writes a pod's status.
	UpdatePodStatus(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error)
	// DeletePod removes a pod whose containers have stopped (grace period
	// 0, precondition on its uid).
	DeletePod(ctx context.Context, namespace, name string, uid types.UID) error
	// Secret and ConfigMap read what env, envFrom and image pulls need.
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	// Services lists the Services of a namespace (service links).
	Services(ctx context.Context, namespace string) ([]corev1.Service, error)
}

// Recorder records Kubernetes Events about pods.
type Recorder interface {
	Event(pod *corev1.Pod, eventType, reason, message string)
}

// Clock is the time source (tests move it).
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
