package server

import (
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestParseCompaction(t *testing.T) {
	tests := []struct {
		mode, retention string
		want            compactionPolicy
		wantErr         bool
	}{
		{"periodic", "0", compactionPolicy{}, false},
		{"periodic", "", compactionPolicy{}, false},
		{"periodic", "1", compactionPolicy{periodic: time.Hour}, false},
		{"periodic", "30m", compactionPolicy{periodic: 30 * time.Minute}, false},
		{"", "5s", compactionPolicy{periodic: 5 * time.Second}, false},
		{"revision", "1000", compactionPolicy{revisions: 1000}, false},
		{"revision", "1h", compactionPolicy{}, true},
		{"periodic", "soon", compactionPolicy{}, true},
		{"weekly", "1", compactionPolicy{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.retention, func(t *testing.T) {
			got, err := parseCompaction(tt.mode, tt.retention)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

func TestPeriodicAutoCompaction(t *testing.T) {
	c := newTestCluster(t, 1, func(cfg *Config) {
		cfg.AutoCompactionMode = "periodic"
		cfg.AutoCompactionRetention = "1s"
	})
	ctx := ctxT(t)
	cli := c.client()
	first, err := cli.Put(ctx, "ac", "0")
	if err != nil {
		t.Fatal(err)
	}
	// Keep writing: history older than a second must be compacted away
	// while the newest value stays readable.
	eventually(t, 8*time.Second, func() error {
		if _, err := cli.Put(ctx, "ac", "n"); err != nil {
			return err
		}
		_, err := cli.Get(ctx, "ac", clientv3.WithRev(first.Header.Revision))
		if err != rpctypes.ErrCompacted {
			return fmt.Errorf("revision %d still readable (%v)", first.Header.Revision, err)
		}
		return nil
	})
	if r, err := cli.Get(ctx, "ac"); err != nil || string(r.Kvs[0].Value) != "n" {
		t.Fatalf("current value after compaction: %v %v", r, err)
	}
}
