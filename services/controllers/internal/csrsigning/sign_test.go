package csrsigning

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil/csrtest"
)

func TestDuration(t *testing.T) {
	year := 8760 * time.Hour
	secs := func(s int32) *int32 { return &s }
	for _, tc := range []struct {
		name    string
		longest time.Duration
		asked   *int32
		want    time.Duration
	}{
		{"no ask", year, nil, year},
		{"an hour", year, secs(3600), time.Hour},
		{"exactly the minimum", year, secs(600), 10 * time.Minute},
		{"below the minimum", year, secs(60), 10 * time.Minute},
		{"zero", year, secs(0), 10 * time.Minute},
		{"negative", year, secs(-5), 10 * time.Minute},
		{"above the longest", 24 * time.Hour, secs(2 * 24 * 3600), 24 * time.Hour},
		{"longest below the minimum", 5 * time.Minute, secs(60), 5 * time.Minute},
	} {
		if got := Duration(tc.longest, tc.asked); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidity(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	ca := func(from, to time.Time) *x509.Certificate { return &x509.Certificate{NotBefore: from, NotAfter: to} }
	longCA := ca(now.Add(-24*time.Hour), now.Add(10*8760*time.Hour))
	for _, tc := range []struct {
		name             string
		ttl              time.Duration
		ca               *x509.Certificate
		wantFrom, wantTo time.Time
		wantErr          string
	}{
		{"a year", 8760 * time.Hour, longCA, now.Add(-Backdate), now.Add(-Backdate + 8760*time.Hour), ""},
		{"short: full ttl from now", time.Hour, longCA, now.Add(-Backdate), now.Add(time.Hour), ""},
		{"cut at the CA's expiry", 8760 * time.Hour, ca(now.Add(-time.Hour), now.Add(48*time.Hour)), now.Add(-Backdate), now.Add(48 * time.Hour), ""},
		{"not before the CA", time.Hour, ca(now.Add(-time.Minute), now.Add(48*time.Hour)), now.Add(-time.Minute), now.Add(time.Hour), ""},
		{"CA expired", time.Hour, ca(now.Add(-48*time.Hour), now.Add(-time.Hour)), time.Time{}, time.Time{}, "expired"},
		{"CA expires now", time.Hour, ca(now.Add(-48*time.Hour), now), time.Time{}, time.Time{}, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to, err := validity(now, tc.ttl, tc.ca)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !from.Equal(tc.wantFrom) || !to.Equal(tc.wantTo) {
				t.Fatalf("%v - %v (err %v), want %v - %v", from, to, err, tc.wantFrom, tc.wantTo)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	key := csrtest.Key(t)
	nodes := []string{"system:nodes"}
	const (
		ds = certificatesv1.UsageDigitalSignature
		ke = certificatesv1.UsageKeyEncipherment
		ca = certificatesv1.UsageClientAuth
		sa = certificatesv1.UsageServerAuth
	)
	type usages = []certificatesv1.KeyUsage
	clientReq := csrtest.Request{CN: "system:node:n1", Orgs: nodes}.PEM(t, key)
	servingReq := csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}, IPs: []string{"10.0.0.1"}}.PEM(t, key)
	userReq := csrtest.Request{CN: "alice", Orgs: []string{"dev"}, Emails: []string{"alice@example.com"}}.PEM(t, key)
	approved := func(csr *certificatesv1.CertificateSigningRequest, extra ...certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequest {
		for _, ty := range append([]certificatesv1.RequestConditionType{certificatesv1.CertificateApproved}, extra...) {
			csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: ty, Status: corev1.ConditionTrue})
		}
		return csr
	}
	signed := approved(csrtest.CSR("x", csrutil.KubeletClientSigner, clientReq, usages{ds, ca}, "u"))
	signed.Status.Certificate = []byte("cert")
	for _, tc := range []struct {
		name    string
		csr     *certificatesv1.CertificateSigningRequest
		want    action
		wantWhy string
	}{
		{"kubelet client", approved(csrtest.CSR("x", csrutil.KubeletClientSigner, clientReq, usages{ds, ke, ca}, "u")), sign, ""},
		{"kubelet serving", approved(csrtest.CSR("x", csrutil.KubeletServingSigner, servingReq, usages{ds, ke, sa}, "u")), sign, ""},
		{"apiserver client", approved(csrtest.CSR("x", csrutil.APIServerClientSigner, userReq, usages{ca}, "u")), sign, ""},
		{"legacy-unknown", approved(csrtest.CSR("x", csrutil.LegacyUnknownSigner, clientReq, usages{ds, ca}, "u")), skip, "not signed here"},
		{"another signer", approved(csrtest.CSR("x", "example.com/mine", clientReq, usages{ds, ca}, "u")), skip, "not signed here"},
		{"not approved", csrtest.CSR("x", csrutil.KubeletClientSigner, clientReq, usages{ds, ca}, "u"), skip, "not approved"},
		{"approved then denied", approved(csrtest.CSR("x", csrutil.KubeletClientSigner, clientReq, usages{ds, ca}, "u"), certificatesv1.CertificateDenied), skip, "not approved"},
		{"failed", approved(csrtest.CSR("x", csrutil.KubeletClientSigner, clientReq, usages{ds, ca}, "u"), certificatesv1.CertificateFailed), skip, "failed"},
		{"signed", signed, skip, "already signed"},
		{"client with a SAN", approved(csrtest.CSR("x", csrutil.KubeletClientSigner, servingReq, usages{ds, ca}, "u")), fail, "subject alternative names"},
		{"client for a user", approved(csrtest.CSR("x", csrutil.KubeletClientSigner, userReq, usages{ds, ca}, "u")), fail, "organization"},
		{"client with server auth", approved(csrtest.CSR("x", csrutil.KubeletClientSigner, clientReq, usages{ds, ca, sa}, "u")), fail, "usages"},
		{"serving without SANs", approved(csrtest.CSR("x", csrutil.KubeletServingSigner, clientReq, usages{ds, sa}, "u")), fail, "DNS or IP"},
		{"serving with client auth", approved(csrtest.CSR("x", csrutil.KubeletServingSigner, servingReq, usages{ds, ca}, "u")), fail, "usages"},
		{"apiserver client as a server", approved(csrtest.CSR("x", csrutil.APIServerClientSigner, userReq, usages{ca, sa}, "u")), fail, "server auth"},
		{"garbage request", approved(csrtest.CSR("x", csrutil.APIServerClientSigner, []byte("garbage"), usages{ca}, "u")), fail, "PEM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := decide(tc.csr)
			if p.action != tc.want || !strings.Contains(p.why, tc.wantWhy) || (p.action == sign) != (p.req != nil) {
				t.Fatalf("plan %+v, want action %d with %q", p, tc.want, tc.wantWhy)
			}
		})
	}
}

func TestSign(t *testing.T) {
	now := time.Now()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, caKey := range []crypto.Signer{csrtest.Key(t), rsaKey} {
		caExpiry := now.Add(30 * 24 * time.Hour)
		ca, err := ParseCA(csrtest.CA(t, caKey, now.Add(-time.Hour), caExpiry), pkcs8(t, caKey))
		if err != nil {
			t.Fatal(err)
		}
		key := csrtest.Key(t)
		for _, tc := range []struct {
			name      string
			req       csrtest.Request
			usages    []certificatesv1.KeyUsage
			ttl       time.Duration
			wantKU    x509.KeyUsage
			wantExt   []x509.ExtKeyUsage
			wantUntil time.Time
		}{
			{"kubelet client", csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes"}},
				[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
				time.Hour, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, now.Add(time.Hour)},
			{"kubelet serving, cut at the CA's expiry", csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes"}, DNS: []string{"n1", "n1.example"}, IPs: []string{"10.0.0.1"}},
				[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
				8760 * time.Hour, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, caExpiry},
		} {
			name := tc.name + fmt.Sprintf(" (%T CA)", caKey)
			t.Run(name, func(t *testing.T) {
				reqPEM := tc.req.PEM(t, key)
				req, err := csrutil.ParseRequest(reqPEM)
				if err != nil {
					t.Fatal(err)
				}
				certPEM, err := Sign(ca, req, tc.usages, tc.ttl, now)
				if err != nil {
					t.Fatal(err)
				}
				cert := parseSigned(t, certPEM)
				roots := x509.NewCertPool()
				roots.AddCert(ca.Cert)
				if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: tc.wantExt, CurrentTime: now}); err != nil {
					t.Fatalf("does not verify against the CA: %v", err)
				}
				if cert.Subject.CommonName != tc.req.CN || !slices.Equal(cert.Subject.Organization, tc.req.Orgs) {
					t.Errorf("subject %v", cert.Subject)
				}
				if !slices.Equal(cert.DNSNames, tc.req.DNS) || len(cert.IPAddresses) != len(tc.req.IPs) {
					t.Errorf("names %v %v", cert.DNSNames, cert.IPAddresses)
				}
				for i, ip := range tc.req.IPs {
					if !cert.IPAddresses[i].Equal(net.ParseIP(ip)) {
						t.Errorf("IP %v, want %s", cert.IPAddresses[i], ip)
					}
				}
				if cert.KeyUsage != tc.wantKU || !slices.Equal(cert.ExtKeyUsage, tc.wantExt) {
					t.Errorf("usages %v %v, want %v %v", cert.KeyUsage, cert.ExtKeyUsage, tc.wantKU, tc.wantExt)
				}
				if cert.IsCA || !cert.BasicConstraintsValid {
					t.Error("signed certificate is a CA")
				}
				if !cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
					t.Error("public key is not the request's")
				}
				// Times in certificates have second precision.
				if want := now.Add(-Backdate).Truncate(time.Second); !cert.NotBefore.Equal(want) {
					t.Errorf("not before %v, want %v", cert.NotBefore, want)
				}
				if want := tc.wantUntil.Truncate(time.Second); !cert.NotAfter.Equal(want) {
					t.Errorf("not after %v, want %v", cert.NotAfter, want)
				}
				if cert.NotAfter.After(ca.Cert.NotAfter) {
					t.Error("outlives the CA")
				}
			})
		}
	}
}

func TestSignRefuses(t *testing.T) {
	now := time.Now()
	caKey := csrtest.Key(t)
	expired, err := ParseCA(csrtest.CA(t, caKey, now.Add(-48*time.Hour), now.Add(-time.Hour)), pkcs8(t, caKey))
	if err != nil {
		t.Fatal(err)
	}
	req, err := csrutil.ParseRequest(csrtest.Request{CN: "alice"}.PEM(t, csrtest.Key(t)))
	if err != nil {
		t.Fatal(err)
	}
	client := []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}
	if _, err := Sign(expired, req, client, time.Hour, now); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired CA: err %v", err)
	}
	if _, err := Sign(expired, req, []certificatesv1.KeyUsage{"flying"}, time.Hour, now); err == nil || !strings.Contains(err.Error(), "flying") {
		t.Errorf("unknown usage: err %v", err)
	}
	if _, err := Sign(nil, req, client, time.Hour, now); err == nil {
		t.Error("no CA: signed")
	}
}

func parseSigned(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("not one PEM certificate: %q", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
