package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func testCSRPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func testCertPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func testCSR(t *testing.T) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr-Ab_9", ResourceVersion: "5"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    testCSRPEM(t),
			SignerName: "kubernetes.io/kube-apiserver-client-kubelet",
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			Username:   "system:bootstrap:abcdef",
		},
	}
}

func condition(t certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequestCondition {
	return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue}
}

// wantErrors checks that errs holds exactly one error per wanted
// "field: substring", in any order.
func wantErrors(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors %v, want %v", len(errs), errs, want)
	}
	for _, w := range want {
		f, msg, _ := strings.Cut(w, ": ")
		found := false
		for _, e := range errs {
			if e.Field == f && strings.Contains(e.Error(), msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no error %q in %v", w, errs)
		}
	}
}

func TestValidateCSRCreate(t *testing.T) {
	other := testCSRPEM(t)
	for _, tc := range []struct {
		name   string
		mutate func(*certificatesv1.CertificateSigningRequest)
		want   []string
	}{
		{"valid", func(*certificatesv1.CertificateSigningRequest) {}, nil},
		{"no request", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = nil }, []string{"spec.request: Required"}},
		{"not PEM", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("hello") },
			[]string{"spec.request: PEM block type must be CERTIFICATE REQUEST"}},
		{"wrong block type", func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Request = []byte(strings.Replace(string(c.Spec.Request), "CERTIFICATE REQUEST", "CERTIFICATE", 2))
		}, []string{"spec.request: PEM block type must be CERTIFICATE REQUEST"}},
		{"bad signature", func(c *certificatesv1.CertificateSigningRequest) {
			b, _ := pem.Decode(c.Spec.Request)
			o, _ := pem.Decode(other)
			req, _ := x509.ParseCertificateRequest(b.Bytes)
			// Splice the other request's signature onto this one.
			oreq, _ := x509.ParseCertificateRequest(o.Bytes)
			der := append([]byte(nil), b.Bytes...)
			copy(der[len(der)-len(req.Signature):], oreq.Signature[:min(len(req.Signature), len(oreq.Signature))])
			c.Spec.Request = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
		}, []string{"spec.request: "}},
		{"no signer", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "" }, []string{"spec.signerName: Required"}},
		{"signer without path", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com" },
			[]string{"spec.signerName: fully qualified domain and path"}},
		{"signer not a domain", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example/signer" },
			[]string{"spec.signerName: "}},
		{"signer bad path", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com/-x" },
			[]string{"spec.signerName: path after the domain"}},
		{"legacy signer", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = LegacyUnknownSignerName },
			[]string{"spec.signerName: legacy signerName"}},
		{"no usages", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil }, []string{"spec.usages: Required"}},
		{"unknown usage", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = []certificatesv1.KeyUsage{"flying"} },
			[]string{"spec.usages[0]: Unsupported value"}},
		{"duplicate usage", func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth, certificatesv1.UsageClientAuth}
		}, []string{"spec.usages[1]: Duplicate"}},
		{"short duration", func(c *certificatesv1.CertificateSigningRequest) { s := int32(599); c.Spec.ExpirationSeconds = &s },
			[]string{"spec.expirationSeconds: less than 600 seconds"}},
		{"ten minutes", func(c *certificatesv1.CertificateSigningRequest) { s := int32(600); c.Spec.ExpirationSeconds = &s }, nil},
		{"bad name", func(c *certificatesv1.CertificateSigningRequest) { c.Name = "a/b" }, []string{"metadata.name: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			csr := testCSR(t)
			csr.ResourceVersion = ""
			tc.mutate(csr)
			wantErrors(t, ValidateCreate(csr), tc.want)
		})
	}
}

func TestValidateCSRUpdates(t *testing.T) {
	cert := testCertPEM(t)
	approved := func(c *certificatesv1.CertificateSigningRequest) {
		c.Status.Conditions = append(c.Status.Conditions, condition(certificatesv1.CertificateApproved))
	}
	denied := func(c *certificatesv1.CertificateSigningRequest) {
		c.Status.Conditions = append(c.Status.Conditions, condition(certificatesv1.CertificateDenied))
	}
	for _, tc := range []struct {
		name     string
		validate func(obj, old *certificatesv1.CertificateSigningRequest) field.ErrorList
		old, new func(*certificatesv1.CertificateSigningRequest)
		want     []string
	}{
		{"spec change", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList { return ValidateUpdate(o, p) },
			nil, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com/other" },
			[]string{"spec: immutable"}},
		{"labels change", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList { return ValidateUpdate(o, p) },
			nil, func(c *certificatesv1.CertificateSigningRequest) { c.Labels = map[string]string{"a": "b"} }, nil},
		{"approve", ValidateApprovalUpdate, nil, approved, nil},
		{"deny", ValidateApprovalUpdate, nil, denied, nil},
		{"approve and deny", ValidateApprovalUpdate, nil, func(c *certificatesv1.CertificateSigningRequest) { approved(c); denied(c) },
			[]string{"status.conditions: mutually exclusive"}},
		{"deny an approved request", ValidateApprovalUpdate, approved, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = nil
			denied(c)
		}, []string{`status.conditions: may not remove a condition of type "Approved"`}},
		{"approve twice", ValidateApprovalUpdate, nil, func(c *certificatesv1.CertificateSigningRequest) { approved(c); approved(c) },
			[]string{"status.conditions[1].type: Duplicate"}},
		{"approved False", ValidateApprovalUpdate, nil, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionFalse}}
		}, []string{"status.conditions[0].status: Unsupported value"}},
		{"certificate through approval", ValidateApprovalUpdate, approved, func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = cert },
			[]string{"status.certificate: only be set through the status subresource"}},
		{"approve through status", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList {
			return ValidateStatusUpdate(o, p)
		},
			nil, approved, []string{`status.conditions: may not add a condition of type "Approved"`}},
		{"issue", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList {
			return ValidateStatusUpdate(o, p)
		},
			approved, func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = cert }, nil},
		{"issue unapproved", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList {
			return ValidateStatusUpdate(o, p)
		},
			nil, func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = cert },
			[]string{"status.certificate: Approved condition"}},
		{"issue garbage", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList {
			return ValidateStatusUpdate(o, p)
		},
			approved, func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = []byte("junk") },
			[]string{"status.certificate: at least one CERTIFICATE PEM block"}},
		{"issue a key", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList {
			return ValidateStatusUpdate(o, p)
		},
			approved, func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
			}, []string{`status.certificate: only CERTIFICATE PEM blocks are allowed, found "PRIVATE KEY"`}},
		{"reissue", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList {
			return ValidateStatusUpdate(o, p)
		},
			func(c *certificatesv1.CertificateSigningRequest) { approved(c); c.Status.Certificate = cert },
			func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = testCertPEM(t) },
			[]string{"status.certificate: may not modify existing certificate"}},
		{"failed", func(o, p *certificatesv1.CertificateSigningRequest) field.ErrorList {
			return ValidateStatusUpdate(o, p)
		},
			approved, func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Conditions = append(c.Status.Conditions, condition(certificatesv1.CertificateFailed))
			}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := testCSR(t)
			if tc.old != nil {
				tc.old(old)
			}
			next := old.DeepCopy()
			tc.new(next)
			wantErrors(t, tc.validate(next, old), tc.want)
		})
	}
}
