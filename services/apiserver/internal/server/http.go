package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/libs/growstack"
	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	"github.com/gantry-dev/gantry/services/apiserver/internal/authz"
	"github.com/gantry-dev/gantry/services/apiserver/internal/rest"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// routes builds the HTTP handler: health and version for everyone, the
// rest for authenticated callers.
func (s *Server) routes(api *rest.Handler, openapi http.Handler) http.Handler {
	open := http.NewServeMux()
	open.HandleFunc("GET /healthz", s.healthz)
	open.HandleFunc("GET /livez", s.healthz)
	open.HandleFunc("GET /readyz", s.readyz)
	open.HandleFunc("GET /version", serveVersion)

	private := http.NewServeMux()
	private.Handle("/api", api)
	private.Handle("/api/", api)
	private.Handle("/apis", api)
	private.Handle("/apis/", api)
	private.Handle("/openapi/", openapi)
	private.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	if s.cfg.Profiling {
		private.HandleFunc("/debug/pprof/", pprof.Index)
		private.HandleFunc("/debug/pprof/profile", pprof.Profile)
		private.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}

	authed := s.authenticate(private)
	return s.metrics.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/livez", "/readyz", "/version":
			open.ServeHTTP(w, r)
		default:
			authed.ServeHTTP(w, r)
		}
	}))
}

// withGRPC sends gRPC calls (HTTP/2 with content-type application/grpc)
// to the gRPC facade, which authenticates them itself, and everything
// else to next: both facades share the one TLS port. A REST request other
// than a watch gets its goroutine's stack grown first (see growstack;
// gRPC calls get theirs in growStack).
func withGRPC(grpcServer http.Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			grpcServer.ServeHTTP(w, r)
			return
		}
		if !isWatch(r) {
			growstack.Grow()
		}
		next.ServeHTTP(w, r)
	})
}

// isWatch tells a watch request (?watch=... or a /watch/ path) cheaply,
// without parsing the query. A watch lives long and mostly waits: it is
// not worth a large stack for its lifetime.
func isWatch(r *http.Request) bool {
	return strings.Contains(r.URL.RawQuery, "watch=") || strings.Contains(r.URL.Path, "/watch/")
}

// growStack grows the stack of a unary gRPC call's goroutine before the
// call is served: grpc-go serves every call on a goroutine of its own.
func growStack(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	growstack.Grow()
	return handler(ctx, req)
}

// authenticate identifies callers by a valid client certificate or bearer
// token, and asks the authorizer whether they may make the request:
// invalid credentials get 401; a request without credentials is
// anonymous, which may only read kube-public/cluster-info (401 for
// anything else); bootstrap tokens get their narrow rights (403 beyond).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, presented := s.requestUser(r)
		if user == nil && presented {
			writeUnauthorized(w)
			return
		}
		if err := authz.Authorize(user, rest.AuthzAttributes(r)); err != nil {
			if apierrors.IsUnauthorized(err) {
				writeUnauthorized(w)
				return
			}
			rest.WriteError(w, r, s.log, err)
			return
		}
		if user == nil {
			user = authn.Anonymous()
		}
		next.ServeHTTP(w, r.WithContext(authn.WithUser(r.Context(), user)))
	})
}

// requestUser authenticates r; presented reports whether it carried
// credentials at all (a client certificate or an Authorization header).
func (s *Server) requestUser(r *http.Request) (user *authn.User, presented bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		presented = true
		user, _ = s.auth.Certificate(r.TLS.VerifiedChains)
	}
	if user == nil && r.Header.Get("Authorization") != "" {
		presented = true
		if token, ok := authn.BearerToken(r.Header.Get("Authorization")); ok {
			user, _ = s.auth.Token(r.Context(), token)
		}
	}
	return user, presented
}

func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`+"\n")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "ok")
}

// readyz reports ready when the store answers, every watch cache has
// loaded and the bootstrap objects exist.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := s.etcd.Get(ctx, "/registry/health", clientv3.WithCountOnly()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "[-]etcd failed: %v\nreadyz check failed\n", err)
		return
	}
	if err := s.reg.Ready(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "[-]watch-cache failed: %v\nreadyz check failed\n", err)
		return
	}
	select {
	case <-s.bootstrapped:
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "[-]poststarthook/gantry-bootstrap failed: not finished\nreadyz check failed\n")
		return
	}
	fmt.Fprint(w, "ok")
}
