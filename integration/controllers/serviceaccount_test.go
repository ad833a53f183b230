package controllers_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// saDefault returns the default ServiceAccount of ns, nil when there is
// none.
func (e *env) saDefault(ns string) *corev1.ServiceAccount {
	e.t.Helper()
	sa, err := e.kube.CoreV1().ServiceAccounts(ns).Get(e.ctx, "default", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("get service account %s/default: %v", ns, err)
	}
	return sa
}

// TestServiceAccountDefault: every namespace gets a default
// ServiceAccount, the API server's own namespaces and new ones alike,
// and a deleted one comes back.
func TestServiceAccountDefault(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--controllers=serviceaccount")

	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		e.eventually(20*time.Second, ns+"/default service account", func() (bool, error) {
			return e.saDefault(ns) != nil, nil
		})
	}

	e.kubectl("create", "namespace", "sa-team")
	e.eventually(20*time.Second, "sa-team/default service account", func() (bool, error) {
		return e.saDefault("sa-team") != nil, nil
	})

	old := e.saDefault("sa-team").UID
	if err := e.kube.CoreV1().ServiceAccounts("sa-team").Delete(e.ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var now types.UID
	e.eventually(20*time.Second, "sa-team/default recreated", func() (bool, error) {
		sa := e.saDefault("sa-team")
		if sa == nil {
			return false, fmt.Errorf("none")
		}
		now = sa.UID
		return now != old, fmt.Errorf("still the old one")
	})
	t.Logf("default service account recreated: %s -> %s", old, now)
}
