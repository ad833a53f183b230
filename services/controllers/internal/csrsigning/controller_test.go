package csrsigning

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrapproving"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil/csrtest"
)

func testCA(t *testing.T) *CA {
	t.Helper()
	key := csrtest.Key(t)
	ca, err := ParseCA(csrtest.CA(t, key, time.Now().Add(-time.Hour), time.Now().Add(10*8760*time.Hour)), pkcs8(t, key))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func approve(csr *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequest {
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "ByHand"})
	return csr
}

func TestControllerSignsAndFails(t *testing.T) {
	h := csrtest.NewHarness(t, controller.Options{Workers: 2})
	ctl, err := NewWith(h.Context, h.Clients.CertificatesV1().CertificateSigningRequests(), h.Informer, testCA(t))
	if err != nil {
		t.Fatal(err)
	}
	h.Start(t, ctl)

	key := csrtest.Key(t)
	nodes := []string{"system:nodes"}
	ds, sa := certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth
	serving := csrtest.Request{CN: "system:node:n1", Orgs: nodes, IPs: []string{"10.0.0.1"}}.PEM(t, key)
	noSAN := csrtest.Request{CN: "system:node:n1", Orgs: nodes}.PEM(t, key)
	usages := []certificatesv1.KeyUsage{ds, sa}
	ctx := context.Background()
	for _, csr := range []*certificatesv1.CertificateSigningRequest{
		approve(csrtest.CSR("serving", csrutil.KubeletServingSigner, serving, usages, "system:node:n1")),
		approve(csrtest.CSR("serving-without-names", csrutil.KubeletServingSigner, noSAN, usages, "system:node:n1")),
		approve(csrtest.CSR("legacy", csrutil.LegacyUnknownSigner, serving, usages, "system:node:n1")),
		csrtest.CSR("pending", csrutil.KubeletServingSigner, serving, usages, "system:node:n1"),
	} {
		if _, err := h.Client().Create(ctx, csr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.WaitFor(t, "serving", "signed", func(c *certificatesv1.CertificateSigningRequest) bool { return len(c.Status.Certificate) > 0 })
	failed := h.WaitFor(t, "serving-without-names", "failed", func(c *certificatesv1.CertificateSigningRequest) bool {
		return csrutil.HasCondition(c, certificatesv1.CertificateFailed)
	})
	c := failed.Status.Conditions[len(failed.Status.Conditions)-1]
	if c.Reason != ReasonSignerValidationFailure || c.Message == "" || len(failed.Status.Certificate) != 0 {
		t.Errorf("failed condition %+v", c)
	}

	// The legacy-unknown and the pending requests are left alone: sync
	// them by hand (the workers may not have got to them yet) and check.
	csrtest.Eventually(t, "cached", func() bool { return len(h.Informer.GetStore().ListKeys()) == 4 })
	for _, name := range []string{"legacy", "pending"} {
		if err := ctl.sync(ctx, name); err != nil {
			t.Fatal(err)
		}
		csr, err := h.Client().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(csr.Status.Certificate) != 0 || csrutil.HasCondition(csr, certificatesv1.CertificateFailed) {
			t.Errorf("%s was acted on: %+v", name, csr.Status)
		}
	}
	for _, a := range h.Clients.Actions() {
		if a.GetVerb() == "update" && a.GetSubresource() != "status" {
			t.Errorf("update through %q, want status", a.GetSubresource())
		}
	}
}

// TestApproveAndSign runs both controllers: a new node's request made
// with a bootstrap token is approved, then signed, and the certificate
// is one the node can authenticate with.
func TestApproveAndSign(t *testing.T) {
	h := csrtest.NewHarness(t, controller.Options{Workers: 1, ClusterSigningDuration: 24 * time.Hour})
	csrs := h.Clients.CertificatesV1().CertificateSigningRequests()
	approver, err := csrapproving.NewWith(h.Context, csrs, h.Informer)
	if err != nil {
		t.Fatal(err)
	}
	ca := testCA(t)
	signer, err := NewWith(h.Context, csrs, h.Informer, ca)
	if err != nil {
		t.Fatal(err)
	}
	h.Start(t, approver, signer)

	key := csrtest.Key(t)
	csr := csrtest.CSR("node-csr-n1", csrutil.KubeletClientSigner,
		csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes"}}.PEM(t, key),
		[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
		"system:bootstrap:abcdef", csrapproving.BootstrappersGroup, "system:authenticated")
	hour := int32(3600)
	csr.Spec.ExpirationSeconds = &hour
	start := time.Now()
	if _, err := h.Client().Create(context.Background(), csr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := h.WaitFor(t, csr.Name, "approved and signed", func(c *certificatesv1.CertificateSigningRequest) bool {
		return csrutil.IsApproved(c) && len(c.Status.Certificate) > 0
	})
	end := time.Now()
	if c := got.Status.Conditions[0]; c.Reason != csrapproving.ReasonAutoApproved {
		t.Errorf("approved with %+v", c)
	}
	cert := parseSigned(t, got.Status.Certificate)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("does not verify as a client certificate: %v", err)
	}
	if cert.Subject.CommonName != "system:node:n1" || len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] != "system:nodes" {
		t.Errorf("subject %v", cert.Subject)
	}
	// Valid for the hour asked for, from a little before the signing.
	// (Times in certificates have second precision.)
	if cert.NotBefore.Before(start.Add(-Backdate).Truncate(time.Second)) || cert.NotBefore.After(end.Add(-Backdate)) {
		t.Errorf("not before %v; signed between %v and %v", cert.NotBefore, start, end)
	}
	if cert.NotAfter.Before(start.Add(time.Hour).Truncate(time.Second)) || cert.NotAfter.After(end.Add(time.Hour)) {
		t.Errorf("not after %v; signed between %v and %v", cert.NotAfter, start, end)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("key usage %v", cert.KeyUsage)
	}
}
