package server

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gantry-dev/gantry/services/apiserver/internal/registry"
	"github.com/gantry-dev/gantry/services/apiserver/internal/storetest"
)

// TestEndpointsFollowLiveServers runs the endpoints reconcilers of three
// API servers against a real store: the kubernetes Endpoints list the
// three; one that stops renewing (a crash) drops out once its lease
// expires; one that stops cleanly drops out at once; one whose lease
// vanished behind its back (a long pause) gets a new one and stays.
func TestEndpointsFollowLiveServers(t *testing.T) {
	url, stop, err := storetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := registry.New(cli, registry.Config{ServiceCIDR: "10.96.0.0/12", NodePortRange: "30000-32767", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	go func() { _ = reg.Run(ctx) }()
	if err := reg.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	nsr, _ := reg.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	if _, err := nsr.Create(ctx, "", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eps, _ := reg.Resource(schema.GroupVersionResource{Version: "v1", Resource: "endpoints"})
	newReconciler := func(ip string) *endpointsReconciler {
		// The store's shortest lease: 2 s (1.5 election timeouts).
		return &endpointsReconciler{cli: cli, eps: eps, ip: ip, port: 6443, ttl: 2 * time.Second, log: log}
	}
	listed := func() string {
		obj, err := eps.Get(ctx, "default", "kubernetes", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, s := range obj.(*corev1.Endpoints).Subsets {
			for _, a := range s.Addresses {
				for _, p := range s.Ports {
					out = append(out, a.IP+":"+strconv.Itoa(int(p.Port)))
				}
			}
		}
		return strings.Join(out, " ")
	}
	// until reconciles as each of rs until the Endpoints list want, for
	// 10 s.
	until := func(want string, rs ...*endpointsReconciler) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			for _, r := range rs {
				if err := r.reconcile(ctx); err != nil {
					t.Fatalf("reconcile as %s: %v", r.ip, err)
				}
			}
			got := listed()
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("endpoints %q, want %q", got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	a, b, c := newReconciler("10.0.0.1"), newReconciler("10.0.0.2"), newReconciler("10.0.0.3")
	for _, r := range []*endpointsReconciler{c, a, b} {
		if err := r.reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := listed(), "10.0.0.1:6443 10.0.0.2:6443 10.0.0.3:6443"; got != want {
		t.Fatalf("endpoints %q, want %q", got, want)
	}

	// c crashes: no more renewals. The others keep renewing theirs and
	// c drops out when its lease expires.
	start := time.Now()
	until("10.0.0.1:6443 10.0.0.2:6443", a, b)
	if time.Since(start) < time.Second {
		t.Errorf("the crashed server dropped out after %v, before its lease could expire", time.Since(start))
	}

	// b stops cleanly: out at once, a stays.
	if err := b.remove(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := listed(), "10.0.0.1:6443"; got != want {
		t.Fatalf("after a clean stop: endpoints %q, want %q", got, want)
	}

	// a's lease vanishes while a is paused; its next reconcile takes a
	// new one and keeps a listed.
	if _, err := cli.Revoke(ctx, a.lease); err != nil {
		t.Fatal(err)
	}
	old := a.lease
	until("10.0.0.1:6443", a)
	if a.lease == old {
		t.Error("the reconciler kept a revoked lease")
	}
	resp, err := cli.Get(ctx, masterLeasePrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	if want := []string{masterLeasePrefix + "10.0.0.1"}; !slices.Equal(keys, want) {
		t.Errorf("lease keys %v, want %v", keys, want)
	}

	// A server's run loop publishes it and withdraws it when its context
	// ends (the server stopping).
	d := newReconciler("10.0.0.4")
	dctx, dstop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { d.run(dctx, 100*time.Millisecond); close(ran) }()
	until("10.0.0.1:6443 10.0.0.4:6443", a)
	dstop()
	<-ran
	if got, want := listed(), "10.0.0.1:6443"; got != want {
		t.Fatalf("after the run loop ended: endpoints %q, want %q", got, want)
	}

	// The last server stops cleanly: no address left.
	if err := a.remove(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listed(); got != "" {
		t.Errorf("after every server stopped: endpoints %q, want none", got)
	}
}
