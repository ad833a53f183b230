package grpcapi_test

import (
	"context"
	"testing"

	"github.com/gantry-dev/gantry/libs/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNamespaceFinalize: Update with the finalize subresource changes a
// namespace's spec.finalizers (a plain Update does not), and removing the
// last one of a namespace being deleted deletes it.
func TestNamespaceFinalize(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	nss := client.Namespaces(c)
	ctx := context.Background()
	name := "fin-" + randomHex(3)
	ns, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Spec.Finalizers = nil
	if ns, err = nss.Update(ctx, ns, metav1.UpdateOptions{}); err != nil || len(ns.Spec.Finalizers) != 1 {
		t.Fatalf("plain Update: %v, finalizers %v; want them kept", err, ns.Spec.Finalizers)
	}
	if _, err := nss.UpdateSubresource(ctx, ns, "status", metav1.UpdateOptions{}); err == nil {
		t.Error("Update accepted the status subresource (UpdateStatus serves it)")
	}
	if err := nss.Delete(ctx, "", name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ns, err = nss.Get(ctx, "", name, metav1.GetOptions{}); err != nil || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("namespace after delete: %v, %+v", err, ns)
	}
	ns.Spec.Finalizers = nil
	if _, err := nss.UpdateSubresource(ctx, ns, "finalize", metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := nss.Get(ctx, "", name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace after its last finalizer went: %v, want NotFound", err)
	}
	if _, err := client.ConfigMaps(c).UpdateSubresource(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "x"}},
		"finalize", metav1.UpdateOptions{}); !apierrors.IsBadRequest(err) {
		t.Errorf("finalize of a configmap: %v, want 400", err)
	}
}
