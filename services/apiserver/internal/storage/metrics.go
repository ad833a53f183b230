package storage

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the storage layer, with kube-apiserver's names.
type Metrics struct {
	requests *prometheus.HistogramVec
	objects  *prometheus.GaugeVec
	watchers *prometheus.GaugeVec
}

// NewMetrics registers the storage metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "etcd_request_duration_seconds",
			Help:    "Store request latency in seconds for each operation and object type.",
			Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"operation", "type"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_storage_objects",
			Help: "Number of stored objects at the time of last check split by kind.",
		}, []string{"resource"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of currently registered watchers for a given resource.",
		}, []string{"group", "version", "kind"}),
	}
	reg.MustRegister(m.requests, m.objects, m.watchers)
	return m
}

// observe records one store request that started at start.
func (m *Metrics) observe(op, typ string, start time.Time) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(op, typ).Observe(time.Since(start).Seconds())
}

func (m *Metrics) setObjects(resource string, n int) {
	if m == nil {
		return
	}
	m.objects.WithLabelValues(resource).Set(float64(n))
}

func (m *Metrics) setWatchers(group, version, kind string, n int) {
	if m == nil {
		return
	}
	m.watchers.WithLabelValues(group, version, kind).Set(float64(n))
}
