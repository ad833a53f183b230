package agent

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/gantry-dev/gantry/services/agent/internal/pods"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"github.com/gantry-dev/gantry/services/agent/internal/streaming"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"
)

// podLookup lets the streaming server find containers and network
// namespaces through the pod manager.
type podLookup struct{ m *pods.Manager }

func (l podLookup) Container(ctx context.Context, pod streaming.PodRef, container string, previous bool) (runtime.ContainerStatus, error) {
	c, err := l.m.Container(ctx, pod.Namespace, pod.Name, types.UID(pod.UID), container, previous)
	return c, lookupError(err)
}

func (l podLookup) NetNS(ctx context.Context, pod streaming.PodRef) (string, error) {
	ns, err := l.m.NetNS(ctx, pod.Namespace, pod.Name, types.UID(pod.UID))
	return ns, lookupError(err)
}

// lookupError turns the pod manager's errors into the gRPC statuses the
// API server maps to kubectl's messages.
func lookupError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pods.ErrPodNotFound), errors.Is(err, pods.ErrContainerNotFound):
		return status.Error(codes.NotFound, trimSentinel(err))
	case errors.Is(err, pods.ErrNotStarted):
		return status.Error(codes.FailedPrecondition, trimSentinel(err))
	}
	return err
}

// trimSentinel drops the ": <sentinel>" the pod manager wraps its errors
// with, leaving kubelet's wording.
func trimSentinel(err error) string {
	msg := err.Error()
	for _, s := range []error{pods.ErrPodNotFound, pods.ErrContainerNotFound, pods.ErrNotStarted} {
		suffix := fmt.Sprintf(": %v", s)
		if len(msg) > len(suffix) && msg[len(msg)-len(suffix):] == suffix {
			return msg[:len(msg)-len(suffix)]
		}
	}
	return msg
}

// lazyLookup answers Unavailable until the pod manager is running.
type lazyLookup struct{ p atomic.Pointer[podLookup] }

func (l *lazyLookup) Store(p *podLookup) { l.p.Store(p) }

func (l *lazyLookup) Container(ctx context.Context, pod streaming.PodRef, container string, previous bool) (runtime.ContainerStatus, error) {
	p := l.p.Load()
	if p == nil {
		return runtime.ContainerStatus{}, status.Error(codes.Unavailable, "the node is still starting")
	}
	return p.Container(ctx, pod, container, previous)
}

func (l *lazyLookup) NetNS(ctx context.Context, pod streaming.PodRef) (string, error) {
	p := l.p.Load()
	if p == nil {
		return "", status.Error(codes.Unavailable, "the node is still starting")
	}
	return p.NetNS(ctx, pod)
}
