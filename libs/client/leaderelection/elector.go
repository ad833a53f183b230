package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Leases is the part of a Lease client the elector uses;
// client.Leases(c) is one.
type Leases interface {
	Get(ctx context.Context, namespace, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, lease *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
}

// Callbacks are what the elector runs as leadership changes. They run on
// Run's goroutine or one it waits for.
type Callbacks struct {
	// OnStartedLeading does the leader's work, until ctx ends: when
	// leadership is lost or Run's context ends. Required.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading runs after OnStartedLeading has returned.
	OnStoppedLeading func()
	// OnNewLeader runs when the Lease is seen to change hands, this
	// candidate included. It must not block.
	OnNewLeader func(identity string)
}

// Config of an elector. The defaults are client-go's and
// kube-scheduler's: 15s, 10s, 2s.
type Config struct {
	Leases    Leases
	Namespace string // default "kube-system"
	Name      string
	// Identity names this candidate; unique among them (host name and a
	// random suffix, say).
	Identity string

	// LeaseDuration is how long candidates wait, after they last saw the
	// Lease change, before they take it over.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps trying to renew before
	// it gives up leadership.
	RenewDeadline time.Duration
	// RetryPeriod is how often candidates try to acquire, and the leader
	// renews.
	RetryPeriod time.Duration
	// ReleaseOnCancel clears the holder when Run's context ends.
	ReleaseOnCancel bool

	Callbacks Callbacks
	Log       *slog.Logger
}

// jitterFactor spreads the candidates' attempts, as client-go does.
const jitterFactor = 1.2

// ErrLeadershipLost is what Run returns when the leader could not renew
// its Lease in time.
var ErrLeadershipLost = errors.New("leaderelection: leadership lost")

func (cfg *Config) setDefaults() {
	if cfg.Namespace == "" {
		cfg.Namespace = metav1.NamespaceSystem
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 15 * time.Second
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = 10 * time.Second
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
}

func (cfg *Config) validate() error {
	var errs []error
	if cfg.Leases == nil || cfg.Name == "" || cfg.Identity == "" || cfg.Callbacks.OnStartedLeading == nil {
		errs = append(errs, errors.New("Leases, Name, Identity and Callbacks.OnStartedLeading are required"))
	}
	if cfg.LeaseDuration <= cfg.RenewDeadline {
		errs = append(errs, errors.New("LeaseDuration must be greater than RenewDeadline"))
	}
	if cfg.RetryPeriod <= 0 || float64(cfg.RenewDeadline) <= jitterFactor*float64(cfg.RetryPeriod) {
		errs = append(errs, fmt.Errorf("RenewDeadline must be greater than %v × RetryPeriod", jitterFactor))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("leaderelection: %w", err)
	}
	return nil
}

// Elector is one candidate.
type Elector struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// observed is the Lease spec last seen, at observedTime on our clock.
	observed     *coordinationv1.LeaseSpec
	observedTime time.Time
	holder       string
}

// New checks cfg and returns a candidate; Run makes it take part.
func New(cfg Config) (*Elector, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Log.With("component", "leaderelection", "lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
	return &Elector{cfg: cfg, log: log}, nil
}

// Leader is the holder of the Lease as last seen ("" for none).
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holder
}

// IsLeader reports whether this candidate held the Lease when last seen.
func (e *Elector) IsLeader() bool { return e.Leader() == e.cfg.Identity }

// Run waits to acquire the Lease, then runs OnStartedLeading while it
// renews it. It returns nil when ctx ends (after releasing the Lease with
// ReleaseOnCancel), and ErrLeadershipLost when renewing failed; either
// way only after OnStartedLeading has returned and OnStoppedLeading ran.
func (e *Elector) Run(ctx context.Context) error {
	if !e.acquire(ctx) {
		return nil
	}
	e.log.Info("started leading")
	leaderCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.cfg.Callbacks.OnStartedLeading(leaderCtx)
	}()
	err := e.renew(ctx)
	cancel()
	<-done
	if err == nil && e.cfg.ReleaseOnCancel {
		e.release()
	}
	e.log.Info("stopped leading", "err", err)
	if e.cfg.Callbacks.OnStoppedLeading != nil {
		e.cfg.Callbacks.OnStoppedLeading()
	}
	return err
}

// acquire tries every RetryPeriod (jittered) until it holds the Lease; it
// reports false when ctx ended first.
func (e *Elector) acquire(ctx context.Context) bool {
	for {
		if e.tryAcquireOrRenew(ctx) {
			return true
		}
		wait := e.cfg.RetryPeriod + time.Duration(rand.Float64()*jitterFactor*float64(e.cfg.RetryPeriod))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// renew renews every RetryPeriod until ctx ends (nil) or no renewal has
// succeeded for RenewDeadline, or another candidate holds the Lease
// (ErrLeadershipLost).
func (e *Elector) renew(ctx context.Context) error {
	last := time.Now()
	t := time.NewTicker(e.cfg.RetryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		attempt, cancel := context.WithTimeout(ctx, e.cfg.RenewDeadline-time.Since(last))
		ok := e.tryAcquireOrRenew(attempt)
		cancel()
		switch {
		case ok:
			last = time.Now()
		case ctx.Err() != nil:
			return nil
		case e.Leader() != "" && !e.IsLeader():
			return ErrLeadershipLost // taken over
		case time.Since(last) >= e.cfg.RenewDeadline:
			return ErrLeadershipLost
		}
	}
}

// tryAcquireOrRenew makes one attempt to create, take over or renew the
// Lease; it reports whether this candidate holds it afterwards.
func (e *Elector) tryAcquireOrRenew(ctx context.Context) bool {
	now := time.Now()
	leases, ns, name := e.cfg.Leases, e.cfg.Namespace, e.cfg.Name
	cur, err := leases.Get(ctx, ns, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		e.hold(&lease.Spec, now)
		created, err := leases.Create(ctx, lease, metav1.CreateOptions{})
		if err != nil {
			e.log.Debug("create lease", "err", err)
			return false
		}
		e.observe(created, now)
		return true
	}
	if err != nil {
		e.log.Debug("get lease", "err", err)
		return false
	}
	e.observe(cur, now)
	if h := holderOf(&cur.Spec); h != "" && h != e.cfg.Identity && !e.expired(&cur.Spec, now) {
		return false
	}
	next := cur.DeepCopy()
	e.hold(&next.Spec, now)
	updated, err := leases.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		e.log.Debug("update lease", "err", err)
		return false
	}
	e.observe(updated, now)
	return true
}

// hold makes spec name this candidate as holder, renewed at now; taking
// it over from another (or nobody) starts a new term.
func (e *Elector) hold(spec *coordinationv1.LeaseSpec, now time.Time) {
	t := metav1.NewMicroTime(now)
	seconds := int32(e.cfg.LeaseDuration / time.Second)
	if seconds < 1 {
		seconds = 1
	}
	if holderOf(spec) != e.cfg.Identity {
		transitions := int32(0)
		if spec.LeaseTransitions != nil {
			transitions = *spec.LeaseTransitions + 1
		}
		spec.LeaseTransitions = &transitions
		spec.AcquireTime = &t
	}
	id := e.cfg.Identity
	spec.HolderIdentity = &id
	spec.LeaseDurationSeconds = &seconds
	spec.RenewTime = &t
}

// observe records the Lease as seen at now: a changed spec restarts the
// expiry clock, and a new holder is reported.
func (e *Elector) observe(lease *coordinationv1.Lease, now time.Time) {
	e.mu.Lock()
	if e.observed == nil || !equality.Semantic.DeepEqual(*e.observed, lease.Spec) {
		e.observed = lease.Spec.DeepCopy()
		e.observedTime = now
	}
	holder := holderOf(&lease.Spec)
	changed := holder != e.holder
	e.holder = holder
	e.mu.Unlock()
	if changed {
		e.log.Info("lease holder changed", "holder", holder)
		if e.cfg.Callbacks.OnNewLeader != nil {
			e.cfg.Callbacks.OnNewLeader(holder)
		}
	}
}

// expired reports whether the Lease has not changed for its duration, as
// seen by this candidate.
func (e *Elector) expired(spec *coordinationv1.LeaseSpec, now time.Time) bool {
	d := e.cfg.LeaseDuration
	if spec.LeaseDurationSeconds != nil {
		d = time.Duration(*spec.LeaseDurationSeconds) * time.Second
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.observedTime.Add(d).After(now)
}

// release hands the Lease back so that a successor need not wait for it
// to expire: no holder, a 1s duration, as client-go writes it.
func (e *Elector) release() {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RenewDeadline)
	defer cancel()
	cur, err := e.cfg.Leases.Get(ctx, e.cfg.Namespace, e.cfg.Name, metav1.GetOptions{})
	if err != nil || holderOf(&cur.Spec) != e.cfg.Identity {
		return
	}
	next := cur.DeepCopy()
	none, one := "", int32(1)
	t := metav1.NewMicroTime(time.Now())
	next.Spec.HolderIdentity, next.Spec.LeaseDurationSeconds = &none, &one
	next.Spec.AcquireTime, next.Spec.RenewTime = &t, &t
	updated, err := e.cfg.Leases.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		e.log.Warn("release lease", "err", err)
		return
	}
	e.observe(updated, time.Now())
}

func holderOf(spec *coordinationv1.LeaseSpec) string {
	if spec.HolderIdentity == nil {
		return ""
	}
	return *spec.HolderIdentity
}
