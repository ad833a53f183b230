package garbagecollector

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the garbage collector's own collectors (its queues report
// through the shared workqueue_* metrics).
type metrics struct {
	graphNodes     prometheus.Gauge
	deleteAttempts *prometheus.CounterVec
	orphanAttempts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		graphNodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "gantry", Subsystem: "garbagecollector", Name: "graph_nodes",
			Help: "Objects in the garbage collector's dependency graph, virtual owners included.",
		}),
		deleteAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gantry", Subsystem: "garbagecollector", Name: "delete_attempts_total",
			Help: "Deletions of objects whose owners are gone, by propagation policy and result.",
		}, []string{"propagation_policy", "result"}),
		orphanAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gantry", Subsystem: "garbagecollector", Name: "orphan_attempts_total",
			Help: "Attempts to orphan the dependents of an owner deleted with the orphan finalizer, by result.",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.graphNodes, m.deleteAttempts, m.orphanAttempts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("garbage collector metrics: %w", err)
		}
	}
	return m, nil
}
