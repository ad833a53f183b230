package server

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// saveSnapshot writes a snapshot of c as `etcdctl snapshot save` does: the
// Maintenance.Snapshot stream, state database then SHA-256, into a file.
func saveSnapshot(t *testing.T, cli *clientv3.Client) string {
	t.Helper()
	rc, err := cli.Snapshot(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	path := filepath.Join(t.TempDir(), "snapshot.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatal(err)
	}
	return path
}

// snapshotOfSmallCluster returns a snapshot of a one-member cluster holding
// a few keys.
func snapshotOfSmallCluster(t *testing.T) string {
	t.Helper()
	c := newTestCluster(t, 1, nil)
	cli := c.client()
	for _, kv := range [][2]string{{"/a", "1"}, {"/b", "2"}, {"/a", "3"}} {
		if _, err := cli.Put(ctxT(t), kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	return saveSnapshot(t, cli)
}

// withHash returns data followed by its SHA-256, as a snapshot file holds.
func withHash(data []byte) []byte {
	sum := sha256.Sum256(data)
	return append(slices.Clone(data), sum[:]...)
}

// boltFile returns the bytes of a bbolt file holding the named buckets.
func boltFile(t *testing.T, buckets ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bolt.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRestoreRejectsBadInput(t *testing.T) {
	good, err := os.ReadFile(snapshotOfSmallCluster(t))
	if err != nil {
		t.Fatal(err)
	}
	dbLen := len(good) - sha256.Size
	flipped := slices.Clone(good)
	flipped[dbLen/2] ^= 0xff
	// A damaged page with a hash that matches it: only the bbolt check can
	// tell.
	badPage := slices.Clone(good[:dbLen])
	for i := 4096 * 2; i < len(badPage); i++ {
		badPage[i] = 0xa5
	}

	peer := "http://127.0.0.1:1"
	tests := []struct {
		name    string
		content []byte // snapshot file content; nil: no file
		tweak   func(cfg *RestoreConfig)
		want    string // in the error
	}{
		{name: "missing file", want: "no such file"},
		{name: "empty file", content: []byte{}, want: "has no SHA-256 trailer"},
		{name: "empty file without hash check", content: []byte{}, tweak: skipHash, want: "not a gantry-store state database"},
		{name: "flipped byte", content: flipped, want: "is corrupt: SHA-256"},
		{name: "flipped byte into an empty data dir", content: flipped, tweak: func(c *RestoreConfig) {
			if err := os.Mkdir(c.DataDir, 0o700); err != nil {
				t.Fatal(err)
			}
		}, want: "is corrupt: SHA-256"},
		{name: "truncated", content: good[:len(good)-100], want: "has no SHA-256 trailer"},
		{name: "truncated to whole pages", content: withHash(good[:dbLen-4096]), want: "state database is corrupt: file is"},
		{name: "truncated without hash check", content: good[:len(good)-4096-sha256.Size], tweak: skipHash, want: "state database is corrupt"},
		{name: "damaged pages with matching hash", content: withHash(badPage), want: "state database is corrupt"},
		{name: "text file", content: withHash([]byte(strings.Repeat("not a database\n", 128)[:1024])), want: "not a gantry-store state database"},
		{name: "etcd backend", content: withHash(boltFile(t, "key", "meta", "lease", "members")), want: "it is an etcd backend"},
		{name: "other bbolt file", content: withHash(boltFile(t, "meta")), want: `not a gantry-store state database: bucket "kv" missing`},
		{name: "name not in cluster", content: good, tweak: func(c *RestoreConfig) { c.Name = "other" }, want: `no entry for --name "other"`},
		{name: "peer URL not the cluster entry", content: good, tweak: func(c *RestoreConfig) { c.InitialAdvertisePeerURLs = []string{"http://127.0.0.1:2"} }, want: "differ from"},
		{name: "bad initial cluster", content: good, tweak: func(c *RestoreConfig) { c.InitialCluster = "m0" }, want: "is not name=URL"},
		{name: "bad peer URL", content: good, tweak: func(c *RestoreConfig) { c.InitialCluster = "m0=ftp://x:1" }, want: "scheme must be http or https"},
		{name: "no data dir", content: good, tweak: func(c *RestoreConfig) { c.DataDir = "" }, want: "--data-dir is required"},
		{name: "data dir not empty", content: good, tweak: func(c *RestoreConfig) {
			if err := os.MkdirAll(filepath.Join(c.DataDir, "member"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, want: "exists and is not empty"},
		{name: "data dir is a file", content: good, tweak: func(c *RestoreConfig) {
			if err := os.WriteFile(c.DataDir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := RestoreConfig{
				SnapshotPath:             filepath.Join(dir, "snapshot.db"),
				DataDir:                  filepath.Join(dir, "restored"),
				Name:                     "m0",
				InitialCluster:           "m0=" + peer,
				InitialAdvertisePeerURLs: []string{peer},
				Logger:                   slog.New(slog.NewTextHandler(io.Discard, nil)),
			}
			if tt.content != nil {
				if err := os.WriteFile(cfg.SnapshotPath, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.tweak != nil {
				tt.tweak(&cfg)
			}
			before := dirNames(t, dir)
			_, err := Restore(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore: got error %v, want one containing %q", err, tt.want)
			}
			t.Logf("refused: %v", err)
			if after := dirNames(t, dir); !slices.Equal(after, before) {
				t.Errorf("a failed restore changed %s: %q, was %q", dir, after, before)
			}
			if st, err := os.Stat(cfg.DataDir); err == nil && st.IsDir() && tt.name != "data dir not empty" {
				if left := dirNames(t, cfg.DataDir); len(left) > 0 {
					t.Errorf("a failed restore left %q in %s", left, cfg.DataDir)
				}
			}
		})
	}
}

func skipHash(c *RestoreConfig) { c.SkipHashCheck = true }

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestParseSnapshotFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    RestoreConfig // compared without the logger
		wantErr string
	}{
		{
			name: "file first, etcdutl flags",
			args: []string{"restore", "s.db", "--data-dir", "d", "--name", "b", "--initial-cluster", "a=http://h1:2380,b=http://h2:2380",
				"--initial-advertise-peer-urls", "http://h2:2380", "--initial-cluster-token", "tok", "--skip-hash-check"},
			want: RestoreConfig{SnapshotPath: "s.db", DataDir: "d", Name: "b", InitialCluster: "a=http://h1:2380,b=http://h2:2380",
				InitialClusterToken: "tok", InitialAdvertisePeerURLs: []string{"http://h2:2380"}, SkipHashCheck: true},
		},
		{
			name: "file last, defaults",
			args: []string{"restore", "--data-dir=d", "s.db"},
			want: RestoreConfig{SnapshotPath: "s.db", DataDir: "d", Name: "default", InitialCluster: "default=http://localhost:2380",
				InitialClusterToken: "etcd-cluster", InitialAdvertisePeerURLs: []string{"http://localhost:2380"}},
		},
		{name: "no subcommand", args: nil, wantErr: "usage: gantry-store snapshot restore"},
		{name: "unknown subcommand", args: []string{"status", "s.db"}, wantErr: "usage: gantry-store snapshot restore"},
		{name: "no file", args: []string{"restore", "--data-dir=d"}, wantErr: "one snapshot file, got 0"},
		{name: "two files", args: []string{"restore", "a.db", "--data-dir=d", "b.db"}, wantErr: "one snapshot file, got 2"},
		{name: "unknown flag", args: []string{"restore", "a.db", "--bump-revision=5"}, wantErr: "flag provided but not defined: -bump-revision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSnapshotFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Logger = nil
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := ParseSnapshotFlags([]string{"restore", "-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: got %v, want flag.ErrHelp", err)
	}
}

// kvState is what a restore must keep of every key.
func kvState(t *testing.T, cli *clientv3.Client) (int64, []string) {
	t.Helper()
	r, err := cli.Get(ctxT(t), "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range r.Kvs {
		out = append(out, kvString(kv))
	}
	return r.Header.Revision, out
}

func kvString(kv *mvccpb.KeyValue) string {
	return fmt.Sprintf("%s=%s create=%d mod=%d version=%d lease=%x", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease)
}

// A snapshot of a cluster restored into three new members keeps every key
// with its revisions, history and leases, and the new cluster works: writes,
// watches, and a member added later receives the restored state.
func TestRestoreIntoNewCluster(t *testing.T) {
	old := newTestCluster(t, 3, nil)
	ctx := ctxT(t)
	cli := old.client()
	for i := range 10 {
		if _, err := cli.Put(ctx, fmt.Sprintf("/k/%d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, "/k/3", "overwritten"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "/k/4"); err != nil {
		t.Fatal(err)
	}
	compacted, err := cli.Put(ctx, "/k/5", "before compaction")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, compacted.Header.Revision); err != nil {
		t.Fatal(err)
	}
	lease, err := cli.Grant(ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/leased", "v", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	historic, err := cli.Put(ctx, "/k/6", "new")
	if err != nil {
		t.Fatal(err)
	}
	wantRev, wantKVs := kvState(t, cli)
	// A member's snapshot is of its own applied state: let it catch up.
	source := old.client(old.members[1])
	eventually(t, 10*time.Second, func() error {
		r, err := source.Get(ctx, "/k/6", clientv3.WithSerializable())
		if err != nil || r.Header.Revision != wantRev {
			return fmt.Errorf("member at %v, want revision %d: %v", r, wantRev, err)
		}
		return nil
	})
	snap := saveSnapshot(t, source)
	old.stopAll()

	// New members on new ports, restored one by one as an operator would.
	restored := &testCluster{t: t}
	var parts []string
	for i := range 3 {
		cfg, _ := testConfig(t, fmt.Sprintf("r%d", i))
		restored.members = append(restored.members, &testMember{cfg: cfg})
		parts = append(parts, cfg.Name+"="+cfg.InitialAdvertisePeerURLs[0])
	}
	var clusterIDs []uint64
	for _, m := range restored.members {
		res, err := Restore(RestoreConfig{
			SnapshotPath:             snap,
			DataDir:                  m.cfg.DataDir,
			Name:                     m.cfg.Name,
			InitialCluster:           strings.Join(parts, ","),
			InitialAdvertisePeerURLs: m.cfg.InitialAdvertisePeerURLs,
			Logger:                   m.cfg.Logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Revision != wantRev || res.Keys != len(wantKVs) || res.Leases != 1 || res.CompactRevision != compacted.Header.Revision {
			t.Errorf("restore result %s; want revision %d, %d keys, 1 lease, compacted at %d", res, wantRev, len(wantKVs), compacted.Header.Revision)
		}
		clusterIDs = append(clusterIDs, res.ClusterID)
		// Start with only the data directory and the listen flags.
		m.cfg = Config{
			DataDir:           m.cfg.DataDir,
			ListenClientURLs:  m.cfg.ListenClientURLs,
			ListenPeerURLs:    m.cfg.ListenPeerURLs,
			HeartbeatInterval: m.cfg.HeartbeatInterval,
			ElectionTimeout:   m.cfg.ElectionTimeout,
			Logger:            m.cfg.Logger,
			Listeners:         m.cfg.Listeners,
		}
	}
	if clusterIDs[0] != clusterIDs[1] || clusterIDs[1] != clusterIDs[2] {
		t.Errorf("members restored into different clusters: %x", clusterIDs)
	}
	for _, m := range restored.members {
		restored.start(m)
	}
	t.Cleanup(restored.stopAll)
	restored.waitLeader()

	for _, m := range restored.members {
		rev, kvs := kvState(t, restored.client(m))
		if rev != wantRev || !slices.Equal(kvs, wantKVs) {
			t.Errorf("member %s after restore: revision %d, keys\n%s\nwant revision %d, keys\n%s", m.cfg.DataDir, rev, strings.Join(kvs, "\n"), wantRev, strings.Join(wantKVs, "\n"))
		}
	}
	rcli := restored.client()
	// History is kept, and so is the compaction.
	if r, err := rcli.Get(ctx, "/k/6", clientv3.WithRev(historic.Header.Revision-1)); err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "6" {
		t.Errorf("read of /k/6 before its last write: %v %v", r, err)
	}
	if _, err := rcli.Get(ctx, "/k/5", clientv3.WithRev(compacted.Header.Revision-1)); err == nil || !strings.Contains(err.Error(), "compacted") {
		t.Errorf("read below the compaction revision: got %v, want a compacted error", err)
	}
	ttl, err := rcli.TimeToLive(ctx, lease.ID, clientv3.WithAttachedKeys())
	if err != nil || ttl.GrantedTTL != 3600 || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != "/leased" {
		t.Errorf("lease after restore: %+v %v; want granted TTL 3600 with /leased", ttl, err)
	}
	members, err := rcli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range members.Members {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"r0", "r1", "r2"}) {
		t.Errorf("member list after restore: %q, want r0 r1 r2", names)
	}

	// Writes and watches go on from the restored revision.
	wch := rcli.Watch(ctx, "/k/", clientv3.WithPrefix(), clientv3.WithRev(wantRev))
	put, err := rcli.Put(ctx, "/k/new", "after restore")
	if err != nil {
		t.Fatal(err)
	}
	if put.Header.Revision != wantRev+1 {
		t.Errorf("first write after restore got revision %d, want %d", put.Header.Revision, wantRev+1)
	}
	var events []string
	for len(events) < 2 {
		select {
		case wr := <-wch:
			if err := wr.Err(); err != nil {
				t.Fatal(err)
			}
			for _, ev := range wr.Events {
				events = append(events, fmt.Sprintf("%s %s@%d", ev.Type, ev.Kv.Key, ev.Kv.ModRevision))
			}
		case <-ctx.Done():
			t.Fatalf("watch saw only %q", events)
		}
	}
	if want := []string{fmt.Sprintf("PUT /k/6@%d", wantRev), fmt.Sprintf("PUT /k/new@%d", wantRev+1)}; !slices.Equal(events, want) {
		t.Errorf("watch from revision %d: got %q, want %q", wantRev, events, want)
	}

	// A member added to the restored cluster gets the state through a
	// raft snapshot: the restored log holds none of it.
	cfg, _ := testConfig(t, "r3")
	if _, err := rcli.MemberAdd(ctx, cfg.InitialAdvertisePeerURLs); err != nil {
		t.Fatal(err)
	}
	cfg.InitialCluster = strings.Join(append(parts, "r3="+cfg.InitialAdvertisePeerURLs[0]), ",")
	cfg.InitialClusterState = "existing"
	nm := &testMember{cfg: cfg}
	restored.members = append(restored.members, nm)
	restored.start(nm)
	eventually(t, 10*time.Second, func() error {
		r, err := restored.client(nm).Get(ctx, "/k/0", clientv3.WithSerializable())
		if err != nil || len(r.Kvs) != 1 || r.Header.Revision < wantRev+1 {
			return fmt.Errorf("added member has not caught up: %v %v", r, err)
		}
		return nil
	})
	rev, kvs := kvState(t, restored.client(nm))
	if rev != wantRev+1 || len(kvs) != len(wantKVs)+1 {
		t.Errorf("added member: revision %d, %d keys; want %d, %d", rev, len(kvs), wantRev+1, len(wantKVs)+1)
	}
}

// A bare state database, without the SHA-256 trailer, restores only with
// SkipHashCheck.
func TestRestoreBareStateDatabase(t *testing.T) {
	snap, err := os.ReadFile(snapshotOfSmallCluster(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bare := filepath.Join(dir, "state.db")
	if err := os.WriteFile(bare, snap[:len(snap)-sha256.Size], 0o600); err != nil {
		t.Fatal(err)
	}
	peer := "http://127.0.0.1:1"
	cfg := RestoreConfig{
		SnapshotPath: bare, DataDir: filepath.Join(dir, "restored"), Name: "m0",
		InitialCluster: "m0=" + peer, InitialAdvertisePeerURLs: []string{peer},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if _, err := Restore(cfg); err == nil || !strings.Contains(err.Error(), "no SHA-256 trailer") {
		t.Fatalf("without --skip-hash-check: got %v, want a missing trailer error", err)
	}
	cfg.SkipHashCheck = true
	res, err := Restore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Keys != 2 || res.Revision != 4 {
		t.Errorf("restored %s; want 2 keys at revision 4", res)
	}
	if _, err := readMeta(cfg.DataDir); err != nil {
		t.Errorf("restored data directory has no member: %v", err)
	}
}
