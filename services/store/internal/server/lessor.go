package server

import (
	"context"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/services/store/internal/command"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// lessor tracks lease deadlines. Only the leader's lessor is primary: it
// alone decides that a lease expired and proposes its revocation, so expiry
// is replicated like any other write. A new leader gives every lease a full
// TTL (plus an election timeout) again, as etcd does.
type lessor struct {
	mu       sync.Mutex
	primary  bool
	extend   time.Duration
	deadline map[int64]time.Time
	revoking map[int64]time.Time
}

func newLessor(extend time.Duration) *lessor {
	return &lessor{extend: extend, deadline: map[int64]time.Time{}, revoking: map[int64]time.Time{}}
}

func (l *lessor) promote(leases map[int64]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.primary = true
	l.deadline = make(map[int64]time.Time, len(leases))
	l.revoking = map[int64]time.Time{}
	for id, ttl := range leases {
		l.deadline[id] = now.Add(time.Duration(ttl)*time.Second + l.extend)
	}
}

func (l *lessor) demote() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.primary = false
	l.deadline = map[int64]time.Time{}
}

func (l *lessor) isPrimary() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.primary
}

// renew restarts a lease's TTL.
func (l *lessor) renew(id, ttl int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadline[id] = time.Now().Add(time.Duration(ttl) * time.Second)
}

// remaining returns the seconds left on a lease, ttl for a lease it has not
// tracked yet.
func (l *lessor) remaining(id, ttl int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.deadline[id]
	if !ok {
		return ttl
	}
	left := time.Until(d)
	if left <= 0 {
		return 0
	}
	return int64((left + time.Second - 1) / time.Second)
}

// expired reconciles the lessor with the granted leases and returns those
// whose deadline passed and that are not being revoked already.
func (l *lessor) expired(leases map[int64]int64, max int) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.primary {
		return nil
	}
	now := time.Now()
	for id := range l.deadline {
		if _, ok := leases[id]; !ok {
			delete(l.deadline, id)
			delete(l.revoking, id)
		}
	}
	var out []int64
	for id, ttl := range leases {
		d, ok := l.deadline[id]
		if !ok {
			l.deadline[id] = now.Add(time.Duration(ttl) * time.Second)
			continue
		}
		if now.Before(d) {
			continue
		}
		if t, ok := l.revoking[id]; ok && now.Sub(t) < 5*time.Second {
			continue
		}
		l.revoking[id] = now
		out = append(out, id)
		if len(out) >= max {
			break
		}
	}
	return out
}

// expireLeases revokes expired leases, on the leader.
func (n *node) expireLeases(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	sem := make(chan struct{}, 16)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.lessor.isPrimary() || !n.isLeader() {
			continue
		}
		for _, id := range n.lessor.expired(n.store.Leases(), 500) {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				pctx, cancel := context.WithTimeout(ctx, n.requestTimeout())
				defer cancel()
				// Only the leader's own deadlines count: never forward an
				// expiry decided by a member that is no longer leader.
				data, err := command.Encode(command.LeaseRevoke, &pb.LeaseRevokeRequest{ID: id})
				if err == nil {
					_, err = n.propose(pctx, data)
				}
				if err != nil {
					n.log.Debug("revoke expired lease", "lease", id, "err", err)
				}
			}()
		}
	}
}
