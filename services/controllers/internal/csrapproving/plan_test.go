package csrapproving

import (
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil/csrtest"
)

func TestDecide(t *testing.T) {
	key := csrtest.Key(t)
	nodes := []string{"system:nodes"}
	node1 := csrtest.Request{CN: "system:node:n1", Orgs: nodes}.PEM(t, key)
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	withKE := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth}
	const bootstrapper = "system:bootstrap:abcdef"
	servingUsages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	servingWithKE := []certificatesv1.KeyUsage{certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth, certificatesv1.UsageDigitalSignature}
	servingN1 := csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}, IPs: []string{"10.0.0.1"}}
	// serving is a request for signer kubernetes.io/kubelet-serving made
	// by user in groups.
	serving := func(r csrtest.Request, u []certificatesv1.KeyUsage, user string, groups ...string) *certificatesv1.CertificateSigningRequest {
		return csrtest.CSR("a", csrutil.KubeletServingSigner, r.PEM(t, key), u, user, groups...)
	}
	with := func(csr *certificatesv1.CertificateSigningRequest, f func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
		f(csr)
		return csr
	}
	cond := func(ty certificatesv1.RequestConditionType) func(*certificatesv1.CertificateSigningRequest) {
		return func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: ty, Status: corev1.ConditionTrue})
		}
	}
	for _, tc := range []struct {
		name     string
		csr      *certificatesv1.CertificateSigningRequest
		wantKind string // "" : not approved
		wantSkip string
	}{
		{"new node by a bootstrapper", csrtest.CSR("a", csrutil.KubeletClientSigner, node1, usages, bootstrapper, BootstrappersGroup, "system:authenticated"), "node-client", ""},
		{"new node, key encipherment too", csrtest.CSR("a", csrutil.KubeletClientSigner, node1, withKE, bootstrapper, BootstrappersGroup), "node-client", ""},
		{"renewal by the node itself", csrtest.CSR("a", csrutil.KubeletClientSigner, node1, usages, "system:node:n1", "system:nodes"), "self-node-client", ""},
		{"another node", csrtest.CSR("a", csrutil.KubeletClientSigner, node1, usages, "system:node:n2", "system:nodes"), "", "neither"},
		{"a user", csrtest.CSR("a", csrutil.KubeletClientSigner, node1, usages, "alice", "system:authenticated"), "", "neither"},
		{"bootstrapper, other signer", csrtest.CSR("a", csrutil.APIServerClientSigner, node1, usages, bootstrapper, BootstrappersGroup), "", "not auto-approved"},

		{"serving: self, DNS and IP", serving(csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}, IPs: []string{"10.0.0.1"}}, servingUsages, "system:node:n1", "system:nodes"), "self-node-serving", ""},
		{"serving: self, IPs only", serving(csrtest.Request{CN: "system:node:n1", Orgs: nodes, IPs: []string{"10.0.0.1", "fd00::1"}}, servingUsages, "system:node:n1", "system:nodes"), "self-node-serving", ""},
		{"serving: self, DNS only", serving(csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}}, servingUsages, "system:node:n1", "system:nodes"), "self-node-serving", ""},
		{"serving: self, key encipherment too", serving(servingN1, servingWithKE, "system:node:n1", "system:nodes"), "self-node-serving", ""},
		{"serving: by a bootstrapper", serving(servingN1, servingUsages, bootstrapper, BootstrappersGroup, "system:authenticated"), "", "not by that node"},
		{"serving: by another node", serving(servingN1, servingUsages, "system:node:n2", "system:nodes"), "", "not by that node"},
		{"serving: by a user", serving(servingN1, servingUsages, "alice", "system:authenticated"), "", "not by that node"},
		{"serving: other DNS name", serving(csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1", "n2"}, IPs: []string{"10.0.0.1"}}, servingUsages, "system:node:n1"), "", `DNS name "n2"`},
		{"serving: DNS name with the prefix", serving(csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"system:node:n1"}}, servingUsages, "system:node:n1"), "", "DNS name"},
		{"serving: no SAN", serving(csrtest.Request{CN: "system:node:n1", Orgs: nodes}, servingUsages, "system:node:n1"), "", "at least one DNS or IP"},
		{"serving: email SAN", serving(csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}, Emails: []string{"a@b.c"}}, servingUsages, "system:node:n1"), "", "email"},
		{"serving: URI SAN", serving(csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}, URIs: []string{"spiffe://x/y"}}, servingUsages, "system:node:n1"), "", "URI"},
		{"serving: client auth usage", serving(servingN1, append(servingUsages, certificatesv1.UsageClientAuth), "system:node:n1"), "", "usages"},
		{"serving: client usages", serving(servingN1, usages, "system:node:n1"), "", "usages"},
		{"serving: masters group", serving(csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes", "system:masters"}, DNS: []string{"n1"}}, servingUsages, "system:node:n1"), "", "organization"},
		{"serving: CN not a node", serving(csrtest.Request{CN: "admin", Orgs: nodes, DNS: []string{"n1"}}, servingUsages, "admin"), "", "common name"},
		{"serving: already approved", with(serving(servingN1, servingUsages, "system:node:n1"), cond(certificatesv1.CertificateApproved)), "", "already approved"},
		{"serving: denied", with(serving(servingN1, servingUsages, "system:node:n1"), cond(certificatesv1.CertificateDenied)), "", "denied"},
		{"serving: bad PEM", csrtest.CSR("a", csrutil.KubeletServingSigner, []byte("nope"), servingUsages, "system:node:n1", "system:nodes"), "", "PEM"},

		{"bootstrapper, admin CN", csrtest.CSR("a", csrutil.KubeletClientSigner,
			csrtest.Request{CN: "admin", Orgs: nodes}.PEM(t, key), usages, bootstrapper, BootstrappersGroup), "", "common name"},
		{"bootstrapper, masters group", csrtest.CSR("a", csrutil.KubeletClientSigner,
			csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes", "system:masters"}}.PEM(t, key), usages, bootstrapper, BootstrappersGroup), "", "organization"},
		{"bootstrapper, a SAN", csrtest.CSR("a", csrutil.KubeletClientSigner,
			csrtest.Request{CN: "system:node:n1", Orgs: nodes, DNS: []string{"n1"}}.PEM(t, key), usages, bootstrapper, BootstrappersGroup), "", "subject alternative"},
		{"bootstrapper, server auth", csrtest.CSR("a", csrutil.KubeletClientSigner, node1,
			append(usages, certificatesv1.UsageServerAuth), bootstrapper, BootstrappersGroup), "", "usages"},
		{"bootstrapper, bad PEM", csrtest.CSR("a", csrutil.KubeletClientSigner, []byte("nope"), usages, bootstrapper, BootstrappersGroup), "", "PEM"},
		{"already approved", with(csrtest.CSR("a", csrutil.KubeletClientSigner, node1, usages, bootstrapper, BootstrappersGroup),
			cond(certificatesv1.CertificateApproved)), "", "already approved"},
		{"denied", with(csrtest.CSR("a", csrutil.KubeletClientSigner, node1, usages, bootstrapper, BootstrappersGroup),
			cond(certificatesv1.CertificateDenied)), "", "denied"},
		{"failed", with(csrtest.CSR("a", csrutil.KubeletClientSigner, node1, usages, bootstrapper, BootstrappersGroup),
			cond(certificatesv1.CertificateFailed)), "", "failed"},
		{"signed", with(csrtest.CSR("a", csrutil.KubeletClientSigner, node1, usages, bootstrapper, BootstrappersGroup),
			func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = []byte("x") }), "", "signed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.csr)
			if d.approve != (tc.wantKind != "") || d.kind != tc.wantKind {
				t.Fatalf("decision %+v, want kind %q", d, tc.wantKind)
			}
			if d.approve && !strings.HasPrefix(d.message, "Auto approving") {
				t.Errorf("message %q", d.message)
			}
			if !strings.Contains(d.skip, tc.wantSkip) {
				t.Errorf("skip %q, want it to mention %q", d.skip, tc.wantSkip)
			}
		})
	}
}
