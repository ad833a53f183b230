package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// apiAdapter gives the pod workers what they need of the API server.
type apiAdapter struct {
	c *client.Client
}

func (a apiAdapter) UpdatePodStatus(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	return client.Pods(a.c).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
}

func (a apiAdapter) DeletePod(ctx context.Context, namespace, name string, uid types.UID) error {
	zero := int64(0)
	return client.Pods(a.c).Delete(ctx, namespace, name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
}

func (a apiAdapter) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return client.Secrets(a.c).Get(ctx, namespace, name, metav1.GetOptions{})
}

func (a apiAdapter) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return client.ConfigMaps(a.c).Get(ctx, namespace, name, metav1.GetOptions{})
}

func (a apiAdapter) Services(ctx context.Context, namespace string) ([]corev1.Service, error) {
	list, err := client.Services(a.c).List(ctx, namespace, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// recorder writes core/v1 Events about pods, counting repeats of the same
// event instead of creating new ones (as kubelet's recorder aggregates).
type recorder struct {
	c      *client.Client
	source string // the node name
	mu     sync.Mutex
	seen   map[string]*corev1.Event
}

func newRecorder(c *client.Client, node string) *recorder {
	return &recorder{c: c, source: node, seen: map[string]*corev1.Event{}}
}

func (r *recorder) Event(pod *corev1.Pod, eventType, reason, message string) {
	// Events are best effort: they never hold up a pod.
	go r.write(pod, eventType, reason, message)
}

func (r *recorder) write(pod *corev1.Pod, eventType, reason, message string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := string(pod.UID) + "\x00" + reason + "\x00" + message
	now := metav1.NewTime(time.Now())
	r.mu.Lock()
	prev, ok := r.seen[key]
	r.mu.Unlock()
	events := client.Events(r.c)
	if ok {
		next := prev.DeepCopy()
		next.Count++
		next.LastTimestamp = now
		if out, err := events.Update(ctx, next, metav1.UpdateOptions{}); err == nil {
			r.remember(key, out)
			return
		}
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", pod.Name, now.UnixNano()),
			Namespace: pod.Namespace,
		},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			ResourceVersion: pod.ResourceVersion,
		},
		Reason: reason, Message: message, Type: eventType,
		Source:         corev1.EventSource{Component: "kubelet", Host: r.source},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "kubelet", ReportingInstance: r.source,
	}
	out, err := events.Create(ctx, ev, metav1.CreateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return
	}
	r.remember(key, out)
}

func (r *recorder) remember(key string, ev *corev1.Event) {
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
