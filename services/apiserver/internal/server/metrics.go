package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	"github.com/gantry-dev/gantry/services/apiserver/internal/rest"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// grpcVerbs maps the methods of gantry.api.v1.Resources to the verbs and
// subresources REST requests are counted under.
var grpcVerbs = map[string][2]string{
	"Get": {"GET", ""}, "List": {"LIST", ""}, "Watch": {"WATCH", ""},
	"Create": {"POST", ""}, "Update": {"PUT", ""}, "UpdateStatus": {"PUT", "status"},
	"Patch": {"PATCH", ""}, "Delete": {"DELETE", ""}, "Bind": {"POST", "binding"},
}

// grpcHTTPCodes translates gRPC codes to the HTTP codes REST would answer.
var grpcHTTPCodes = map[codes.Code]int{
	codes.OK: http.StatusOK, codes.NotFound: http.StatusNotFound, codes.AlreadyExists: http.StatusConflict,
	codes.Aborted: http.StatusConflict, codes.InvalidArgument: http.StatusUnprocessableEntity,
	codes.Unauthenticated: http.StatusUnauthorized, codes.PermissionDenied: http.StatusForbidden,
	codes.OutOfRange: http.StatusGone, codes.DeadlineExceeded: http.StatusGatewayTimeout,
	codes.Unavailable: http.StatusServiceUnavailable, codes.ResourceExhausted: http.StatusRequestEntityTooLarge,
	codes.Unimplemented: http.StatusMethodNotAllowed, codes.FailedPrecondition: http.StatusBadRequest,
}

type targeted interface{ GetTarget() *apiv1.Target }

func (m *metrics) grpcLabels(fullMethod string, req any) prometheus.Labels {
	method := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	vs := grpcVerbs[method]
	labels := prometheus.Labels{"verb": vs[0], "group": "", "version": "", "resource": "", "subresource": vs[1]}
	if t, ok := req.(targeted); ok && t.GetTarget() != nil {
		tg := t.GetTarget()
		labels["group"], labels["version"], labels["resource"] = tg.GetGroup(), tg.GetVersion(), tg.GetResource()
	}
	return labels
}

func (m *metrics) countGRPC(labels prometheus.Labels, err error) {
	code, ok := grpcHTTPCodes[status.Code(err)]
	if !ok {
		code = http.StatusInternalServerError
	}
	if code == http.StatusOK && labels["verb"] == "POST" {
		code = http.StatusCreated
	}
	labels["code"] = strconv.Itoa(code)
	m.requests.With(labels).Inc()
}

// unaryInterceptor counts and times gRPC calls like REST requests.
func (m *metrics) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	labels := m.grpcLabels(info.FullMethod, req)
	start := time.Now()
	resp, err := handler(ctx, req)
	m.duration.With(labels).Observe(time.Since(start).Seconds())
	m.countGRPC(labels, err)
	return resp, err
}

// streamInterceptor counts watches, as long-running requests while they
// last.
func (m *metrics) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	w := &firstMessage{ServerStream: ss, m: m, method: info.FullMethod}
	err := handler(srv, w)
	labels := m.grpcLabels(info.FullMethod, w.first)
	if w.gauge != nil {
		w.gauge.Dec()
	}
	m.countGRPC(labels, err)
	return err
}

// firstMessage remembers a stream's request, and counts the stream as
// long-running from the moment it is read.
type firstMessage struct {
	grpc.ServerStream
	first  any
	gauge  prometheus.Gauge
	m      *metrics
	method string
}

func (f *firstMessage) RecvMsg(msg any) error {
	err := f.ServerStream.RecvMsg(msg)
	if err == nil && f.first == nil {
		f.first = msg
		f.gauge = f.m.longRunning.With(f.m.grpcLabels(f.method, msg))
		f.gauge.Inc()
	}
	return err
}
