package controller

import (
	"context"
	"net"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StatusClient is the part of the Ingress client RunStatus uses.
type StatusClient interface {
	UpdateStatus(ctx context.Context, obj *networkingv1.Ingress, opts metav1.UpdateOptions) (*networkingv1.Ingress, error)
}

// LoadBalancerStatus is the status.loadBalancer.ingress of an address:
// an IP, or else a host name.
func LoadBalancerStatus(address string) []networkingv1.IngressLoadBalancerIngress {
	if address == "" {
		return nil
	}
	if net.ParseIP(address) != nil {
		return []networkingv1.IngressLoadBalancerIngress{{IP: address}}
	}
	return []networkingv1.IngressLoadBalancerIngress{{Hostname: address}}
}

// RunStatus keeps status.loadBalancer.ingress of every Ingress served
// at address until ctx ends, writing only what differs; failed writes are
// tried again after retry.
func (c *Controller) RunStatus(ctx context.Context, ingresses StatusClient, address string, retry time.Duration) {
	want := LoadBalancerStatus(address)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.statusKick:
		case <-timer.C:
		}
		if !c.HasSynced() {
			timer.Reset(retry)
			continue
		}
		failed := false
		for _, ing := range c.servedIngresses() {
			if equality.Semantic.DeepEqual(ing.Status.LoadBalancer.Ingress, want) {
				continue
			}
			next := ing.DeepCopy()
			next.Status.LoadBalancer.Ingress = want
			if _, err := ingresses.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
				if ctx.Err() != nil {
					return
				}
				c.log.Info("ingress status not updated; will retry", "ingress", ing.Namespace+"/"+ing.Name, "err", err)
				failed = true
				continue
			}
			c.log.Info("ingress status updated", "ingress", ing.Namespace+"/"+ing.Name, "address", address)
		}
		if failed {
			timer.Reset(retry)
		}
	}
}
