package csrapproving

import (
	"context"
	"slices"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil/csrtest"
)

func TestControllerApproves(t *testing.T) {
	h := csrtest.NewHarness(t, controller.Options{Workers: 2})
	ctl, err := NewWith(h.Context, h.Clients.CertificatesV1().CertificateSigningRequests(), h.Informer)
	if err != nil {
		t.Fatal(err)
	}
	h.Start(t, ctl)

	key := csrtest.Key(t)
	node := csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes"}}.PEM(t, key)
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	serving := csrtest.Request{CN: "system:node:n1", Orgs: []string{"system:nodes"}, DNS: []string{"n1"}, IPs: []string{"10.0.0.1"}}.PEM(t, key)
	servingUsages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth}
	ctx := context.Background()
	for _, csr := range []*certificatesv1.CertificateSigningRequest{
		csrtest.CSR("by-a-stranger", csrutil.KubeletClientSigner, node, usages, "system:node:n2", "system:nodes"),
		csrtest.CSR("by-a-bootstrapper", csrutil.KubeletClientSigner, node, usages, "system:bootstrap:abcdef", BootstrappersGroup),
		csrtest.CSR("renewal", csrutil.KubeletClientSigner, node, usages, "system:node:n1", "system:nodes"),
		csrtest.CSR("serving-by-a-bootstrapper", csrutil.KubeletServingSigner, serving, servingUsages, "system:bootstrap:abcdef", BootstrappersGroup),
		csrtest.CSR("serving", csrutil.KubeletServingSigner, serving, servingUsages, "system:node:n1", "system:nodes"),
	} {
		if _, err := h.Client().Create(ctx, csr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"by-a-bootstrapper", "renewal", "serving"} {
		csr := h.WaitFor(t, name, "approved", csrutil.IsApproved)
		c := csr.Status.Conditions[0]
		if len(csr.Status.Conditions) != 1 || c.Status != corev1.ConditionTrue || c.Reason != ReasonAutoApproved || c.Message == "" || c.LastUpdateTime.IsZero() {
			t.Errorf("%s: conditions %+v", name, csr.Status.Conditions)
		}
	}
	// The stranger's requests are left alone, neither approved nor
	// denied: sync them once more by hand (the workers may not have got
	// to them) and look at what was written.
	strangers := []string{"by-a-stranger", "serving-by-a-bootstrapper"}
	csrtest.Eventually(t, "cached", func() bool { return len(h.Informer.GetStore().ListKeys()) == 5 })
	for _, name := range strangers {
		if err := ctl.sync(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	var approvals int
	for _, a := range h.Clients.Actions() {
		if a.GetVerb() != "update" {
			continue
		}
		u := a.(k8stesting.UpdateAction)
		name := u.GetObject().(*certificatesv1.CertificateSigningRequest).Name
		if slices.Contains(strangers, name) {
			t.Errorf("%s was written: %s %s", name, a.GetVerb(), a.GetSubresource())
		}
		if a.GetSubresource() != "approval" {
			t.Errorf("%s updated through %q, want the approval subresource", name, a.GetSubresource())
		}
		approvals++
	}
	if approvals != 3 {
		t.Errorf("%d approvals, want 3", approvals)
	}
	for _, name := range strangers {
		csr, err := h.Client().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(csr.Status.Conditions) != 0 {
			t.Errorf("%s got conditions %+v", name, csr.Status.Conditions)
		}
	}
}
