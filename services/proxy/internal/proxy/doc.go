// Package proxy is the mode-independent half of gantry-proxy: it turns
// Services and EndpointSlices into the proxier's model (ServicePort,
// Endpoint), tracks which Services changed since the last sync (Tracker),
// picks the endpoints each kind of traffic may use (Categorize) and runs
// the sync function at a bounded rate (Runner).
//
// The model follows kube-proxy's: one ServicePort per port of a Service
// with a ClusterIP (headless and ExternalName Services are left alone),
// identified by "namespace/name:port" and protocol; endpoints are merged
// from every IPv4 EndpointSlice of the Service, matched to its ports by
// port name and protocol, deduplicated by address, and sorted.
//
// Only IPv4 is supported.
package proxy
