package csrutil

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterCounterVec registers v on reg, or returns the collector
// registered before under its name (a controller built twice in one
// process).
func RegisterCounterVec(reg prometheus.Registerer, v *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(v)
	if err == nil {
		return v, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return nil, err
}
