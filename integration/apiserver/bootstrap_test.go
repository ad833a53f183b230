package apiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/controlplane"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// randomToken returns a bootstrap token id ([a-z0-9]{6}) and secret
// ([a-z0-9]{16}).
func randomToken(t *testing.T) (id, secret string) {
	t.Helper()
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 22)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b[:6]), string(b[6:])
}

// createBootstrapToken stores a bootstrap token Secret as admin and
// removes it when the test ends.
func (e *env) createBootstrapToken(expiration string) string {
	e.t.Helper()
	id, secret := randomToken(e.t)
	data := map[string]string{
		"token-id":                       id,
		"token-secret":                   secret,
		"usage-bootstrap-authentication": "true",
		"auth-extra-groups":              "system:bootstrappers:e2e",
	}
	if expiration != "" {
		data["expiration"] = expiration
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + id, Namespace: "kube-system"},
		Type:       "bootstrap.kubernetes.io/token",
		StringData: data,
	}
	if _, err := e.kube.CoreV1().Secrets("kube-system").Create(e.ctx, s, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create bootstrap token secret: %v", err)
	}
	e.t.Cleanup(func() {
		// The test's context is over when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := e.client(0).CoreV1().Secrets("kube-system").Delete(ctx, s.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			e.t.Errorf("delete %s: %v", s.Name, err)
		}
	})
	return id + "." + secret
}

// tokenClient is a clientset for API server 0 that presents token.
func (e *env) tokenClient(token string) kubernetes.Interface {
	e.t.Helper()
	cfg := e.config(0)
	cfg.BearerToken = token
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func newCSRPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestBootstrapToken drives what a joining node does with a bootstrap
// token: it reads cluster-info anonymously, files a CSR, and may do
// nothing else; an admin approves the CSR; the token stops working when
// its Secret goes.
func TestBootstrapToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "bootstrap")
	token := e.createBootstrapToken("")
	id, _, _ := strings.Cut(token, ".")
	user := "system:bootstrap:" + id
	boot := e.tokenClient(token)
	csrs := boot.CertificatesV1().CertificateSigningRequests()
	name := uniqueName("node-csr")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := e.client(0).CertificatesV1().CertificateSigningRequests().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete CSR %s: %v", name, err)
		}
	})

	// A CSR, made as the bootstrap user.
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           newCSRPEM(t, "system:node:"+name),
			SignerName:        certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			ExpirationSeconds: ptr.To[int32](3600),
			// The server records who asked, whatever the client says.
			Username: "admin",
			Groups:   []string{"system:masters"},
		},
	}
	got, err := csrs.Create(e.ctx, csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create CSR with a bootstrap token: %v", err)
	}
	wantGroups := []string{"system:bootstrappers", "system:bootstrappers:e2e", "system:authenticated"}
	if got.Spec.Username != user || !slices.Equal(got.Spec.Groups, wantGroups) {
		t.Fatalf("CSR requester %q %v, want %q %v", got.Spec.Username, got.Spec.Groups, user, wantGroups)
	}
	if _, err := csrs.Get(e.ctx, name, metav1.GetOptions{}); err != nil {
		t.Fatalf("get own CSR: %v", err)
	}
	list, err := csrs.List(e.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list CSRs: %v", err)
	}
	if !slices.ContainsFunc(list.Items, func(c certificatesv1.CertificateSigningRequest) bool { return c.Name == name }) {
		t.Fatalf("CSR %s not listed", name)
	}

	// Nothing else.
	_, err = boot.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "`+user+`" cannot list resource "pods"`) {
		t.Fatalf("list pods with a bootstrap token: %v, want 403 naming the user", err)
	}
	cur, err := csrs.Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Status.Conditions = append(cur.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Self"})
	if _, err := csrs.UpdateApproval(e.ctx, name, cur, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("self-approval with a bootstrap token: %v, want 403", err)
	}
	if _, err := boot.CoreV1().Secrets("kube-system").Get(e.ctx, "bootstrap-token-"+id, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("read own token secret: %v, want 403", err)
	}
	if _, err := boot.Discovery().ServerVersion(); err != nil {
		t.Fatalf("version with a bootstrap token: %v", err)
	}
	if _, err := boot.Discovery().ServerResourcesForGroupVersion("certificates.k8s.io/v1"); err != nil {
		t.Fatalf("discovery with a bootstrap token: %v", err)
	}
	_, errOut, err := e.kubectl("", "--token", token, "get", "pods", "-n", "default")
	if err == nil || !strings.Contains(errOut, "forbidden") || !strings.Contains(errOut, user) {
		t.Fatalf("kubectl get pods with a bootstrap token: %v\n%s\nwant Forbidden naming %s", err, errOut, user)
	}

	// kubectl shows and approves it.
	out := e.mustKubectl("", "get", "csr", name)
	rows := fields(out)
	wantHeader := []string{"NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"}
	if len(rows) != 2 || !slices.Equal(rows[0], wantHeader) {
		t.Fatalf("kubectl get csr:\n%s\nwant header %v and one row", out, wantHeader)
	}
	if r := rows[1]; len(r) != 6 || r[0] != name || r[2] != certificatesv1.KubeAPIServerClientKubeletSignerName ||
		r[3] != user || r[4] != "60m" || r[5] != "Pending" {
		t.Fatalf("kubectl get csr row %v", r)
	}
	e.mustKubectl("", "certificate", "approve", name)
	got, err = e.kube.CertificatesV1().CertificateSigningRequests().Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	approved := false
	for _, c := range got.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved && c.Status == corev1.ConditionTrue && !c.LastUpdateTime.IsZero() {
			approved = true
		}
	}
	if !approved {
		t.Fatalf("after kubectl certificate approve: conditions %+v", got.Status.Conditions)
	}
	if rows := fields(e.mustKubectl("", "get", "csr", name)); len(rows) != 2 || rows[1][5] != "Approved" {
		t.Fatalf("kubectl get csr after approval: %v", rows)
	}
	// Denying an approved request is refused by the server.
	_, errOut, err = e.kubectl("", "certificate", "deny", "--force", name)
	if err == nil {
		t.Fatalf("kubectl certificate deny of an approved CSR succeeded: %s", errOut)
	}

	// A deleted token stops working.
	if err := e.kube.CoreV1().Secrets("kube-system").Delete(e.ctx, "bootstrap-token-"+id, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		_, err := csrs.List(e.ctx, metav1.ListOptions{})
		if apierrors.IsUnauthorized(err) {
			return nil
		}
		return fmt.Errorf("list CSRs with a deleted token: %v, want 401", err)
	})
}

func TestBootstrapTokenExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "bootstrap-expired")
	token := e.createBootstrapToken(time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
	_, err := e.tokenClient(token).CertificatesV1().CertificateSigningRequests().List(e.ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("list CSRs with an expired token: %v, want 401", err)
	}
	valid := e.createBootstrapToken(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if _, err := e.tokenClient(valid).CertificatesV1().CertificateSigningRequests().List(e.ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("list CSRs with a token that expires in an hour: %v", err)
	}
}

// TestClusterInfo reads kube-public/cluster-info without credentials, as
// a joining node does before it trusts the server.
func TestClusterInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "cluster-info")
	anon, err := e.cp.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	base := e.cp.Servers[0].URL
	code, _, body := get(t, anon, base+"/api/v1/namespaces/kube-public/configmaps/cluster-info", nil)
	if code != 200 {
		t.Fatalf("anonymous GET cluster-info: %d %s", code, body)
	}
	var cm corev1.ConfigMap
	if err := json.Unmarshal(body, &cm); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load([]byte(cm.Data["kubeconfig"]))
	if err != nil {
		t.Fatalf("cluster-info kubeconfig: %v\n%s", err, cm.Data["kubeconfig"])
	}
	ca, err := os.ReadFile(e.cp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Clusters) != 1 {
		t.Fatalf("cluster-info has %d clusters, want 1", len(cfg.Clusters))
	}
	for _, c := range cfg.Clusters {
		if string(c.CertificateAuthorityData) != string(ca) {
			t.Errorf("cluster-info CA:\n%s\nwant the cluster CA (%s)", base64.StdEncoding.EncodeToString(c.CertificateAuthorityData), e.cp.CAFile)
		}
		// Either API server may have published it.
		if !slices.ContainsFunc(e.cp.Servers, func(s *controlplane.APIServer) bool { return s.URL == c.Server }) {
			t.Errorf("cluster-info server %q is none of the API servers", c.Server)
		}
	}
	for _, p := range []string{
		"/api/v1/namespaces/kube-public/configmaps",
		"/api/v1/namespaces/kube-system/configmaps/cluster-info",
		"/api/v1/namespaces/kube-public/configmaps/other",
	} {
		if code, _, body := get(t, anon, base+p, nil); code != 401 {
			t.Errorf("anonymous GET %s = %d %s, want 401", p, code, body)
		}
	}
	// Credentials that do not authenticate are refused even here.
	if code, _, _ := get(t, anon, base+"/api/v1/namespaces/kube-public/configmaps/cluster-info",
		map[string]string{"Authorization": "Bearer abcdef.0123456789abcdef"}); code != 401 {
		t.Errorf("GET cluster-info with an unknown token = %d, want 401", code)
	}
}
