package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// retryTransport sends a request to the endpoints of its upstream in
// round-robin order, trying the next one when a connection fails.
type retryTransport struct {
	base *http.Transport
	p    *Proxy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st, ok := req.Context().Value(ctxKey{}).(*reqState)
	if !ok {
		return nil, errors.New("proxy: request without a route")
	}
	up := st.route.Upstream
	eps := up.Endpoints
	n := uint64(len(eps))
	if n == 0 {
		return nil, errors.New("no ready endpoints")
	}
	tries := min(len(eps), t.p.cfg.Tries)
	start := t.p.next(up.Key())
	var body *trackedBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &trackedBody{rc: req.Body}
		defer req.Body.Close()
	}
	replayable := body == nil && idempotent(req.Method)
	var err error
	for i := range tries {
		ep := eps[(start+uint64(i))%n]
		st.endpoint = ep
		out := new(http.Request)
		*out = *req
		u := *req.URL
		u.Host = ep
		out.URL = &u
		if body != nil {
			out.Body = body
		}
		var resp *http.Response
		resp, err = t.base.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		if req.Context().Err() != nil || i+1 == tries {
			break
		}
		unsent := isDialError(err) && (body == nil || !body.read.Load())
		if !unsent && !replayable {
			break
		}
		t.p.m.retries.WithLabelValues(up.Namespace, up.Service).Inc()
		t.p.log.Debug("retrying on another endpoint", "service", up.Namespace+"/"+up.Service, "endpoint", ep, "err", err)
	}
	return nil, err
}

// idempotent methods may be sent twice (RFC 9110 §9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// isDialError reports whether err is a failure to connect: the request
// was not sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// trackedBody is a request body that survives a failed attempt (the
// transport closes bodies on error) and says whether it was read.
type trackedBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *trackedBody) Close() error { return nil }
