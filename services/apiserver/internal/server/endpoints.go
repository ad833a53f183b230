package server

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gantry-dev/gantry/services/apiserver/internal/registry"
)

// The kubernetes Service's endpoints are the API servers that are alive,
// kept the way kube-apiserver's lease reconciler keeps them: every server
// holds the key masterLeasePrefix+<its address> under a store lease of
// masterLeaseTTL, renews it every reconcileInterval, and then sets the
// Endpoints' addresses to those with a key. A server that dies drops out
// when its lease expires (within masterLeaseTTL + reconcileInterval); one
// that stops cleanly removes its key and its address at once.
const (
	masterLeasePrefix = "/registry/masterleases/"
	masterLeaseTTL    = 15 * time.Second
	reconcileInterval = 10 * time.Second
)

// endpointsReconciler keeps one API server's lease and the kubernetes
// Endpoints; it is used from one goroutine.
type endpointsReconciler struct {
	cli  *clientv3.Client
	eps  *registry.Resource
	ip   string
	port int32
	ttl  time.Duration
	log  *slog.Logger
	// lease is the store lease of this server's key, 0 before the first
	// grant or after it was found gone.
	lease clientv3.LeaseID
}

// run reconciles every interval until ctx ends, then withdraws this
// server (see remove).
func (r *endpointsReconciler) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
			defer cancel()
			if err := r.remove(rctx); err != nil {
				r.log.Warn("withdraw from the kubernetes Service's endpoints", "err", err)
			}
			return
		case <-t.C:
			if err := r.reconcile(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("reconcile the kubernetes Service's endpoints", "err", err)
			}
		}
	}
}

// reconcile renews this server's key and sets the Endpoints to the
// servers that have one.
func (r *endpointsReconciler) reconcile(ctx context.Context) error {
	if err := r.renew(ctx); err != nil {
		return err
	}
	live, err := r.liveServers(ctx)
	if err != nil {
		return err
	}
	return r.setAddresses(ctx, live)
}

// renew keeps this server's lease alive, or grants a new one when it has
// expired (a long pause, a store restored from a snapshot), and writes
// the key under it: the key may have gone with an expired lease.
func (r *endpointsReconciler) renew(ctx context.Context) error {
	if r.lease != 0 {
		if _, err := r.cli.KeepAliveOnce(ctx, r.lease); errors.Is(err, rpctypes.ErrLeaseNotFound) {
			r.lease = 0
		} else if err != nil {
			return err
		}
	}
	if r.lease == 0 {
		g, err := r.cli.Grant(ctx, int64(max(r.ttl/time.Second, 1)))
		if err != nil {
			return err
		}
		r.lease = g.ID
	}
	_, err := r.cli.Put(ctx, masterLeasePrefix+r.ip, r.ip, clientv3.WithLease(r.lease))
	return err
}

// liveServers returns the sorted addresses of the servers with a key.
func (r *endpointsReconciler) liveServers(ctx context.Context) ([]string, error) {
	resp, err := r.cli.Get(ctx, masterLeasePrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, kv := range resp.Kvs {
		ip := strings.TrimPrefix(string(kv.Key), masterLeasePrefix)
		if _, err := netip.ParseAddr(ip); err == nil {
			ips = append(ips, ip)
		}
	}
	slices.Sort(ips)
	return ips, nil
}

// remove deletes this server's key and takes its address out of the
// Endpoints, leaving the other servers' as their keys say.
func (r *endpointsReconciler) remove(ctx context.Context) error {
	if r.lease != 0 {
		if _, err := r.cli.Revoke(ctx, r.lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return err
		}
	}
	if _, err := r.cli.Delete(ctx, masterLeasePrefix+r.ip); err != nil {
		return err
	}
	live, err := r.liveServers(ctx)
	if err != nil {
		return err
	}
	return r.setAddresses(ctx, slices.DeleteFunc(live, func(ip string) bool { return ip == r.ip }))
}

// setAddresses makes the Endpoints list exactly ips on this server's
// port (every API server serves on the same port, as Kubernetes assumes);
// an unchanged object is not written.
func (r *endpointsReconciler) setAddresses(ctx context.Context, ips []string) error {
	var want []corev1.EndpointSubset
	if len(ips) > 0 {
		addrs := make([]corev1.EndpointAddress, len(ips))
		for i, ip := range ips {
			addrs[i] = corev1.EndpointAddress{IP: ip}
		}
		want = []corev1.EndpointSubset{{
			Addresses: addrs,
			Ports:     []corev1.EndpointPort{{Name: "https", Port: r.port, Protocol: corev1.ProtocolTCP}},
		}}
	}
	_, _, err := r.eps.Mutate(ctx, metav1.NamespaceDefault, "kubernetes", "", false, true, "gantry-apiserver",
		func(cur runtime.Object) (runtime.Object, error) {
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault}}
			if cur != nil {
				ep = cur.DeepCopyObject().(*corev1.Endpoints)
			}
			if equality.Semantic.DeepEqual(ep.Subsets, want) {
				return nil, nil
			}
			ep.Subsets = want
			return ep, nil
		})
	return err
}
