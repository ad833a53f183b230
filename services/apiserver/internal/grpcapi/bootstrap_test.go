package grpcapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestBootstrapTokenRules checks that the gRPC facade applies the
// authorizer as REST does: a bootstrap token may file and read CSRs, read
// cluster-info and get the Secret kube-system/gantry-certs, nothing else;
// an anonymous caller may only read cluster-info; an admin approves
// through the approval subresource.
func TestBootstrapTokenRules(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	ctx := context.Background()
	admin := cl.adminClient(t, addr)
	id, secret := randomHex(3), randomHex(8)
	_, err := client.Secrets(admin).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + id, Namespace: "kube-system"},
		Type:       "bootstrap.kubernetes.io/token",
		Data: map[string][]byte{"token-id": []byte(id), "token-secret": []byte(secret),
			"usage-bootstrap-authentication": []byte("true")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	boot := cl.client(t, client.Config{Endpoints: []string{addr}, Token: id + "." + secret})
	anon := cl.client(t, client.Config{Endpoints: []string{addr}})

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := client.CertificateSigningRequests(boot).Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr-" + randomHex(4)},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create CSR with a bootstrap token: %v", err)
	}
	if csr.Spec.Username != "system:bootstrap:"+id {
		t.Errorf("CSR username %q", csr.Spec.Username)
	}
	if _, err := client.CertificateSigningRequests(boot).List(ctx, "", metav1.ListOptions{}); err != nil {
		t.Errorf("list CSRs with a bootstrap token: %v", err)
	}
	if _, err := client.Pods(boot).List(ctx, "default", metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list pods with a bootstrap token: %v, want 403", err)
	}
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	if _, err := client.CertificateSigningRequests(boot).UpdateSubresource(ctx, csr, "approval", metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("self-approval with a bootstrap token: %v, want 403", err)
	}
	approved, err := client.CertificateSigningRequests(admin).UpdateSubresource(ctx, csr, "approval", metav1.UpdateOptions{})
	if err != nil || len(approved.Status.Conditions) != 1 || approved.Status.Conditions[0].LastUpdateTime.IsZero() {
		t.Fatalf("approve as admin: %v %+v", err, approved)
	}

	eventually(t, 10*time.Second, "cluster-info is readable anonymously", func() bool {
		cm, err := client.ConfigMaps(anon).Get(ctx, "kube-public", "cluster-info", metav1.GetOptions{})
		return err == nil && strings.Contains(cm.Data["kubeconfig"], "certificate-authority-data:")
	})
	if _, err := client.ConfigMaps(boot).Get(ctx, "kube-public", "cluster-info", metav1.GetOptions{}); err != nil {
		t.Errorf("cluster-info with a bootstrap token: %v", err)
	}
	if _, err := client.ConfigMaps(anon).List(ctx, "kube-public", metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("anonymous list of configmaps: %v, want 401", err)
	}
	if _, err := client.CertificateSigningRequests(anon).List(ctx, "", metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("anonymous list of CSRs: %v, want 401", err)
	}

	// The one Secret a bootstrap token may read, and only with get.
	if _, err := client.Secrets(admin).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "gantry-certs", Namespace: "kube-system"},
		Data:       map[string][]byte{"ca.crt": []byte("sealed")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if s, err := client.Secrets(boot).Get(ctx, "kube-system", "gantry-certs", metav1.GetOptions{}); err != nil || string(s.Data["ca.crt"]) != "sealed" {
		t.Errorf("get gantry-certs with a bootstrap token: %v %+v", err, s)
	}
	if _, err := client.Secrets(boot).List(ctx, "kube-system", metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets with a bootstrap token: %v, want 403", err)
	}
	if w, err := client.Secrets(boot).Watch(ctx, "kube-system", metav1.ListOptions{FieldSelector: "metadata.name=gantry-certs"}); !apierrors.IsForbidden(err) {
		if w != nil {
			w.Stop()
		}
		t.Errorf("watch gantry-certs with a bootstrap token: %v, want 403", err)
	}
	if _, err := client.Secrets(boot).Get(ctx, "kube-system", "bootstrap-token-"+id, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get another secret with a bootstrap token: %v, want 403", err)
	}
	if _, err := client.Secrets(anon).Get(ctx, "kube-system", "gantry-certs", metav1.GetOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("anonymous get of gantry-certs: %v, want 401", err)
	}
	if err := client.Secrets(admin).Delete(ctx, "kube-system", "gantry-certs", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := client.Secrets(admin).Delete(ctx, "kube-system", "bootstrap-token-"+id, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the deleted token is refused", func() bool {
		_, err := client.CertificateSigningRequests(boot).List(ctx, "", metav1.ListOptions{})
		return apierrors.IsUnauthorized(err)
	})
	if err := client.CertificateSigningRequests(admin).Delete(ctx, "", csr.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}
