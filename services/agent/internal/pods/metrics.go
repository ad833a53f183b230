package pods

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
)

// Metrics of the pod workers, with kubelet's names where they mean the
// same.
type Metrics struct {
	startLatency prometheus.Histogram
	backoffs     prometheus.Counter
	probes       *prometheus.CounterVec
}

// NewMetrics registers the pod metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		startLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kubelet_pod_start_duration_seconds",
			Help:    "Duration in seconds from a pod's creation to its first container starting on this node.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120},
		}),
		backoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gantry_agent_container_backoffs_total",
			Help: "Container restarts delayed by back-off (CrashLoopBackOff).",
		}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prober_probe_total",
			Help: "Cumulative number of liveness, readiness or startup probes for containers by result.",
		}, []string{"probe_type", "result"}),
	}
	reg.MustRegister(m.startLatency, m.backoffs, m.probes)
	return m
}

func (m *Metrics) started(pod *corev1.Pod, now time.Time) {
	if pod.CreationTimestamp.IsZero() {
		return
	}
	m.startLatency.Observe(now.Sub(pod.CreationTimestamp.Time).Seconds())
}

func (m *Metrics) probe(kind string, ok bool) {
	result := "successful"
	if !ok {
		result = "failed"
	}
	m.probes.WithLabelValues(kind, result).Inc()
}
