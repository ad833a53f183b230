package server

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics uses etcd's metric names where the meaning is the same, so etcd
// dashboards work against gantry-store.
type metrics struct {
	hasLeader        prometheus.Gauge
	isLeader         prometheus.Gauge
	leaderChanges    prometheus.Counter
	proposalsCommit  prometheus.Gauge
	proposalsApplied prometheus.Gauge
	proposalsPending prometheus.Gauge
	proposalsFailed  prometheus.Counter
	dbSize           prometheus.Gauge
	dbSizeInUse      prometheus.Gauge
	keys             prometheus.Gauge
	walFsync         prometheus.Histogram
	currentRev       prometheus.Gauge
	compactRev       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		hasLeader:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_server_has_leader", Help: "Whether or not a leader exists. 1 is existence, 0 is not."}),
		isLeader:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_server_is_leader", Help: "Whether or not this member is a leader. 1 if is, 0 otherwise."}),
		leaderChanges:    prometheus.NewCounter(prometheus.CounterOpts{Name: "etcd_server_leader_changes_seen_total", Help: "The number of leader changes seen."}),
		proposalsCommit:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_server_proposals_committed_total", Help: "The total number of consensus proposals committed."}),
		proposalsApplied: prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_server_proposals_applied_total", Help: "The total number of consensus proposals applied."}),
		proposalsPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_server_proposals_pending", Help: "The current number of pending proposals to commit."}),
		proposalsFailed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "etcd_server_proposals_failed_total", Help: "The total number of failed proposals seen."}),
		dbSize:           prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_mvcc_db_total_size_in_bytes", Help: "Total size of the underlying database physically allocated in bytes."}),
		dbSizeInUse:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_mvcc_db_total_size_in_use_in_bytes", Help: "Total size of the underlying database logically in use in bytes."}),
		keys:             prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_debugging_mvcc_keys_total", Help: "Total number of keys."}),
		walFsync: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "etcd_disk_wal_fsync_duration_seconds", Help: "The latency distributions of the raft log appends (each one durable) called by the member.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		currentRev: prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_debugging_mvcc_current_revision", Help: "The current revision of store."}),
		compactRev: prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcd_debugging_mvcc_compact_revision", Help: "The revision of the last compaction in store."}),
	}
	reg.MustRegister(m.hasLeader, m.isLeader, m.leaderChanges, m.proposalsCommit, m.proposalsApplied, m.proposalsPending,
		m.proposalsFailed, m.dbSize, m.dbSizeInUse, m.keys, m.walFsync, m.currentRev, m.compactRev,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// updateMetrics samples the gauges that are cheaper to read than to track.
func (n *node) updateMetrics(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		n.sampleMetrics()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *node) sampleMetrics() {
	m := n.metrics
	addr, _ := n.raft.LeaderWithID()
	m.hasLeader.Set(boolFloat(addr != ""))
	m.isLeader.Set(boolFloat(n.raft.State() == raft.Leader))
	m.proposalsCommit.Set(float64(n.raft.CommitIndex()))
	applied, _ := n.fsm.appliedIndex()
	m.proposalsApplied.Set(float64(applied))
	size, inUse := n.store.Size()
	m.dbSize.Set(float64(size))
	m.dbSizeInUse.Set(float64(inUse))
	m.keys.Set(float64(n.store.KeyCount()))
	m.currentRev.Set(float64(n.store.Rev()))
	m.compactRev.Set(float64(n.store.CompactRev()))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
