package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestSnapshotRestore saves a snapshot of a 3-member cluster with etcdctl,
// restores it with `gantry-store snapshot restore` into new 1- and 3-member
// clusters of real processes, and checks that they serve exactly the saved
// keys and revisions and then take writes and watches.
//
// gantry-store only: its snapshots are its own state database, which etcd
// cannot read (etcd's are restored with etcdutl).
func TestSnapshotRestore(t *testing.T) {
	flavor, err := cluster.FlavorFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if flavor.Name != cluster.Gantry {
		t.Skipf("%s=%s: restoring with `gantry-store snapshot restore` applies to gantry-store snapshots only; etcd restores its own with etcdutl", cluster.FlavorEnv, flavor.Name)
	}
	old := cluster.Start(t, cluster.Options{Flavor: flavor, Members: 3})
	cli := storeClient(t, old.Endpoints()...)
	ctx := testContext(t, 2*time.Minute)
	for i := range 20 {
		putRevision(t, cli, fmt.Sprintf("/restore/k%02d", i), fmt.Sprint(i))
	}
	for i := 0; i < 20; i += 3 {
		putRevision(t, cli, fmt.Sprintf("/restore/k%02d", i), fmt.Sprintf("overwritten %d", i))
	}
	for i := 1; i < 20; i += 4 {
		if _, err := cli.Delete(ctx, fmt.Sprintf("/restore/k%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Delete(ctx, "/restore/k1", clientv3.WithRange("/restore/k14")); err != nil {
		t.Fatal(err)
	}
	lease, err := cli.Grant(ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/restore/leased", "v", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	putRevision(t, cli, "/other", "outside the prefix")
	last := putRevision(t, cli, "/restore/k00", "last write")

	// A member's snapshot is of its own applied state: let the member
	// snapshotted catch up with the last write first.
	source := storeClient(t, old.Endpoints()[0])
	eventually(t, 30*time.Second, func() error {
		resp, err := source.Get(ctx, "/restore/k00", clientv3.WithSerializable())
		if err != nil {
			return err
		}
		if resp.Header.Revision != last {
			return fmt.Errorf("%s has applied revision %d, want %d", old.Endpoints()[0], resp.Header.Revision, last)
		}
		return nil
	})
	snapshot := filepath.Join(t.TempDir(), "snapshot.db")
	newEtcdctl(t, old.Endpoints()[:1]).run(t, "", "snapshot", "save", snapshot)
	want := dumpKVs(t, cli)
	if want.revision != last {
		t.Fatalf("the cluster moved on to revision %d after the last write at %d", want.revision, last)
	}
	if err := old.Close(); err != nil { // the restored clusters run on their own
		t.Fatal(err)
	}

	for _, tt := range []struct {
		members      int
		restartFlags bool // start with only --data-dir and listen flags
	}{
		{members: 1, restartFlags: false},
		{members: 3, restartFlags: true},
	} {
		t.Run(fmt.Sprintf("%d-member cluster", tt.members), func(t *testing.T) {
			rc := startRestored(t, flavor.Binary, snapshot, tt.members, tt.restartFlags)
			for _, ep := range rc.endpoints() {
				got := dumpKVs(t, storeClient(t, ep))
				if got.revision != want.revision || !slices.Equal(got.kvs, want.kvs) {
					t.Errorf("member %s serves revision %d and\n%s\nwant revision %d and\n%s", ep, got.revision, strings.Join(got.kvs, "\n"), want.revision, strings.Join(want.kvs, "\n"))
				}
			}
			checkRestoredCluster(t, rc, want.revision, lease.ID)
		})
	}
}

// checkRestoredCluster checks a restored cluster beyond its keys: history,
// the lease, the member list, and that writes and watches work.
func checkRestoredCluster(t *testing.T, rc *restoredCluster, rev int64, leaseID clientv3.LeaseID) {
	ctx := testContext(t, time.Minute)
	eps := rc.endpoints()
	cli := storeClient(t, eps...)
	ctl := newEtcdctl(t, eps)

	// History before the snapshot is there: /restore/k00 before its last
	// write.
	var old rangeJSON
	ctl.json(t, &old, "get", "/restore/k00", fmt.Sprintf("--rev=%d", rev-1))
	if got := old.pairs(); !slices.Equal(got, []string{"/restore/k00=overwritten 0"}) {
		t.Errorf("get --rev=%d: got %q, want the overwritten value", rev-1, got)
	}
	ttl, err := cli.TimeToLive(ctx, leaseID, clientv3.WithAttachedKeys())
	if err != nil || ttl.GrantedTTL != 3600 || ttl.TTL <= 0 || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != "/restore/leased" {
		t.Errorf("lease %x after restore: %+v, %v; want granted TTL 3600 with key /restore/leased", leaseID, ttl, err)
	}
	// Every member publishes its client URL once it runs.
	eventually(t, 30*time.Second, func() error {
		resp, err := cli.MemberList(ctx)
		if err != nil {
			return err
		}
		var got, want []string
		for _, m := range resp.Members {
			got = append(got, m.Name+" "+strings.Join(m.PeerURLs, ",")+" "+strings.Join(m.ClientURLs, ","))
		}
		for _, m := range rc.members {
			want = append(want, m.name+" "+m.peerURL+" "+m.clientURL)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("member list %q, want %q", got, want)
		}
		return nil
	})

	// A watch on the last member from the next revision sees a write made
	// through the first; the write gets the next revision.
	watcher := storeClient(t, eps[len(eps)-1])
	wch := watcher.Watch(ctx, "/restore/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	writer := newEtcdctl(t, eps[:1])
	writer.run(t, "", "put", "/restore/after", "restore")
	writer.run(t, "", "del", "/restore/k02")
	var events []string
	for len(events) < 2 {
		select {
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				t.Fatalf("watch ended after %q: %v", events, wr.Err())
			}
			for _, ev := range wr.Events {
				events = append(events, fmt.Sprintf("%s %s@%d", ev.Type, ev.Kv.Key, ev.Kv.ModRevision))
			}
		case <-ctx.Done():
			t.Fatalf("watch saw only %q: %v", events, ctx.Err())
		}
	}
	if want := []string{fmt.Sprintf("PUT /restore/after@%d", rev+1), fmt.Sprintf("DELETE /restore/k02@%d", rev+2)}; !slices.Equal(events, want) {
		t.Errorf("watch from revision %d: got %q, want %q", rev+1, events, want)
	}
}

func storeClient(t *testing.T, endpoints ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// putRevision writes key=value and returns the revision of the write.
func putRevision(t *testing.T, cli *clientv3.Client, key, value string) int64 {
	t.Helper()
	resp, err := cli.Put(testContext(t, 15*time.Second), key, value)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return resp.Header.Revision
}

type kvDump struct {
	revision int64
	kvs      []string // key=value with revisions, version and lease
}

// dumpKVs reads every key with a linearizable read.
func dumpKVs(t *testing.T, cli *clientv3.Client) kvDump {
	t.Helper()
	resp, err := cli.Get(testContext(t, 15*time.Second), "", clientv3.WithFromKey())
	if err != nil {
		t.Fatal(err)
	}
	d := kvDump{revision: resp.Header.Revision}
	for _, kv := range resp.Kvs {
		d.kvs = append(d.kvs, kvLine(kv))
	}
	return d
}

func kvLine(kv *mvccpb.KeyValue) string {
	return fmt.Sprintf("%s=%q create=%d mod=%d version=%d lease=%x", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease)
}

// restoredCluster is a cluster started from restored data directories.
type restoredCluster struct {
	members []*restoredMember
}

type restoredMember struct {
	name, clientURL, peerURL, dataDir string
	proc                              cluster.Process
}

func (rc *restoredCluster) endpoints() []string {
	var eps []string
	for _, m := range rc.members {
		eps = append(eps, m.clientURL)
	}
	return eps
}

// startRestored restores snapshot into n new data directories, one per
// member as an operator would, starts the members and waits until they
// agree on a leader. A member that cannot bind a port picked for it (taken
// meanwhile) makes it start over with new ports.
func startRestored(t *testing.T, binary, snapshot string, n int, restartFlags bool) *restoredCluster {
	t.Helper()
	var err error
	for range 3 {
		var rc *restoredCluster
		rc, err = launchRestored(t, binary, snapshot, n, restartFlags)
		if err == nil {
			return rc
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
		t.Logf("starting over with new ports: %v", err)
	}
	t.Fatal(err)
	return nil
}

func launchRestored(t *testing.T, binary, snapshot string, n int, restartFlags bool) (*restoredCluster, error) {
	dir := t.TempDir()
	ports, err := cluster.FreePorts(2 * n)
	if err != nil {
		return nil, err
	}
	rc := &restoredCluster{}
	var initial []string
	for i := range n {
		m := &restoredMember{
			name:      fmt.Sprintf("r%d", i),
			clientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			peerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			dataDir:   filepath.Join(dir, fmt.Sprintf("r%d", i)),
		}
		m.proc.Name, m.proc.LogPath = "restored member "+m.name, filepath.Join(dir, m.name+".log")
		rc.members = append(rc.members, m)
		initial = append(initial, m.name+"="+m.peerURL)
	}
	initialCluster := strings.Join(initial, ",")
	for _, m := range rc.members {
		cmd := exec.Command(binary, "snapshot", "restore", snapshot, "--data-dir", m.dataDir, "--name", m.name,
			"--initial-cluster", initialCluster, "--initial-advertise-peer-urls", m.peerURL)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
		}
		t.Logf("%s: %s", m.name, bytes.TrimSpace(out))
	}
	// Kill the processes before t.TempDir removes their directory.
	t.Cleanup(func() {
		for _, m := range rc.members {
			if t.Failed() {
				t.Logf("--- log of %s:\n%s", m.proc.Name, m.proc.LogTail(80))
			}
			if err := m.proc.Kill(); err != nil {
				t.Errorf("kill %s: %v", m.proc.Name, err)
			}
		}
	})
	for _, m := range rc.members {
		args := []string{"--data-dir=" + m.dataDir, "--listen-client-urls=" + m.clientURL, "--listen-peer-urls=" + m.peerURL}
		if !restartFlags {
			// The flags of a first start are accepted too; the data
			// directory decides.
			args = append(args, "--name="+m.name, "--advertise-client-urls="+m.clientURL, "--initial-cluster="+initialCluster,
				"--initial-advertise-peer-urls="+m.peerURL, "--initial-cluster-state=new")
		}
		if err := m.proc.Start(binary, args); err != nil {
			return nil, err
		}
	}
	if err := rc.waitReady(t); err != nil {
		for _, m := range rc.members {
			m.proc.Kill()
		}
		return nil, err
	}
	return rc, nil
}

// waitReady polls until every member names the same leader, or fails early
// when one exits.
func (rc *restoredCluster) waitReady(t *testing.T) error {
	cli := storeClient(t, rc.endpoints()...)
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := rc.ready(cli)
		if err == nil {
			return nil
		}
		var crash crashed
		if errors.As(err, &crash) || time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}

type crashed struct{ error }

func (rc *restoredCluster) ready(cli *clientv3.Client) error {
	var leader uint64
	for _, m := range rc.members {
		if err := m.proc.Crashed(); err != nil {
			return crashed{fmt.Errorf("%w; log:\n%s", err, m.proc.LogTail(40))}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := cli.Status(ctx, m.clientURL)
		cancel()
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", m.name, err)
		case st.Leader == 0 || (leader != 0 && st.Leader != leader):
			return fmt.Errorf("%s: leader %x, others %x", m.name, st.Leader, leader)
		}
		leader = st.Leader
	}
	return nil
}
