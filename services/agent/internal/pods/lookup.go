package pods

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Lookup errors, for the streaming server to map to gRPC codes.
var (
	// ErrPodNotFound: no pod by that name (and uid) runs here.
	ErrPodNotFound = errors.New("pod not found on this node")
	// ErrContainerNotFound: the pod has no such container.
	ErrContainerNotFound = errors.New("container not found")
	// ErrNotStarted: the container (or its previous attempt) does not exist
	// yet.
	ErrNotStarted = errors.New("container not started")
)

// Pod returns the pod with this namespace and name (and uid, when set)
// that runs on the node.
func (m *Manager) Pod(namespace, name string, uid types.UID) (*corev1.Pod, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, w := range m.workers {
		pod, _ := w.snapshot()
		if pod.Namespace == namespace && pod.Name == name && (uid == "" || uid == id) {
			return pod, nil
		}
	}
	return nil, fmt.Errorf("pod %q in namespace %q is not running on this node: %w", name, namespace, ErrPodNotFound)
}

// Container reports a container of a pod: its latest attempt, or the one
// before with previous.
func (m *Manager) Container(ctx context.Context, namespace, name string, uid types.UID, container string, previous bool) (runtime.ContainerStatus, error) {
	pod, err := m.Pod(namespace, name, uid)
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	if specOf(pod, container) == nil {
		return runtime.ContainerStatus{}, fmt.Errorf("container %s is not valid for pod %s: %w", container, name, ErrContainerNotFound)
	}
	all, err := m.cfg.Runtime.ListPodContainers(ctx, string(pod.UID))
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	var attempts []runtime.ContainerStatus
	for _, c := range all {
		if c.Name == container {
			attempts = append(attempts, c)
		}
	}
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].Attempt > attempts[j].Attempt })
	i := 0
	if previous {
		i = 1
	}
	if len(attempts) <= i {
		if previous {
			return runtime.ContainerStatus{}, fmt.Errorf("previous terminated container %q in pod %q not found: %w", container, name, ErrNotStarted)
		}
		return runtime.ContainerStatus{}, fmt.Errorf("container %q in pod %q is waiting to start: %w", container, name, ErrNotStarted)
	}
	return attempts[i], nil
}

// NetNS returns the path of a pod's network namespace ("" for host
// networking).
func (m *Manager) NetNS(ctx context.Context, namespace, name string, uid types.UID) (string, error) {
	pod, err := m.Pod(namespace, name, uid)
	if err != nil {
		return "", err
	}
	if pod.Spec.HostNetwork {
		return "", nil
	}
	sbs, err := m.cfg.Runtime.ListSandboxes(ctx)
	if err != nil {
		return "", err
	}
	for _, sb := range sbs {
		if sb.PodUID == string(pod.UID) {
			return sb.NetNS, nil
		}
	}
	return "", fmt.Errorf("pod %q has no sandbox yet: %w", name, ErrNotStarted)
}
