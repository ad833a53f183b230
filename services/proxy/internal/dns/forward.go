package dns

import (
	"context"
	"errors"
	"fmt"
	"time"

	mdns "github.com/miekg/dns"
)

// errBusy is returned when MaxConcurrentForwards queries are in flight.
var errBusy = errors.New("too many forwarded queries in flight")

// errNoUpstream is returned when there is nowhere to forward to.
var errNoUpstream = errors.New("no upstream resolvers")

// forwarder sends queries to the upstream resolvers.
type forwarder struct {
	upstreams []string // "ip:port"
	timeout   time.Duration
	inflight  chan struct{}
	m         *metrics
}

func newForwarder(upstreams []string, timeout time.Duration, maxInflight int, m *metrics) *forwarder {
	return &forwarder{upstreams: upstreams, timeout: timeout, inflight: make(chan struct{}, maxInflight), m: m}
}

// exchange asks the upstreams in turn, over network ("udp" or "tcp"),
// and returns the first answer that is neither SERVFAIL nor REFUSED (or
// the last such answer if every upstream gave one). A UDP answer with TC
// set is asked again over TCP. The answer carries req's ID.
func (f *forwarder) exchange(ctx context.Context, req *mdns.Msg, network string) (*mdns.Msg, error) {
	if len(f.upstreams) == 0 {
		return nil, errNoUpstream
	}
	select {
	case f.inflight <- struct{}{}:
		defer func() { <-f.inflight }()
	default:
		return nil, errBusy
	}
	var (
		errs     []error
		fallback *mdns.Msg
	)
	for _, up := range f.upstreams {
		resp, err := f.try(ctx, req, up, network)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", up, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		resp.Id = req.Id
		if resp.Rcode == mdns.RcodeServerFailure || resp.Rcode == mdns.RcodeRefused {
			fallback = resp
			continue
		}
		return resp, nil
	}
	if fallback != nil {
		return fallback, nil
	}
	return nil, errors.Join(errs...)
}

// try asks one upstream.
func (f *forwarder) try(ctx context.Context, req *mdns.Msg, up, network string) (*mdns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	q := req.Copy()
	q.Id = mdns.Id()
	c := &mdns.Client{Net: network, Timeout: f.timeout}
	start := time.Now()
	f.m.fwdRequests.WithLabelValues(up).Inc()
	resp, _, err := c.ExchangeContext(ctx, q, up)
	if err == nil && resp.Truncated && network == "udp" {
		c.Net = "tcp"
		resp, _, err = c.ExchangeContext(ctx, q, up)
	}
	rcode := "error"
	if err == nil {
		rcode = rcodeLabel(resp.Rcode)
		f.m.fwdResponse.WithLabelValues(up, rcode).Inc()
	}
	f.m.fwdDuration.WithLabelValues(up, rcode).Observe(time.Since(start).Seconds())
	return resp, err
}
