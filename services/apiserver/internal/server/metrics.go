package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/apiserver/internal/rest"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics uses kube-apiserver's metric names so its dashboards work.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	longRunning *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, resource, subresource and HTTP response code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, resource and subresource.",
			Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"verb", "group", "version", "resource", "subresource"}),
		longRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_longrunning_requests",
			Help: "Gauge of all active long-running apiserver requests (watches) broken out by verb and resource.",
		}, []string{"verb", "group", "version", "resource", "subresource"}),
	}
	reg.MustRegister(m.requests, m.duration, m.longRunning)
	return m
}

// instrument counts and times every request.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := rest.Describe(r)
		verb := strings.ToUpper(info.Verb)
		if info.Resource == "" {
			verb = r.Method
		}
		group, version := groupVersion(r.URL.Path)
		labels := prometheus.Labels{"verb": verb, "group": group, "version": version, "resource": info.Resource, "subresource": info.Subresource}
		if info.Verb == "watch" {
			g := m.longRunning.With(labels)
			g.Inc()
			defer g.Dec()
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		if info.Verb != "watch" {
			m.duration.With(labels).Observe(time.Since(start).Seconds())
		}
		labels["code"] = strconv.Itoa(rec.code)
		m.requests.With(labels).Inc()
	})
}

func groupVersion(path string) (string, string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		return "", parts[1]
	case len(parts) >= 3 && parts[0] == "apis":
		return parts[1], parts[2]
	}
	return "", ""
}

// statusRecorder remembers the response code; it passes Flush on, which
// watches need.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
