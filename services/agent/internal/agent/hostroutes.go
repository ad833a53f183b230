package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/agent/internal/network"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
)

// hostRoutesResync is how often the routes are checked without a Node
// change (a route someone deleted comes back).
const hostRoutesResync = time.Minute

// hostRoutes keeps the host-gw routes to the other nodes' pod CIDRs in
// line with the Nodes (see network.PlanRoutes and SyncRoutes).
type hostRoutes struct {
	nw      *network.Network
	watch   *nodeWatch
	self    string
	own     netip.Prefix // the pod CIDR the bridge has
	cluster netip.Prefix
	rec     *client.EventRecorder
	log     *slog.Logger
	routes  prometheus.Gauge
	skipped prometheus.Gauge

	reported map[string]string // node -> reason last reported
	ownDiff  string            // the differing spec.podCIDR last warned about
}

func newHostRoutes(nw *network.Network, watch *nodeWatch, self string, own, cluster netip.Prefix,
	rec *client.EventRecorder, reg prometheus.Registerer, log *slog.Logger) *hostRoutes {
	h := &hostRoutes{
		nw: nw, watch: watch, self: self, own: own, cluster: cluster, rec: rec,
		log: log.With("component", "host-routes"), reported: map[string]string{},
		routes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gantry_agent_host_gateway_routes",
			Help: "Routes to other nodes' pod CIDRs (host-gw) installed by the agent.",
		}),
		skipped: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gantry_agent_host_gateway_skipped_nodes",
			Help: "Other nodes that get no host-gw route (no pod CIDR or address yet, or unusable).",
		}),
	}
	reg.MustRegister(h.routes, h.skipped)
	return h
}

// Run syncs the routes whenever a Node's pod CIDR or addresses change,
// every hostRoutesResync, and after a failure with back-off, until ctx
// ends. It starts once the Nodes are listed: before, it would remove
// every route of a previous run.
func (h *hostRoutes) Run(ctx context.Context) error {
	if !h.watch.WaitSynced(ctx) {
		return nil
	}
	backoff := time.Duration(0)
	for {
		changed := h.watch.Changed()
		wait := hostRoutesResync
		if err := h.sync(ctx); err != nil {
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			wait = backoff
			h.log.Warn("syncing host-gw routes", "err", err, "retryIn", backoff)
		} else {
			backoff = 0
		}
		if !waitFor(ctx, changed, wait) {
			return nil
		}
	}
}

func (h *hostRoutes) sync(ctx context.Context) error {
	nodes := h.watch.List()
	peers := make([]network.PeerNode, 0, len(nodes))
	for _, n := range nodes {
		if n.Name == h.self {
			h.checkOwnPodCIDR(n)
		}
		peers = append(peers, network.PeerNode{
			Name: n.Name, Created: n.CreationTimestamp.Time, PodCIDRs: podCIDRs(n), InternalIPs: internalIPs(n),
		})
	}
	plan := network.PlanRoutes(h.self, h.own, h.cluster, peers)
	unusable, err := h.nw.SyncRoutes(ctx, plan.Routes)
	skipped := append(plan.Skipped, unusable...)
	h.routes.Set(float64(len(plan.Routes) - len(unusable)))
	h.skipped.Set(float64(len(skipped)))
	h.report(skipped, nodes)
	return err
}

// report logs each skipped node when its reason changes, with a Warning
// event on the Node unless it is only pending.
func (h *hostRoutes) report(skipped []network.SkippedNode, nodes []*corev1.Node) {
	byName := make(map[string]*corev1.Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	now := map[string]string{}
	for _, s := range skipped {
		now[s.Node] = s.Reason
		if h.reported[s.Node] == s.Reason {
			continue
		}
		if s.Pending {
			h.log.Info("no route to node yet", "node", s.Node, "reason", s.Reason)
			continue
		}
		h.log.Warn("not routing to node", "node", s.Node, "reason", s.Reason)
		if n := byName[s.Node]; n != nil && h.rec != nil {
			h.rec.Event(corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: n.Name, UID: n.UID},
				corev1.EventTypeWarning, "FailedToCreateRoute",
				fmt.Sprintf("node %s installs no route to this node's pods: %s", h.self, s.Reason))
		}
	}
	for name := range h.reported {
		if _, ok := now[name]; !ok {
			delete(h.reported, name)
		}
	}
	for name, reason := range now {
		h.reported[name] = reason
	}
}

// checkOwnPodCIDR warns (once per value) when the node IPAM controller
// gave this node another pod CIDR than the one its bridge uses (from
// --pod-cidr): the other nodes route the Node's to this node, so pods
// here are unreachable from them until the agent restarts without
// --pod-cidr.
func (h *hostRoutes) checkOwnPodCIDR(n *corev1.Node) {
	cidrs := podCIDRs(n)
	if len(cidrs) == 0 || slices.Contains(cidrs, h.own.String()) || h.ownDiff == cidrs[0] {
		return
	}
	h.ownDiff = cidrs[0]
	h.log.Warn("the Node's spec.podCIDR differs from the pod CIDR in use (--pod-cidr): other nodes cannot reach this node's pods; restart the agent without --pod-cidr",
		"specPodCIDR", cidrs[0], "inUse", h.own)
}
