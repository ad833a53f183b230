package storage

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Leases hands out store leases for objects that expire (events, after
// --event-ttl), as kube-apiserver's lease manager does: a lease is shared
// by the objects written within a short reuse window (5% of the TTL, at
// most a minute) and by at most maxObjects of them, and it is granted for
// the TTL plus that window, so every object lives at least its TTL. The
// store deletes an object, with a watch event, when its lease expires.
type Leases struct {
	cli        *clientv3.Client
	maxReuse   time.Duration
	maxObjects int
	now        func() time.Time

	mu      sync.Mutex
	id      clientv3.LeaseID
	ttl     time.Duration // the TTL the current lease was asked for
	expires time.Time     // when the current lease stops being reused
	objects int
}

// NewLeases returns a lease manager over cli.
func NewLeases(cli *clientv3.Client) *Leases {
	return &Leases{cli: cli, maxReuse: time.Minute, maxObjects: 1000, now: time.Now}
}

// For returns a lease that keeps an object at least ttl.
func (l *Leases) For(ctx context.Context, ttl time.Duration) (clientv3.LeaseID, error) {
	reuse := min(ttl/20, l.maxReuse)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.id != 0 && l.ttl == ttl && now.Before(l.expires) && l.objects < l.maxObjects {
		l.objects++
		return l.id, nil
	}
	seconds := int64((ttl + reuse + time.Second - 1) / time.Second)
	resp, err := l.cli.Grant(ctx, seconds)
	if err != nil {
		return 0, err
	}
	l.id, l.ttl, l.expires, l.objects = resp.ID, ttl, now.Add(reuse), 1
	return l.id, nil
}

// Reset drops the current lease, so the next object gets a new one.
func (l *Leases) Reset() {
	l.mu.Lock()
	l.id = 0
	l.mu.Unlock()
}
