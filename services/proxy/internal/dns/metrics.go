package dns

import (
	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's collectors, named as CoreDNS's so that its
// dashboards and alerts apply.
type metrics struct {
	requests    *prometheus.CounterVec   // server, zone, proto, family, type
	responses   *prometheus.CounterVec   // server, zone, rcode, plugin
	duration    *prometheus.HistogramVec // server, zone, type
	fwdRequests *prometheus.CounterVec   // to
	fwdResponse *prometheus.CounterVec   // to, rcode
	fwdDuration *prometheus.HistogramVec // to, rcode
}

// newMetrics creates the collectors and registers them on reg (nil: not
// registered).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	buckets := prometheus.ExponentialBuckets(0.00025, 2, 16) // 250µs .. 8s, as CoreDNS
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "coredns", Subsystem: "dns", Name: "requests_total",
			Help: "Counter of DNS requests made per zone, protocol and family.",
		}, []string{"server", "zone", "proto", "family", "type"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "coredns", Subsystem: "dns", Name: "responses_total",
			Help: "Counter of response status codes.",
		}, []string{"server", "zone", "rcode", "plugin"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "coredns", Subsystem: "dns", Name: "request_duration_seconds",
			Help: "Histogram of the time (in seconds) each request took.", Buckets: buckets,
		}, []string{"server", "zone", "type"}),
		fwdRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "coredns", Subsystem: "forward", Name: "requests_total",
			Help: "Counter of requests made per upstream.",
		}, []string{"to"}),
		fwdResponse: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "coredns", Subsystem: "forward", Name: "responses_total",
			Help: "Counter of responses received per upstream.",
		}, []string{"to", "rcode"}),
		fwdDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "coredns", Subsystem: "forward", Name: "request_duration_seconds",
			Help: "Histogram of the time each request took.", Buckets: buckets,
		}, []string{"to", "rcode"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.responses, m.duration, m.fwdRequests, m.fwdResponse, m.fwdDuration} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// knownTypes are the query types reported by name; others are "other",
// which bounds the label's values (as CoreDNS does).
var knownTypes = map[uint16]bool{
	mdns.TypeA: true, mdns.TypeAAAA: true, mdns.TypeCNAME: true, mdns.TypeSRV: true,
	mdns.TypePTR: true, mdns.TypeSOA: true, mdns.TypeNS: true, mdns.TypeMX: true,
	mdns.TypeTXT: true, mdns.TypeANY: true, mdns.TypeHTTPS: true, mdns.TypeSVCB: true,
	mdns.TypeDS: true, mdns.TypeDNSKEY: true, mdns.TypeAXFR: true, mdns.TypeIXFR: true,
	mdns.TypeCAA: true, mdns.TypeNAPTR: true, mdns.TypeHINFO: true,
}

func typeLabel(t uint16) string {
	if knownTypes[t] {
		return mdns.TypeToString[t]
	}
	return "other"
}

func rcodeLabel(rc int) string {
	if s, ok := mdns.RcodeToString[rc]; ok {
		return s
	}
	return "other"
}
