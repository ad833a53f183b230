package multihost

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ControlHost is a control plane host: a store member, an API server,
// gantry-controllers and gantry-scheduler in a network namespace of its
// own, serving on its address at their standard ports.
type ControlHost struct {
	Machine
	Store       *cluster.Member
	APIServer   *controlplane.APIServer
	Controllers *Daemon
	Scheduler   *Daemon
}

// startControlHosts starts gantry-controllers and gantry-scheduler on
// every control plane host, each talking to its own host's API server
// first, and waits until one of each leads.
func (c *Cluster) startControlHosts(ctx context.Context, tb testing.TB, controllerArgs []string) {
	tb.Helper()
	for i, ch := range c.ControlHosts {
		ch.Store = c.CP.Store.Member(i)
		ch.APIServer = c.CP.Servers[i]
		servers := []string{ch.APIServer.URL}
		for j, s := range c.CP.Servers {
			if j != i {
				servers = append(servers, s.URL)
			}
		}
		election := []string{
			"--leader-elect=true", "--leader-elect-identity", ch.Name,
			"--leader-elect-lease-duration", LeaseDuration.String(),
			"--leader-elect-renew-deadline", RenewDeadline.String(),
			"--leader-elect-retry-period", RetryPeriod.String(),
		}
		ch.Controllers = c.startDaemon(ctx, tb, &ch.Machine, "controllers", "gantry-controllers", append(election, controllerArgs...), servers...)
		ch.Scheduler = c.startDaemon(ctx, tb, &ch.Machine, "scheduler", "gantry-scheduler", election, servers...)
		ch.Controllers.supervise(tb)
		ch.Scheduler.supervise(tb)
	}
	for _, lease := range []string{"kube-controller-manager", "kube-scheduler"} {
		if _, err := c.WaitLeader(ctx, lease, ""); err != nil {
			tb.Fatalf("multihost: %v", err)
		}
	}
}

// Leader returns the control plane host whose identity holds the Lease
// kube-system/<lease> (kube-controller-manager or kube-scheduler), or nil.
func (c *Cluster) Leader(ctx context.Context, lease string) (*ControlHost, error) {
	l, err := c.Kube.CoordinationV1().Leases("kube-system").Get(ctx, lease, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if l.Spec.HolderIdentity == nil {
		return nil, nil
	}
	for _, ch := range c.ControlHosts {
		if ch.Name == *l.Spec.HolderIdentity {
			return ch, nil
		}
	}
	return nil, fmt.Errorf("lease %s is held by %q, not a control plane host", lease, *l.Spec.HolderIdentity)
}

// WaitLeader waits until a control plane host other than not (a host
// name, or "") holds the Lease and its daemon says it is ready.
func (c *Cluster) WaitLeader(ctx context.Context, lease, not string) (*ControlHost, error) {
	var last error
	for {
		ch, err := c.Leader(ctx, lease)
		switch {
		case err != nil:
			last = err
		case ch == nil:
			last = fmt.Errorf("lease %s has no holder", lease)
		case ch.Name == not:
			last = fmt.Errorf("lease %s is still held by %s", lease, not)
		default:
			d := ch.Controllers
			if lease == "kube-scheduler" {
				d = ch.Scheduler
			}
			if last = httpOK(ctx, d.MetricsURL+"/readyz"); last == nil {
				return ch, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no leader for %s: %v", lease, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
