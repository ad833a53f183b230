package csrapproving

import (
	"context"
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
	ctx := context.Background()
	for _, csr := range []*certificatesv1.CertificateSigningRequest{
		csrtest.CSR("by-a-stranger", csrutil.KubeletClientSigner, node, usages, "system:node:n2", "system:nodes"),
		csrtest.CSR("by-a-bootstrapper", csrutil.KubeletClientSigner, node, usages, "system:bootstrap:abcdef", BootstrappersGroup),
		csrtest.CSR("renewal", csrutil.KubeletClientSigner, node, usages, "system:node:n1", "system:nodes"),
	} {
		if _, err := h.Client().Create(ctx, csr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"by-a-bootstrapper", "renewal"} {
		csr := h.WaitFor(t, name, "approved", csrutil.IsApproved)
		c := csr.Status.Conditions[0]
		if len(csr.Status.Conditions) != 1 || c.Status != corev1.ConditionTrue || c.Reason != ReasonAutoApproved || c.Message == "" || c.LastUpdateTime.IsZero() {
			t.Errorf("%s: conditions %+v", name, csr.Status.Conditions)
		}
	}
	// The stranger's request is left alone, neither approved nor denied:
	// sync it once more by hand (the workers may not have got to it) and
	// look at what was written.
	csrtest.Eventually(t, "cached", func() bool { return len(h.Informer.GetStore().ListKeys()) == 3 })
	if err := ctl.sync(ctx, "by-a-stranger"); err != nil {
		t.Fatal(err)
	}
	var approvals int
	for _, a := range h.Clients.Actions() {
		if a.GetVerb() != "update" {
			continue
		}
		u := a.(k8stesting.UpdateAction)
		name := u.GetObject().(*certificatesv1.CertificateSigningRequest).Name
		if name == "by-a-stranger" {
			t.Errorf("the stranger's request was written: %s %s", a.GetVerb(), a.GetSubresource())
		}
		if a.GetSubresource() != "approval" {
			t.Errorf("%s updated through %q, want the approval subresource", name, a.GetSubresource())
		}
		approvals++
	}
	if approvals != 2 {
		t.Errorf("%d approvals, want 2", approvals)
	}
	csr, err := h.Client().Get(ctx, "by-a-stranger", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(csr.Status.Conditions) != 0 {
		t.Errorf("stranger's request got conditions %+v", csr.Status.Conditions)
	}
}
