package server

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/services/store/internal/command"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// compactionPolicy is the parsed --auto-compaction-mode/-retention.
type compactionPolicy struct {
	periodic  time.Duration // keep this much history (periodic mode)
	revisions int64         // keep this many revisions (revision mode)
}

func parseCompaction(mode, retention string) (compactionPolicy, error) {
	if retention == "" || retention == "0" {
		return compactionPolicy{}, nil
	}
	switch mode {
	case "", "periodic":
		if h, err := strconv.Atoi(retention); err == nil {
			return compactionPolicy{periodic: time.Duration(h) * time.Hour}, nil
		}
		d, err := time.ParseDuration(retention)
		if err != nil || d < 0 {
			return compactionPolicy{}, fmt.Errorf("--auto-compaction-retention %q: want hours or a duration such as 30m", retention)
		}
		return compactionPolicy{periodic: d}, nil
	case "revision":
		n, err := strconv.ParseInt(retention, 10, 64)
		if err != nil || n < 0 {
			return compactionPolicy{}, fmt.Errorf("--auto-compaction-retention %q: want a number of revisions", retention)
		}
		return compactionPolicy{revisions: n}, nil
	}
	return compactionPolicy{}, fmt.Errorf("--auto-compaction-mode %q: want periodic or revision", mode)
}

// autoCompact compacts by the retention policy, on the leader. Periodic
// mode samples the revision every tenth of the retention (at least every
// second) and compacts to the newest sample older than the retention.
func (n *node) autoCompact(ctx context.Context) {
	p, _ := parseCompaction(n.cfg.AutoCompactionMode, n.cfg.AutoCompactionRetention)
	if p.periodic == 0 && p.revisions == 0 {
		return
	}
	every := time.Minute
	if p.periodic > 0 {
		every = max(p.periodic/10, time.Second)
	}
	type sample struct {
		at  time.Time
		rev int64
	}
	var samples []sample
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.isLeader() {
			samples = nil
			continue
		}
		now, rev := time.Now(), n.store.Rev()
		samples = append(samples, sample{now, rev})
		target := int64(0)
		if p.revisions > 0 {
			target = rev - p.revisions
		} else {
			for len(samples) > 0 && now.Sub(samples[0].at) >= p.periodic {
				target = samples[0].rev
				samples = samples[1:]
			}
		}
		if target <= n.store.CompactRev() {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, n.requestTimeout())
		_, err := n.proposeAnywhere(pctx, command.Compact, &pb.CompactionRequest{Revision: target})
		cancel()
		if err != nil {
			n.log.Warn("automatic compaction", "revision", target, "err", err)
		} else {
			n.log.Info("compacted automatically", "revision", target)
		}
	}
}
