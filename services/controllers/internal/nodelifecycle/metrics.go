package nodelifecycle

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node lifecycle controller's, under Kubernetes' names
// (node_collector_*).
type metrics struct {
	zoneHealth, zoneSize, unhealthy *prometheus.GaugeVec
	evictions                       *prometheus.CounterVec
	passDuration                    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "node_collector", Name: name, Help: help}, []string{"zone"})
	}
	m := &metrics{
		zoneHealth: gauge("zone_health", "Gauge measuring percentage of healthy nodes per zone."),
		zoneSize:   gauge("zone_size", "Gauge measuring number of registered Nodes per zones."),
		unhealthy:  gauge("unhealthy_nodes_in_zone", "Gauge measuring number of not Ready Nodes per zones."),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "node_collector", Name: "evictions_total",
			Help: "Number of Node evictions that happened since current instance of NodeController started.",
		}, []string{"zone"}),
		passDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "node_collector", Name: "update_all_nodes_health_duration_seconds",
			Help:    "Duration in seconds for NodeController to update the health of all nodes.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 15),
		}),
	}
	for _, c := range []prometheus.Collector{m.zoneHealth, m.zoneSize, m.unhealthy, m.evictions, m.passDuration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("node lifecycle metrics: %w", err)
		}
	}
	return m, nil
}

// forgetZone drops the gauges of a zone without nodes.
func (m *metrics) forgetZone(zone string) {
	m.zoneHealth.DeleteLabelValues(zone)
	m.zoneSize.DeleteLabelValues(zone)
	m.unhealthy.DeleteLabelValues(zone)
}
