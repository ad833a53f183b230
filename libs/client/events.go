package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EventRecorder writes core/v1 Events about objects, as kubectl describe
// shows them. Writing is asynchronous and best effort: an event never
// holds up the work it reports. A repeated event (same object, reason and
// message) bumps the count of the earlier one instead of adding another.
type EventRecorder struct {
	c         *Client
	component string // the reporting component: "kubelet", "default-scheduler"
	host      string
	sem       chan struct{}

	mu   sync.Mutex
	seen map[string]*corev1.Event
}

// NewEventRecorder returns a recorder reporting as component on host.
func NewEventRecorder(c *Client, component, host string) *EventRecorder {
	return &EventRecorder{c: c, component: component, host: host, sem: make(chan struct{}, 256), seen: map[string]*corev1.Event{}}
}

// Event records an event about the object ref names.
func (r *EventRecorder) Event(ref corev1.ObjectReference, eventType, reason, message string) {
	select {
	case r.sem <- struct{}{}:
	default:
		return // too many in flight: drop rather than pile up goroutines
	}
	go func() {
		defer func() { <-r.sem }()
		r.write(ref, eventType, reason, message)
	}()
}

// PodRef is the reference Event wants for a pod.
func PodRef(pod *corev1.Pod) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		ResourceVersion: pod.ResourceVersion,
	}
}

func (r *EventRecorder) write(ref corev1.ObjectReference, eventType, reason, message string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := string(ref.UID) + "\x00" + reason + "\x00" + message
	now := metav1.NewTime(time.Now())
	r.mu.Lock()
	prev, ok := r.seen[key]
	r.mu.Unlock()
	events := Events(r.c)
	if ok {
		next := prev.DeepCopy()
		next.Count++
		next.LastTimestamp = now
		if out, err := events.Update(ctx, next, metav1.UpdateOptions{}); err == nil {
			r.remember(key, out)
			return
		}
	}
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", ref.Name, now.UnixNano()),
			Namespace: ns,
		},
		InvolvedObject: ref,
		Reason:         reason, Message: message, Type: eventType,
		Source:         corev1.EventSource{Component: r.component, Host: r.host},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: r.component, ReportingInstance: r.host,
	}
	out, err := events.Create(ctx, ev, metav1.CreateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return
	}
	r.remember(key, out)
}

func (r *EventRecorder) remember(key string, ev *corev1.Event) {
	if ev == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) > 4096 {
		r.seen = map[string]*corev1.Event{}
	}
	r.seen[key] = ev
}
