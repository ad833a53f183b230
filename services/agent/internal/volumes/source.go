package volumes

import (
	"context"
	"errors"

	"github.com/gantry-dev/gantry/libs/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Source reads the objects that volumes project. A missing object is
// reported with an error for which apierrors.IsNotFound is true.
// Returned objects are not modified.
type Source interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// ClientSource is a Source that reads from the API server.
func ClientSource(c *client.Client) Source {
	return clientSource{c: c}
}

type clientSource struct{ c *client.Client }

func (s clientSource) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return client.ConfigMaps(s.c).Get(ctx, namespace, name, metav1.GetOptions{})
}

func (s clientSource) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return client.Secrets(s.c).Get(ctx, namespace, name, metav1.GetOptions{})
}

var errNoSource = errors.New("no source of configMaps and secrets is configured")

// getConfigMap reads a configMap; a missing one is reported as kubelet
// reports it (`configmap "x" not found`).
func (m *Manager) getConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	if m.source == nil {
		return nil, errNoSource
	}
	cm, err := m.source.ConfigMap(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(corev1.Resource("configmap"), name)
	}
	return cm, err
}

// getSecret reads a secret; a missing one is reported as kubelet reports
// it (`secret "x" not found`).
func (m *Manager) getSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	if m.source == nil {
		return nil, errNoSource
	}
	s, err := m.source.Secret(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(corev1.Resource("secret"), name)
	}
	return s, err
}
