package csrsigning

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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
const Name = "csrsigning"

// Controller signs approved certificate signing requests.
type Controller struct {
	csrs     csrutil.Client
	informer cache.SharedIndexInformer
	ca       *CA
	duration time.Duration
	loop     *controller.Loop
	log      *slog.Logger
	clock    clock.PassiveClock
	results  *prometheus.CounterVec
}

// New builds the signer on c's client and shared informers, with the CA
// of c.Options. Without --cluster-signing-cert-file and
// --cluster-signing-key-file it logs so and returns nil: nothing to run.
func New(c *controller.Context) (controller.Runnable, error) {
	o := c.Options
	if o.ClusterSigningCertFile == "" || o.ClusterSigningKeyFile == "" {
		c.Log.Info("csrsigning disabled: --cluster-signing-cert-file and --cluster-signing-key-file are not set, so no certificate signing request is signed")
		return nil, nil
	}
	ca, err := LoadCA(o.ClusterSigningCertFile, o.ClusterSigningKeyFile)
	if err != nil {
		return nil, err
	}
	csrs, inf := csrutil.FromContext(c)
	ctl, err := NewWith(c, csrs, inf, ca)
	if err != nil {
		return nil, err
	}
	ctl.log.Info("signing with the cluster CA", "subject", ca.Cert.Subject.String(),
		"caNotAfter", ca.Cert.NotAfter.UTC().Format(time.RFC3339), "duration", ctl.duration)
	return ctl, nil
}

// NewWith builds the signer on csrs and an informer of the same requests
// (started by the caller), signing with ca for at most
// c.Options.ClusterSigningDuration.
func NewWith(c *controller.Context, csrs csrutil.Client, inf cache.SharedIndexInformer, ca *CA) (*Controller, error) {
	if ca == nil {
		return nil, errors.New("csrsigning: no CA")
	}
	results, err := csrutil.RegisterCounterVec(c.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gantry", Subsystem: "csrsigning", Name: "requests_total",
		Help: "Certificate signing requests handled, by signer and result (signed, or failed: the request broke its signer's rules).",
	}, []string{"signer", "result"}))
	if err != nil {
		return nil, fmt.Errorf("csrsigning metrics: %w", err)
	}
	ctl := &Controller{csrs: csrs, informer: inf, ca: ca, duration: c.Options.ClusterSigningDuration, clock: c.Clock, results: results}
	ctl.loop = controller.NewLoop(c, Name, ctl.sync, inf.HasSynced)
	ctl.log = ctl.loop.Log()
	if err := csrutil.Watch(inf, ctl.loop); err != nil {
		return nil, err
	}
	return ctl, nil
}

// Run signs requests until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

// sync signs, or fails, the request named key when it is approved and
// for one of the signers served here.
func (c *Controller) sync(ctx context.Context, key string) error {
	cached, err := csrutil.Get(c.informer, key)
	if err != nil || cached == nil {
		return err
	}
	p := decide(cached)
	csr := cached.DeepCopy()
	now := c.clock.Now()
	switch p.action {
	case skip:
		c.log.Debug("not signing", "csr", key, "why", p.why)
		return nil
	case fail:
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue,
			Reason: ReasonSignerValidationFailure, Message: p.why,
			LastUpdateTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
		})
	case sign:
		// A CA that expired is not the request's fault: the error retries
		// it (with back-off), and the log says why.
		cert, err := Sign(c.ca, p.req, csr.Spec.Usages, Duration(c.duration, csr.Spec.ExpirationSeconds), now)
		if err != nil {
			return fmt.Errorf("sign certificate signing request %s: %w", key, err)
		}
		csr.Status.Certificate = cert
	}
	_, err = c.csrs.UpdateStatus(ctx, csr, metav1.UpdateOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil // deleted meanwhile
	case err != nil:
		return fmt.Errorf("update status of certificate signing request %s: %w", key, err)
	}
	if p.action == fail {
		c.results.WithLabelValues(csr.Spec.SignerName, "failed").Inc()
		c.log.Info("certificate signing request failed", "csr", key, "signer", csr.Spec.SignerName, "why", p.why)
		return nil
	}
	c.results.WithLabelValues(csr.Spec.SignerName, "signed").Inc()
	c.log.Info("signed certificate signing request", "csr", key, "signer", csr.Spec.SignerName,
		"subject", p.req.Subject.String(), "requester", csr.Spec.Username)
	return nil
}
