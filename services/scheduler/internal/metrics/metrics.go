// Package metrics holds the scheduler's Prometheus collectors, named as
// kube-scheduler names them so that existing dashboards work.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// Metrics are registered on the registerer passed to New.
type Metrics struct {
	Attempts          *prometheus.CounterVec   // result, profile
	AttemptDuration   *prometheus.HistogramVec // result, profile
	E2EDuration       *prometheus.HistogramVec // result, profile: first queued → bound
	PluginDuration    *prometheus.HistogramVec // plugin, extension_point, status
	PendingPods       *prometheus.GaugeVec     // queue
	PreemptionAttempt prometheus.Counter
	PreemptionVictims prometheus.Histogram
	Bindings          *prometheus.CounterVec // result
}

// New registers the collectors on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scheduler_schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result: 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
		}, []string{"result", "profile"}),
		AttemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_scheduling_attempt_duration_seconds",
			Help:    "Scheduling attempt latency in seconds (scheduling algorithm + binding).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"result", "profile"}),
		E2EDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_pod_scheduling_sli_duration_seconds",
			Help:    "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue until it is bound.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 20),
		}, []string{"result", "profile"}),
		PluginDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_plugin_execution_duration_seconds",
			Help:    "Duration for running a plugin at a specific extension point.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 1.5, 20),
		}, []string{"plugin", "extension_point", "status"}),
		PendingPods: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scheduler_pending_pods",
			Help: "Number of pending pods, by the queue type: 'active', 'backoff', 'unschedulable'.",
		}, []string{"queue"}),
		PreemptionAttempt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scheduler_preemption_attempts_total",
			Help: "Total preemption attempts in the cluster till now.",
		}),
		PreemptionVictims: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scheduler_preemption_victims",
			Help:    "Number of selected preemption victims.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 7),
		}),
		Bindings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_scheduler_bindings_total",
			Help: "Bindings posted to the API server, by result.",
		}, []string{"result"}),
	}
	reg.MustRegister(m.Attempts, m.AttemptDuration, m.E2EDuration, m.PluginDuration, m.PendingPods,
		m.PreemptionAttempt, m.PreemptionVictims, m.Bindings)
	return m
}

// ObservePlugin records one plugin call (for runtime.Options.Observe).
func (m *Metrics) ObservePlugin(plugin, point string, s *framework.Status, d time.Duration) {
	m.PluginDuration.WithLabelValues(plugin, point, s.Code().String()).Observe(d.Seconds())
}
