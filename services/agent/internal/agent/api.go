package agent

import (
	"context"

	"github.com/gantry-dev/gantry/libs/client"
	corev1 "k8s.io/api/core/v1"
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

// recorder writes core/v1 Events about pods as the kubelet does.
type recorder struct{ r *client.EventRecorder }

func newRecorder(c *client.Client, node string) recorder {
	return recorder{r: client.NewEventRecorder(c, "kubelet", node)}
}

func (r recorder) Event(pod *corev1.Pod, eventType, reason, message string) {
	r.r.Event(client.PodRef(pod), eventType, reason, message)
}
