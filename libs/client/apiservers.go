package client

import (
	"context"
	"net"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc/resolver"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FollowAPIServers keeps the client's API server list current until ctx
// ends: every interval it reads the default/kubernetes Endpoints, where
// every API server lists its advertise address, and hands gRPC the
// configured endpoints followed by those it finds there. A host that
// was given one API server when it joined so fails over to those that
// joined after it, as kubelets behind k3s' client load balancer do.
// Errors are logged and the last list kept; servers that leave stay
// listed (the API servers do not yet remove themselves from the
// Endpoints), which only costs a failed dial when one is picked.
func (c *Client) FollowAPIServers(ctx context.Context, interval time.Duration) {
	eps := Endpoints(c)
	last := c.configured
	for {
		cur, err := eps.Get(ctx, "default", "kubernetes", metav1.GetOptions{})
		if err == nil {
			addrs := c.withDiscovered(cur)
			if !slices.Equal(addrs, last) {
				c.resolver.UpdateState(resolver.State{Addresses: addrs})
				c.log.Info("API servers", "addresses", addrStrings(addrs))
				last = addrs
				c.mu.Lock()
				c.current = addrs
				c.mu.Unlock()
			}
		} else if ctx.Err() == nil {
			c.log.Warn("reading the API servers from default/kubernetes Endpoints", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// withDiscovered returns the configured addresses, then those of ep's
// https port that are not among them.
func (c *Client) withDiscovered(ep *corev1.Endpoints) []resolver.Address {
	out := slices.Clone(c.configured)
	for _, s := range ep.Subsets {
		port := int32(0)
		for _, p := range s.Ports {
			if p.Name == "https" || port == 0 {
				port = p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, a := range s.Addresses {
			addr := net.JoinHostPort(a.IP, strconv.Itoa(int(port)))
			if slices.ContainsFunc(out, func(x resolver.Address) bool { return x.Addr == addr }) {
				continue
			}
			name := a.IP
			if c.serverName != "" {
				name = c.serverName
			}
			out = append(out, resolver.Address{Addr: addr, ServerName: name})
		}
	}
	return out
}

// APIServers returns the API server addresses (host:port) the client
// picks from: the configured ones and, with FollowAPIServers, those it
// found.
func (c *Client) APIServers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == nil {
		return addrStrings(c.configured)
	}
	return addrStrings(c.current)
}

func addrStrings(addrs []resolver.Address) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.Addr
	}
	return out
}

// FollowAPIServersInterval is how often daemons read the kubernetes
// Endpoints for FollowAPIServers.
const FollowAPIServersInterval = 30 * time.Second

// StartFollowingAPIServers runs FollowAPIServers in the background
// until ctx ends or the returned stop is called; stop waits for it, so
// it must run before the client is closed.
func (c *Client) StartFollowingAPIServers(ctx context.Context, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.FollowAPIServers(ctx, interval)
	}()
	return func() {
		cancel()
		<-done
	}
}
