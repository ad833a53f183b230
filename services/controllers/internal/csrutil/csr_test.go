package csrutil

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil/csrtest"
)

func TestParseRequest(t *testing.T) {
	key := csrtest.Key(t)
	good := csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes"}}.PEM(t, key)
	block, _ := pem.Decode(good)
	tampered := append([]byte(nil), block.Bytes...)
	tampered[len(tampered)-3] ^= 0xff // inside the signature
	for _, tc := range []struct {
		name, wantErr string
		data          []byte
	}{
		{"good", "", good},
		{"empty", "not PEM-encoded", nil},
		{"garbage", "not PEM-encoded", []byte("hello")},
		{"wrong block", `"CERTIFICATE"`, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})},
		{"bad DER", "parse request", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2, 3}})},
		{"bad signature", "signature", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseRequest(tc.data)
			if tc.wantErr == "" {
				if err != nil || req.Subject.CommonName != "system:node:n1" {
					t.Fatalf("req %v, err %v", req, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one with %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	key := csrtest.Key(t)
	const (
		ds = certificatesv1.UsageDigitalSignature
		ke = certificatesv1.UsageKeyEncipherment
		ca = certificatesv1.UsageClientAuth
		sa = certificatesv1.UsageServerAuth
	)
	nodes := []string{"system:nodes"}
	type usages = []certificatesv1.KeyUsage
	for _, tc := range []struct {
		name     string
		validate func(*x509.CertificateRequest, usages) error
		req      csrtest.Request
		usages   usages
		wantErr  string
	}{
		{"client: ds+ca", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes}, usages{ds, ca}, ""},
		{"client: ke+ds+ca in any order", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes}, usages{ca, ke, ds}, ""},
		{"client: duplicate usages", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes}, usages{ds, ca, ca}, ""},
		{"client: no digital signature", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes}, usages{ke, ca}, "usages"},
		{"client: server auth added", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes}, usages{ds, ca, sa}, "usages"},
		{"client: no usages", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes}, nil, "usages"},
		{"client: wrong CN", ValidateKubeletClient, csrtest.Request{CN: "admin", Orgs: nodes}, usages{ds, ca}, "common name"},
		{"client: empty node name", ValidateKubeletClient, csrtest.Request{CN: "system:node:", Orgs: nodes}, usages{ds, ca}, "common name"},
		{"client: no org", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1"}, usages{ds, ca}, "organization"},
		{"client: extra org", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes", "system:masters"}}, usages{ds, ca}, "organization"},
		{"client: DNS SAN", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}}, usages{ds, ca}, "subject alternative"},
		{"client: IP SAN", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes, IPs: []string{"10.0.0.1"}}, usages{ds, ca}, "subject alternative"},
		{"client: email SAN", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes, Emails: []string{"a@b.c"}}, usages{ds, ca}, "subject alternative"},
		{"client: URI SAN", ValidateKubeletClient, csrtest.Request{CN: "system:node:n1", Orgs: nodes, URIs: []string{"spiffe://x/y"}}, usages{ds, ca}, "subject alternative"},

		{"serving: DNS and IP", ValidateKubeletServing, csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}, IPs: []string{"10.0.0.1"}}, usages{ds, sa}, ""},
		{"serving: ke+ds+sa", ValidateKubeletServing, csrtest.Request{CN: "system:node:n1", Orgs: nodes, IPs: []string{"10.0.0.1"}}, usages{ke, ds, sa}, ""},
		{"serving: no SAN", ValidateKubeletServing, csrtest.Request{CN: "system:node:n1", Orgs: nodes}, usages{ds, sa}, "at least one DNS or IP"},
		{"serving: email", ValidateKubeletServing, csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}, Emails: []string{"a@b.c"}}, usages{ds, sa}, "email"},
		{"serving: URI", ValidateKubeletServing, csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}, URIs: []string{"spiffe://x/y"}}, usages{ds, sa}, "URI"},
		{"serving: client auth", ValidateKubeletServing, csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}}, usages{ds, sa, ca}, "usages"},
		{"serving: wrong CN", ValidateKubeletServing, csrtest.Request{CN: "n1", Orgs: nodes, DNS: []string{"n1"}}, usages{ds, sa}, "common name"},

		{"apiserver client: ca only", ValidateAPIServerClient, csrtest.Request{CN: "alice", Orgs: []string{"dev"}}, usages{ca}, ""},
		{"apiserver client: ds+ke+ca", ValidateAPIServerClient, csrtest.Request{CN: "alice"}, usages{ds, ke, ca}, ""},
		{"apiserver client: no client auth", ValidateAPIServerClient, csrtest.Request{CN: "alice"}, usages{ds, ke}, "client auth"},
		{"apiserver client: server auth", ValidateAPIServerClient, csrtest.Request{CN: "alice"}, usages{ca, sa}, "server auth"},
		{"apiserver client: cert sign", ValidateAPIServerClient, csrtest.Request{CN: "alice"}, usages{ca, certificatesv1.UsageCertSign}, "cert sign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseRequest(tc.req.PEM(t, key))
			if err != nil {
				t.Fatal(err)
			}
			err = tc.validate(req, tc.usages)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one with %q", err, tc.wantErr)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	cond := func(ty certificatesv1.RequestConditionType, s corev1.ConditionStatus) certificatesv1.CertificateSigningRequestCondition {
		return certificatesv1.CertificateSigningRequestCondition{Type: ty, Status: s}
	}
	for _, tc := range []struct {
		name  string
		conds []certificatesv1.CertificateSigningRequestCondition
		want  bool
	}{
		{"none", nil, false},
		{"approved", []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionTrue)}, true},
		{"approved, no status", []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, "")}, true},
		{"approved false", []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionFalse)}, false},
		{"approved and denied", []certificatesv1.CertificateSigningRequestCondition{
			cond(certificatesv1.CertificateApproved, corev1.ConditionTrue), cond(certificatesv1.CertificateDenied, corev1.ConditionTrue)}, false},
	} {
		csr := &certificatesv1.CertificateSigningRequest{Status: certificatesv1.CertificateSigningRequestStatus{Conditions: tc.conds}}
		if got := IsApproved(csr); got != tc.want {
			t.Errorf("%s: approved %v, want %v", tc.name, got, tc.want)
		}
	}
}
