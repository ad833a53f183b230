package controllers_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestCertificateBootstrap is a node joining with a bootstrap token, the
// way kubeadm join and the kubelet do it: the node asks for a client
// certificate with the token, csrapproving approves it and csrsigning
// signs it with the cluster CA; the node then authenticates with that
// certificate and renews it, which is approved and signed too. The
// node's own serving certificate request is approved and signed too; a
// bootstrap token's waits for an administrator's approval; one that
// breaks the serving signer's rules fails.
func TestCertificateBootstrap(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--cluster-signing-cert-file", e.cp.CAFile, "--cluster-signing-key-file", e.cp.CAKeyFile,
		"--cluster-signing-duration", "48h")

	// A bootstrap token, as kubeadm token create writes it.
	const tokenID, tokenSecret = "abcdef", "0123456789abcdef"
	if _, err := e.kube.CoreV1().Secrets("kube-system").Create(e.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + tokenID, Namespace: "kube-system"},
		Type:       "bootstrap.kubernetes.io/token",
		StringData: map[string]string{
			"token-id": tokenID, "token-secret": tokenSecret, "usage-bootstrap-authentication": "true",
			"expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bootstrap := e.client(t, rest.Config{BearerToken: tokenID + "." + tokenSecret})

	// 1. The new node asks with the token.
	key := newKey(t)
	clientUsages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	hour := int32(3600)
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    csrPEM(t, key, x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:join-1", Organization: []string{"system:nodes"}}}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName, Usages: clientUsages, ExpirationSeconds: &hour,
		},
	}
	created, err := bootstrap.CertificatesV1().CertificateSigningRequests().Create(e.ctx, csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Spec.Username != "system:bootstrap:"+tokenID || !slices.Contains(created.Spec.Groups, "system:bootstrappers") {
		t.Fatalf("requester %q %v", created.Spec.Username, created.Spec.Groups)
	}
	signed := e.waitSigned(bootstrap, created.Name)
	if c := approvedCondition(signed); c == nil || c.Reason != "AutoApproved" {
		t.Fatalf("conditions %+v", signed.Status.Conditions)
	}
	cert := e.verifyCert(signed.Status.Certificate, x509.ExtKeyUsageClientAuth)
	if cert.Subject.CommonName != "system:node:join-1" || !slices.Equal(cert.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("subject %v", cert.Subject)
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d < time.Hour || d > time.Hour+10*time.Minute {
		t.Errorf("valid for %v, asked for an hour", d)
	}

	// 2. The node, now authenticated by its certificate, renews it.
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, signed.Status.Certificate, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	node := e.client(t, rest.Config{TLSClientConfig: rest.TLSClientConfig{CertFile: certFile, KeyFile: keyFile}})
	key2 := newKey(t)
	csr.Spec.Request = csrPEM(t, key2, x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:join-1", Organization: []string{"system:nodes"}}})
	csr.Spec.ExpirationSeconds = nil
	renewal, err := node.CertificatesV1().CertificateSigningRequests().Create(e.ctx, csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if renewal.Spec.Username != "system:node:join-1" {
		t.Fatalf("renewal requested by %q", renewal.Spec.Username)
	}
	renewed := e.waitSigned(node, renewal.Name)
	cert = e.verifyCert(renewed.Status.Certificate, x509.ExtKeyUsageClientAuth)
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(key2.Public()) {
		t.Error("renewed certificate is not for the new key")
	}
	// --cluster-signing-duration, but never past the CA's expiry.
	if want := minTime(cert.NotBefore.Add(48*time.Hour), e.caCert().NotAfter); !cert.NotAfter.Equal(want) {
		t.Errorf("renewed certificate valid until %v, want %v (48h, cut at the CA's expiry)", cert.NotAfter, want)
	}

	// 3. Serving certificates. The node's own request is auto-approved;
	// the same request by a bootstrap token, and the node's one without
	// names, wait for an administrator, and the one without names then
	// fails the signer's rules. The two that wait are filed first, so the
	// approver has seen them by the time it has approved the node's own.
	servingUsages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth}
	serving := func(name string, dns []string, ips []net.IP) *certificatesv1.CertificateSigningRequest {
		return &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				Request: csrPEM(t, key2, x509.CertificateRequest{
					Subject:  pkix.Name{CommonName: "system:node:join-1", Organization: []string{"system:nodes"}},
					DNSNames: dns, IPAddresses: ips,
				}),
				SignerName: certificatesv1.KubeletServingSignerName, Usages: servingUsages,
			},
		}
	}
	loopback := []net.IP{net.ParseIP("127.0.0.1")}
	for _, c := range []struct {
		by  kubernetes.Interface
		csr *certificatesv1.CertificateSigningRequest
	}{
		{bootstrap, serving("serving-by-bootstrapper", []string{"join-1"}, loopback)},
		{node, serving("serving-no-names", nil, nil)},
		{node, serving("serving-join-1", []string{"join-1"}, loopback)},
	} {
		if _, err := c.by.CertificatesV1().CertificateSigningRequests().Create(e.ctx, c.csr, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", c.csr.Name, err)
		}
	}
	own := e.waitSigned(node, "serving-join-1")
	if c := approvedCondition(own); c == nil || c.Reason != "AutoApproved" {
		t.Fatalf("serving-join-1 conditions %+v", own.Status.Conditions)
	}
	cert = e.verifyCert(own.Status.Certificate, x509.ExtKeyUsageServerAuth)
	if len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(loopback[0]) || !slices.Equal(cert.DNSNames, []string{"join-1"}) {
		t.Errorf("serving certificate names %v %v", cert.DNSNames, cert.IPAddresses)
	}
	for _, name := range []string{"serving-by-bootstrapper", "serving-no-names"} {
		// Not auto-approved (checked as it stands when the test
		// approves it by hand; the decision itself is unit-tested).
		cur, err := e.kube.CertificatesV1().CertificateSigningRequests().Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if approvedCondition(cur) != nil {
			t.Fatalf("%s auto-approved: %+v", name, cur.Status.Conditions)
		}
		cur.Status.Conditions = append(cur.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AdminApproved", Message: "approved by the test",
		})
		if _, err := e.kube.CertificatesV1().CertificateSigningRequests().UpdateApproval(e.ctx, name, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	byAdmin := e.waitSigned(e.kube, "serving-by-bootstrapper")
	if c := approvedCondition(byAdmin); c == nil || c.Reason != "AdminApproved" {
		t.Errorf("serving-by-bootstrapper conditions %+v", byAdmin.Status.Conditions)
	}
	e.verifyCert(byAdmin.Status.Certificate, x509.ExtKeyUsageServerAuth)
	e.eventually(time.Minute, "serving-no-names Failed", func() (bool, error) {
		cur, err := e.kube.CertificatesV1().CertificateSigningRequests().Get(e.ctx, "serving-no-names", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range cur.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed {
				if c.Reason != "SignerValidationFailure" || len(cur.Status.Certificate) != 0 {
					t.Fatalf("failed with %+v, certificate %d bytes", c, len(cur.Status.Certificate))
				}
				return true, nil
			}
		}
		return false, nil
	})
}

// client is a client-go clientset for the first API server with the
// credentials of cfg.
func (e *env) client(t *testing.T, cfg rest.Config) kubernetes.Interface {
	t.Helper()
	cfg.Host = e.cp.Servers[0].URL
	cfg.TLSClientConfig.CAFile = e.cp.CAFile
	cfg.UserAgent = "controllers-e2e"
	c, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitSigned waits until the request name has a certificate.
func (e *env) waitSigned(c kubernetes.Interface, name string) *certificatesv1.CertificateSigningRequest {
	e.t.Helper()
	var csr *certificatesv1.CertificateSigningRequest
	e.eventually(time.Minute, name+" signed", func() (bool, error) {
		cur, err := c.CertificatesV1().CertificateSigningRequests().Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		csr = cur
		return len(cur.Status.Certificate) > 0, nil
	})
	return csr
}

// verifyCert parses a signed certificate and checks it chains to the
// cluster CA for usage.
func (e *env) verifyCert(data []byte, usage x509.ExtKeyUsage) *x509.Certificate {
	e.t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		e.t.Fatalf("not a PEM certificate: %q", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(e.caCert())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		e.t.Fatalf("certificate does not verify against the cluster CA: %v", err)
	}
	return cert
}

// caCert is the cluster CA's certificate.
func (e *env) caCert() *x509.Certificate {
	e.t.Helper()
	data, err := os.ReadFile(e.cp.CAFile)
	if err != nil {
		e.t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		e.t.Fatalf("%s: no PEM", e.cp.CAFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	return cert
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func approvedCondition(csr *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequestCondition {
	for i, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved {
			return &csr.Status.Conditions[i]
		}
	}
	return nil
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func csrPEM(t *testing.T, key crypto.Signer, tmpl x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}
