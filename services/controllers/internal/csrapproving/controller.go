package csrapproving

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil"
)

// Name is the controller's name (--controllers) and its work queue's.
const Name = "csrapproving"

// Controller approves nodes' client and own serving certificate
// requests.
type Controller struct {
	csrs      csrutil.Client
	informer  cache.SharedIndexInformer
	loop      *controller.Loop
	log       *slog.Logger
	clock     clock.PassiveClock
	approvals *prometheus.CounterVec
}

// New builds the approver on c's client and shared informers.
func New(c *controller.Context) (controller.Runnable, error) {
	csrs, inf := csrutil.FromContext(c)
	return NewWith(c, csrs, inf)
}

// NewWith builds the approver on csrs and an informer of the same
// requests (started by the caller).
func NewWith(c *controller.Context, csrs csrutil.Client, inf cache.SharedIndexInformer) (*Controller, error) {
	approvals, err := csrutil.RegisterCounterVec(c.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gantry", Subsystem: "csrapproving", Name: "approvals_total",
		Help: "Certificate signing requests approved, by kind (node-client: a new node; self-node-client: a renewal; self-node-serving: a node's serving certificate).",
	}, []string{"kind"}))
	if err != nil {
		return nil, fmt.Errorf("csrapproving metrics: %w", err)
	}
	ctl := &Controller{csrs: csrs, informer: inf, clock: c.Clock, approvals: approvals}
	ctl.loop = controller.NewLoop(c, Name, ctl.sync, inf.HasSynced)
	ctl.log = ctl.loop.Log()
	if err := csrutil.Watch(inf, ctl.loop); err != nil {
		return nil, err
	}
	return ctl, nil
}

// Run approves requests until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

// sync approves the request named key if it qualifies.
func (c *Controller) sync(ctx context.Context, key string) error {
	cached, err := csrutil.Get(c.informer, key)
	if err != nil || cached == nil {
		return err
	}
	d := decide(cached)
	if !d.approve {
		c.log.Debug("not approving", "csr", key, "why", d.skip)
		return nil
	}
	csr := cached.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: ReasonAutoApproved, Message: d.message,
		LastUpdateTime: metav1.NewTime(c.clock.Now()), LastTransitionTime: metav1.NewTime(c.clock.Now()),
	})
	_, err = c.csrs.UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil // deleted meanwhile
	case err != nil:
		// A conflict means the cache was behind: retry on fresh state.
		return fmt.Errorf("approve certificate signing request %s: %w", key, err)
	}
	c.approvals.WithLabelValues(d.kind).Inc()
	c.log.Info("approved certificate signing request", "csr", key, "kind", d.kind, "requester", csr.Spec.Username)
	return nil
}
