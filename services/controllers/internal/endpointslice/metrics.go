package endpointslice

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the controller's own, under Kubernetes' names.
type metrics struct {
	// changes counts slice writes by operation (create, update, delete).
	changes *prometheus.CounterVec
	// endpointsAdded/Removed per sync.
	added, removed prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	buckets := prometheus.ExponentialBuckets(2, 2, 15)
	m := &metrics{
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "endpoint_slice_controller", Name: "changes",
			Help: "Number of EndpointSlice changes",
		}, []string{"operation"}),
		added: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "endpoint_slice_controller", Name: "endpoints_added_per_sync",
			Help: "Number of endpoints added on each Service sync", Buckets: buckets,
		}),
		removed: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "endpoint_slice_controller", Name: "endpoints_removed_per_sync",
			Help: "Number of endpoints removed on each Service sync", Buckets: buckets,
		}),
	}
	var err error
	if m.changes, err = register(reg, m.changes); err != nil {
		return nil, err
	}
	if m.added, err = register(reg, m.added); err != nil {
		return nil, err
	}
	if m.removed, err = register(reg, m.removed); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers col, or returns the collector registered before
// under its name (a controller built twice in one process).
func register[C prometheus.Collector](reg prometheus.Registerer, col C) (C, error) {
	err := reg.Register(col)
	if err == nil {
		return col, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return col, fmt.Errorf("endpointslice metrics: %w", err)
}
