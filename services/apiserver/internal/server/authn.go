package server

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// enableBootstrapTokens lets bootstrap tokens authenticate
// (--enable-bootstrap-token-auth). Their Secrets are read through the
// registry's watch cache, which follows the store, so a deleted or
// expired token stops working as soon as the cache has seen the change;
// a Secret the cache does not hold is looked up in the store.
func (s *Server) enableBootstrapTokens() {
	if !s.cfg.EnableBootstrapTokenAuth {
		return
	}
	secrets, ok := s.reg.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"})
	if !ok {
		panic("the registry serves no secrets")
	}
	s.auth.EnableBootstrapTokens(func(ctx context.Context, ns, name string) (*corev1.Secret, error) {
		obj, err := secrets.Get(ctx, ns, name, metav1.GetOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, err
		}
		sec, ok := obj.(*corev1.Secret)
		if !ok {
			return nil, fmt.Errorf("secret %s/%s is a %T", ns, name, obj)
		}
		return sec, nil
	})
}
