package leaderelection

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeLeases keeps one Lease in memory with the API server's
// compare-and-swap rules; fail makes every write fail.
type fakeLeases struct {
	mu    sync.Mutex
	lease *coordinationv1.Lease
	rv    int
	fail  bool
}

var leasesGR = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}

func (f *fakeLeases) Get(_ context.Context, _, name string, _ metav1.GetOptions) (*coordinationv1.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lease == nil {
		return nil, apierrors.NewNotFound(leasesGR, name)
	}
	return f.lease.DeepCopy(), nil
}

func (f *fakeLeases) Create(_ context.Context, l *coordinationv1.Lease, _ metav1.CreateOptions) (*coordinationv1.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, apierrors.NewServiceUnavailable("down")
	}
	if f.lease != nil {
		return nil, apierrors.NewAlreadyExists(leasesGR, l.Name)
	}
	return f.store(l), nil
}

func (f *fakeLeases) Update(_ context.Context, l *coordinationv1.Lease, _ metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, apierrors.NewServiceUnavailable("down")
	}
	if f.lease == nil || l.ResourceVersion != f.lease.ResourceVersion {
		return nil, apierrors.NewConflict(leasesGR, l.Name, errors.New("the object has been modified"))
	}
	return f.store(l), nil
}

func (f *fakeLeases) store(l *coordinationv1.Lease) *coordinationv1.Lease {
	f.rv++
	f.lease = l.DeepCopy()
	f.lease.ResourceVersion = strconv.Itoa(f.rv)
	return f.lease.DeepCopy()
}

func (f *fakeLeases) setFail(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = v
}

// candidate runs one elector and records when it leads.
type candidate struct {
	e       *Elector
	leading chan struct{} // closed when it starts leading
	stopped chan struct{} // closed when OnStoppedLeading ran
	done    chan error    // Run's result
	cancel  context.CancelFunc
}

func startCandidate(t *testing.T, leases Leases, id string) *candidate {
	t.Helper()
	c := &candidate{leading: make(chan struct{}), stopped: make(chan struct{}), done: make(chan error, 1)}
	e, err := New(Config{
		Leases: leases, Name: "scheduler", Identity: id,
		LeaseDuration: time.Second, RenewDeadline: 500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond,
		ReleaseOnCancel: true,
		Callbacks: Callbacks{
			OnStartedLeading: func(ctx context.Context) { close(c.leading); <-ctx.Done() },
			OnStoppedLeading: func() { close(c.stopped) },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.e = e
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() { c.done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-c.stopped
	})
	return c
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string, d time.Duration) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out waiting until %s", what)
	}
}

func TestOneLeaderThenHandOver(t *testing.T) {
	leases := &fakeLeases{}
	a := startCandidate(t, leases, "a")
	waitClosed(t, a.leading, "a leads", 5*time.Second)
	b := startCandidate(t, leases, "b")

	// b waits while a renews, well past the lease duration.
	select {
	case <-b.leading:
		t.Fatal("b leads while a holds the lease")
	case <-time.After(1500 * time.Millisecond):
	}
	if !a.e.IsLeader() || b.e.Leader() != "a" {
		t.Fatalf("a.IsLeader=%v, b sees leader %q", a.e.IsLeader(), b.e.Leader())
	}

	// a releases on cancel; b takes over without waiting for expiry.
	start := time.Now()
	a.cancel()
	waitClosed(t, a.stopped, "a stops leading", 5*time.Second)
	if err := <-a.done; err != nil {
		t.Errorf("a.Run = %v, want nil after cancel", err)
	}
	waitClosed(t, b.leading, "b leads", 5*time.Second)
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("b took %v to take over a released lease", d)
	}
	lease, err := leases.Get(context.Background(), "kube-system", "scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := holderOf(&lease.Spec); h != "b" {
		t.Errorf("lease holder %q, want b", h)
	}
	if tr := *lease.Spec.LeaseTransitions; tr != 1 {
		t.Errorf("lease transitions %d, want 1", tr)
	}
}

func TestLeaderGivesUpWhenRenewFails(t *testing.T) {
	leases := &fakeLeases{}
	a := startCandidate(t, leases, "a")
	waitClosed(t, a.leading, "a leads", 5*time.Second)
	leases.setFail(true)
	waitClosed(t, a.stopped, "a stops leading", 5*time.Second)
	if err := <-a.done; !errors.Is(err, ErrLeadershipLost) {
		t.Errorf("Run = %v, want ErrLeadershipLost", err)
	}
}

func TestTakeOverExpiredLease(t *testing.T) {
	// A holder that vanished without releasing: the lease is taken over
	// once it has not changed for its duration.
	leases := &fakeLeases{}
	gone, d := "gone", int32(1)
	leases.store(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "scheduler"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &gone, LeaseDurationSeconds: &d},
	})
	start := time.Now()
	b := startCandidate(t, leases, "b")
	waitClosed(t, b.leading, "b leads", 5*time.Second)
	if since := time.Since(start); since < time.Second {
		t.Errorf("b took over after %v, before the lease expired", since)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{Leases: &fakeLeases{}, Name: "n", Identity: "i",
		Callbacks: Callbacks{OnStartedLeading: func(context.Context) {}}}
	if _, err := New(ok); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	bad := ok
	bad.LeaseDuration, bad.RenewDeadline = 5*time.Second, 5*time.Second
	if _, err := New(bad); err == nil {
		t.Error("LeaseDuration == RenewDeadline accepted")
	}
	bad = ok
	bad.RenewDeadline, bad.RetryPeriod = 2*time.Second, 2*time.Second
	if _, err := New(bad); err == nil {
		t.Error("RenewDeadline == RetryPeriod accepted")
	}
	bad = ok
	bad.Identity = ""
	if _, err := New(bad); err == nil {
		t.Error("empty identity accepted")
	}
}
