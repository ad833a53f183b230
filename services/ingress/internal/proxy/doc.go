// Package proxy is the HTTP handler of the ingress controller: it matches
// each request against the current route table (routes.Table, swapped
// atomically when Ingresses, Services or EndpointSlices change) and
// forwards it with net/http/httputil.ReverseProxy straight to a ready
// endpoint of the backend Service, bypassing the ClusterIP.
//
//   - Endpoints are taken round-robin per Service port; the position
//     survives table swaps.
//   - A connection that cannot be made (refused, unreachable, connect
//     timeout) is retried on the next endpoint, up to Config.Tries
//     endpoints; a request that failed after it was sent is retried only
//     when it is idempotent and has no body (nginx's proxy_next_upstream
//     "error timeout" with non_idempotent off).
//   - X-Forwarded-For, -Host, -Proto and -Port, X-Real-IP and
//     X-Request-ID are set; the Host header is passed through.
//   - Upgrades (WebSocket) are tunnelled.
//   - Bodies larger than Config.MaxBodySize get 413.
//   - A request no rule matches gets a 404 page naming its host and path;
//     one whose Service has no ready endpoints (or does not exist) a 503
//     page naming the Service; a backend that fails a 502, one too slow
//     to answer a 504.
//   - gantry_ingress_requests_total and
//     gantry_ingress_request_duration_seconds count requests by Ingress,
//     namespace, Service and status code.
package proxy
