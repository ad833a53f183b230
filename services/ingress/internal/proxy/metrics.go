package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	bytes    *prometheus.CounterVec
}

var requestLabels = []string{"ingress", "namespace", "service", "code"}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_ingress_requests_total",
			Help: "HTTP requests served, by Ingress, namespace, backend Service and status code (empty ingress: no rule matched).",
		}, requestLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gantry_ingress_request_duration_seconds",
			Help:    "Time from reading a request's headers to the end of its response, by Ingress, namespace, backend Service and status code.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, requestLabels),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_ingress_upstream_retries_total",
			Help: "Requests sent again to another endpoint after a connection failure, by namespace and Service.",
		}, []string{"namespace", "service"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_ingress_response_bytes_total",
			Help: "Response body bytes sent to clients, by Ingress, namespace and backend Service.",
		}, []string{"ingress", "namespace", "service"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.retries, m.bytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
