package csrtest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// Harness is a fake API (client-go's fake clientset) with a
// CertificateSigningRequest informer on it, and the controller context
// to build controllers with.
type Harness struct {
	Clients  *fake.Clientset
	Informer cache.SharedIndexInformer
	Context  *controller.Context
	Registry *prometheus.Registry
	factory  informers.SharedInformerFactory
}

// NewHarness returns a harness; Start it once its controllers are built.
func NewHarness(t testing.TB, opts controller.Options) *Harness {
	t.Helper()
	cs := fake.NewClientset()
	f := informers.NewSharedInformerFactory(cs, 0)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return &Harness{
		Clients: cs, Informer: f.Certificates().V1().CertificateSigningRequests().Informer(),
		Context:  controller.NewContext(nil, nil, reg, log, nil, "test", opts),
		Registry: reg, factory: f,
	}
}

// Start starts the informer and runs every controller until the test
// ends; the test's cleanup waits for them to stop.
func (h *Harness) Start(t testing.TB, runs ...controller.Runnable) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(runs))
	for _, r := range runs {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := r.Run(ctx); err != nil {
				t.Errorf("controller: %v", err)
			}
		}()
	}
	h.factory.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		for range runs {
			<-done
		}
		h.factory.Shutdown()
	})
}

// Client is the fake API's CertificateSigningRequest client.
func (h *Harness) Client() interface {
	Create(context.Context, *certificatesv1.CertificateSigningRequest, metav1.CreateOptions) (*certificatesv1.CertificateSigningRequest, error)
	Get(context.Context, string, metav1.GetOptions) (*certificatesv1.CertificateSigningRequest, error)
	UpdateApproval(context.Context, string, *certificatesv1.CertificateSigningRequest, metav1.UpdateOptions) (*certificatesv1.CertificateSigningRequest, error)
	UpdateStatus(context.Context, *certificatesv1.CertificateSigningRequest, metav1.UpdateOptions) (*certificatesv1.CertificateSigningRequest, error)
} {
	return h.Clients.CertificatesV1().CertificateSigningRequests()
}

// WaitFor polls the request name until ok accepts it, and fails the
// test when it has not after a generous deadline.
func (h *Harness) WaitFor(t testing.TB, name, what string, ok func(*certificatesv1.CertificateSigningRequest) bool) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	var last *certificatesv1.CertificateSigningRequest
	Eventually(t, name+" "+what, func() bool {
		csr, err := h.Client().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		last = csr
		return ok(csr)
	})
	return last
}

// Eventually polls cond until it holds, and fails the test when it has
// not after a generous deadline.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s in time", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
