// Package metrics holds gantry-proxy's Prometheus collectors, under
// kube-proxy's names (namespace kubeproxy), registered on the registerer
// the program passes in.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the proxier's collectors.
type Metrics struct {
	SyncDuration        prometheus.Histogram
	SyncFullDuration    prometheus.Histogram
	SyncPartialDuration prometheus.Histogram
	LastSync            prometheus.Gauge
	LastQueued          prometheus.Gauge
	RulesTotal          *prometheus.GaugeVec
	RulesLast           *prometheus.GaugeVec
	RestoreFailures     prometheus.Counter
	EndpointsPending    prometheus.Gauge
	ServicesPending     prometheus.Gauge
	NetworkProgramming  prometheus.Histogram
	SkippedPorts        prometheus.Counter
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	const ns = "kubeproxy"
	buckets := prometheus.ExponentialBuckets(0.001, 2, 15)
	m := &Metrics{
		SyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns,
			Name: "sync_proxy_rules_duration_seconds", Help: "SyncProxyRules latency in seconds", Buckets: buckets}),
		SyncFullDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns,
			Name: "sync_full_proxy_rules_duration_seconds", Help: "SyncProxyRules latency in seconds for full resyncs", Buckets: buckets}),
		SyncPartialDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns,
			Name: "sync_partial_proxy_rules_duration_seconds", Help: "SyncProxyRules latency in seconds for partial resyncs", Buckets: buckets}),
		LastSync: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns,
			Name: "sync_proxy_rules_last_timestamp_seconds", Help: "The last time proxy rules were successfully synced"}),
		LastQueued: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns,
			Name: "sync_proxy_rules_last_queued_timestamp_seconds", Help: "The last time a sync of proxy rules was queued"}),
		RulesTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns,
			Name: "sync_proxy_rules_iptables_total", Help: "Total number of iptables rules owned by gantry-proxy"}, []string{"table"}),
		RulesLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns,
			Name: "sync_proxy_rules_iptables_last", Help: "Number of iptables rules written by gantry-proxy in last sync"}, []string{"table"}),
		RestoreFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns,
			Name: "sync_proxy_rules_iptables_restore_failures_total", Help: "Cumulative proxy iptables restore failures"}),
		EndpointsPending: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns,
			Name: "sync_proxy_rules_endpoint_changes_pending", Help: "Pending proxy rules Endpoint changes"}),
		ServicesPending: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns,
			Name: "sync_proxy_rules_service_changes_pending", Help: "Pending proxy rules Service changes"}),
		NetworkProgramming: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns,
			Name: "network_programming_duration_seconds", Help: "In Cluster Network Programming Latency in seconds",
			Buckets: networkProgrammingBuckets()}),
		SkippedPorts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns,
			Name: "sync_proxy_rules_skipped_service_ports_total", Help: "Service ports or addresses left out of the rules because they were invalid (gantry)"}),
	}
	reg.MustRegister(m.SyncDuration, m.SyncFullDuration, m.SyncPartialDuration, m.LastSync, m.LastQueued,
		m.RulesTotal, m.RulesLast, m.RestoreFailures, m.EndpointsPending, m.ServicesPending, m.NetworkProgramming, m.SkippedPorts)
	return m
}

// networkProgrammingBuckets are kube-proxy's for
// network_programming_duration_seconds: 0.25 s and 0.5 s, every second to
// 59 s, every 5 s to 115 s, every 30 s from 2 to 5 minutes.
func networkProgrammingBuckets() []float64 {
	b := prometheus.LinearBuckets(0.25, 0.25, 2)
	b = append(b, prometheus.LinearBuckets(1, 1, 59)...)
	b = append(b, prometheus.LinearBuckets(60, 5, 12)...)
	return append(b, prometheus.LinearBuckets(120, 30, 7)...)
}
