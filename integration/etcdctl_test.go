package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEtcdctl drives a 3-member cluster with Debian's etcdctl (API v3).
func TestEtcdctl(t *testing.T) {
	c := startCluster(t, 3)
	ctl := newEtcdctl(t, c.Endpoints())
	tests := []struct {
		name string
		run  func(t *testing.T, ctl etcdctl)
	}{
		{"put get del", testEtcdctlKV},
		{"txn", testEtcdctlTxn},
		{"watch", testEtcdctlWatch},
		{"lease", testEtcdctlLease},
		{"member list", testEtcdctlMemberList},
		{"endpoint status", testEtcdctlEndpointStatus},
		{"endpoint health", testEtcdctlEndpointHealth},
		{"snapshot save", testEtcdctlSnapshot},
		{"defrag", testEtcdctlDefrag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, ctl) })
	}
}

func testEtcdctlKV(t *testing.T, ctl etcdctl) {
	const p = "/etcdctl/kv/"
	for i, v := range []string{"a", "b", "c"} {
		if out := ctl.run(t, "", "put", fmt.Sprintf("%sname-%d", p, i), v); out != "OK\n" {
			t.Fatalf("put: got %q, want OK", out)
		}
	}
	ctl.run(t, "", "put", "/etcdctl/kw", "outside the prefix")

	gets := []struct {
		name string
		args []string
		want []string // key=value
	}{
		{"one key", []string{"get", p + "name-1"}, []string{p + "name-1=b"}},
		{"missing key", []string{"get", p + "nope"}, nil},
		{"prefix", []string{"get", "--prefix", p}, []string{p + "name-0=a", p + "name-1=b", p + "name-2=c"}},
		{"prefix limit", []string{"get", "--prefix", "--limit=2", p}, []string{p + "name-0=a", p + "name-1=b"}},
		{"range", []string{"get", p + "name-1", p + "name-3"}, []string{p + "name-1=b", p + "name-2=c"}},
	}
	for _, tt := range gets {
		t.Run(tt.name, func(t *testing.T) {
			var resp rangeJSON
			ctl.json(t, &resp, tt.args...)
			if got := resp.pairs(); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("del", func(t *testing.T) {
		var del struct {
			Deleted int64 `json:"deleted"`
		}
		ctl.json(t, &del, "del", p+"name-0")
		if del.Deleted != 1 {
			t.Errorf("del one key: deleted %d, want 1", del.Deleted)
		}
		ctl.json(t, &del, "del", "--prefix", p)
		if del.Deleted != 2 {
			t.Errorf("del prefix: deleted %d, want 2", del.Deleted)
		}
		var resp rangeJSON
		ctl.json(t, &resp, "get", "--prefix", "/etcdctl/k")
		if got, want := resp.pairs(), []string{"/etcdctl/kw=outside the prefix"}; !slices.Equal(got, want) {
			t.Errorf("after del: got %q, want %q", got, want)
		}
	})
}

func testEtcdctlTxn(t *testing.T, ctl etcdctl) {
	const k = "/etcdctl/txn/key"
	ctl.run(t, "", "put", k, "v1")
	tests := []struct {
		name      string
		compares  []string
		success   []string
		failure   []string
		want      string   // SUCCESS or FAILURE
		wantState []string // key=value under /etcdctl/txn/ afterwards
	}{
		{
			name:      "value compare holds",
			compares:  []string{`value("` + k + `") = "v1"`},
			success:   []string{"put " + k + " v2", "get " + k},
			failure:   []string{"put " + k + " wrong"},
			want:      "SUCCESS",
			wantState: []string{k + "=v2"},
		},
		{
			name:      "value compare fails",
			compares:  []string{`value("` + k + `") = "v1"`},
			success:   []string{"put " + k + " wrong"},
			failure:   []string{"put /etcdctl/txn/other x", "del " + k},
			want:      "FAILURE",
			wantState: []string{"/etcdctl/txn/other=x"},
		},
		{
			name:      "create if absent",
			compares:  []string{`mod("` + k + `") = "0"`},
			success:   []string{"put " + k + " created"},
			failure:   []string{"del /etcdctl/txn/other"},
			want:      "SUCCESS",
			wantState: []string{k + "=created", "/etcdctl/txn/other=x"},
		},
		{
			name:      "one of two compares fails",
			compares:  []string{`version("` + k + `") = "1"`, `create("/etcdctl/txn/other") = "0"`},
			success:   []string{"del --prefix /etcdctl/txn/"},
			failure:   []string{"put " + k + " both"},
			want:      "FAILURE",
			wantState: []string{k + "=both", "/etcdctl/txn/other=x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Interactive mode reads three blank-line-terminated sections.
			var in strings.Builder
			for _, section := range [][]string{tt.compares, tt.success, tt.failure} {
				for _, line := range section {
					in.WriteString(line + "\n")
				}
				in.WriteString("\n")
			}
			out := ctl.run(t, in.String(), "txn", "--interactive")
			if got := txnOutcome(out); got != tt.want {
				t.Fatalf("txn: got %q, want %s; output:\n%s", got, tt.want, out)
			}
			var resp rangeJSON
			ctl.json(t, &resp, "get", "--prefix", "/etcdctl/txn/")
			if got := resp.pairs(); !slices.Equal(got, tt.wantState) {
				t.Errorf("after txn: got %q, want %q", got, tt.wantState)
			}
		})
	}
}

// txnOutcome returns the SUCCESS or FAILURE line that follows etcdctl's
// interactive prompts.
func txnOutcome(out string) string {
	for line := range strings.Lines(out) {
		if line = strings.TrimSpace(line); line == "SUCCESS" || line == "FAILURE" {
			return line
		}
	}
	return ""
}

func testEtcdctlWatch(t *testing.T, ctl etcdctl) {
	const p = "/etcdctl/watch/"
	var resp rangeJSON
	ctl.json(t, &resp, "get", p)
	rev := resp.Header.Revision

	// Watching from the next revision sees every change below even if the
	// watch is established after the first puts.
	ctx := testContext(t, 30*time.Second)
	watch := ctl.command(ctx, "watch", "--prefix", fmt.Sprintf("--rev=%d", rev+1), p)
	stdout, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	watch.Stderr = &stderr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		watch.Process.Kill()
		watch.Wait()
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// etcdctl prints an event as three lines: type, key, value.
	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			select {
			case got, ok := <-lines:
				if !ok {
					t.Fatalf("watch ended before %q; stderr:\n%s", w, stderr.String())
				}
				if got != w {
					t.Fatalf("watch printed %q, want %q", got, w)
				}
			case <-ctx.Done():
				t.Fatalf("watch: no %q: %v; stderr:\n%s", w, ctx.Err(), stderr.String())
			}
		}
	}

	ctl.run(t, "", "put", p+"a", "1")
	ctl.run(t, "", "put", p+"b", "2")
	ctl.run(t, "", "del", p+"a")
	ctl.run(t, "", "put", "/etcdctl/watchers", "not watched")
	expect("PUT", p+"a", "1", "PUT", p+"b", "2", "DELETE", p+"a", "")
	// The watch is live now; a new change arrives too.
	ctl.run(t, "", "put", p+"c", "3")
	expect("PUT", p+"c", "3")
}

func testEtcdctlLease(t *testing.T, ctl etcdctl) {
	const k = "/etcdctl/lease/key"
	var grant struct {
		ID  int64 `json:"ID"`
		TTL int64 `json:"TTL"`
	}
	ctl.json(t, &grant, "lease", "grant", "60")
	if grant.ID == 0 || grant.TTL != 60 {
		t.Fatalf("lease grant: got ID %x TTL %d, want an ID and TTL 60", grant.ID, grant.TTL)
	}
	id := fmt.Sprintf("%x", grant.ID) // etcdctl takes lease IDs in hex

	ctl.run(t, "", "put", "--lease="+id, k, "v")
	if out := ctl.run(t, "", "lease", "keep-alive", "--once", id); !strings.Contains(out, "keepalived with TTL(60)") {
		t.Errorf("lease keep-alive --once: got %q", out)
	}

	var ttl struct {
		ID         int64    `json:"id"`
		TTL        int64    `json:"ttl"`
		GrantedTTL int64    `json:"granted-ttl"`
		Keys       [][]byte `json:"keys"`
	}
	ctl.json(t, &ttl, "lease", "timetolive", "--keys", id)
	if ttl.ID != grant.ID || ttl.GrantedTTL != 60 || ttl.TTL <= 0 || ttl.TTL > 60 {
		t.Errorf("lease timetolive: got id %x ttl %d granted %d, want id %x, 0 < ttl <= 60, granted 60",
			ttl.ID, ttl.TTL, ttl.GrantedTTL, grant.ID)
	}
	if len(ttl.Keys) != 1 || string(ttl.Keys[0]) != k {
		t.Errorf("lease timetolive --keys: got %q, want [%s]", ttl.Keys, k)
	}

	if out := ctl.run(t, "", "lease", "revoke", id); !strings.Contains(out, "revoked") {
		t.Errorf("lease revoke: got %q", out)
	}
	var resp rangeJSON
	ctl.json(t, &resp, "get", k)
	if resp.Count != 0 {
		t.Errorf("key of a revoked lease: got %q, want none", resp.pairs())
	}
}

func testEtcdctlMemberList(t *testing.T, ctl etcdctl) {
	var resp struct {
		Members []struct {
			ID         uint64   `json:"ID"`
			Name       string   `json:"name"`
			PeerURLs   []string `json:"peerURLs"`
			ClientURLs []string `json:"clientURLs"`
		} `json:"members"`
	}
	ctl.json(t, &resp, "member", "list")
	var got []string
	for _, m := range resp.Members {
		if m.ID == 0 || len(m.PeerURLs) != 1 {
			t.Errorf("member %q: ID %x, peer URLs %q; want an ID and one peer URL", m.Name, m.ID, m.PeerURLs)
		}
		got = append(got, m.Name+" "+strings.Join(m.ClientURLs, ","))
	}
	var want []string
	for i, ep := range ctl.endpoints {
		want = append(want, fmt.Sprintf("m%d %s", i, ep))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("member list: got %q, want %q", got, want)
	}
}

func testEtcdctlEndpointStatus(t *testing.T, ctl etcdctl) {
	var resp []struct {
		Endpoint string `json:"Endpoint"`
		Status   struct {
			Header   headerJSON `json:"header"`
			Leader   uint64     `json:"leader"`
			RaftTerm uint64     `json:"raftTerm"`
		} `json:"Status"`
	}
	ctl.json(t, &resp, "endpoint", "status")
	if len(resp) != len(ctl.endpoints) {
		t.Fatalf("endpoint status: %d entries, want %d", len(resp), len(ctl.endpoints))
	}
	leaders := map[uint64]bool{}
	var self int
	for _, ep := range resp {
		leaders[ep.Status.Leader] = true
		if ep.Status.Leader == ep.Status.Header.MemberID {
			self++
		}
		if ep.Status.RaftTerm == 0 {
			t.Errorf("endpoint %s: raft term 0", ep.Endpoint)
		}
	}
	if len(leaders) != 1 || leaders[0] || self != 1 {
		t.Errorf("endpoint status: leaders %v, %d members report themselves leader; want one leader, itself once", leaders, self)
	}
}

func testEtcdctlEndpointHealth(t *testing.T, ctl etcdctl) {
	var resp []struct {
		Endpoint string `json:"endpoint"`
		Health   bool   `json:"health"`
		Error    string `json:"error"`
	}
	ctl.json(t, &resp, "endpoint", "health")
	if len(resp) != len(ctl.endpoints) {
		t.Fatalf("endpoint health: %d entries, want %d", len(resp), len(ctl.endpoints))
	}
	for _, ep := range resp {
		if !ep.Health {
			t.Errorf("endpoint %s unhealthy: %s", ep.Endpoint, ep.Error)
		}
	}
}

func testEtcdctlSnapshot(t *testing.T, ctl etcdctl) {
	path := filepath.Join(t.TempDir(), "snapshot.db")
	// etcdctl takes a snapshot from exactly one endpoint.
	one := ctl
	one.endpoints = ctl.endpoints[:1]
	one.run(t, "", "snapshot", "save", path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() == 0 {
		t.Errorf("snapshot %s is empty", path)
	}
}

func testEtcdctlDefrag(t *testing.T, ctl etcdctl) {
	out := ctl.run(t, "", "defrag")
	for _, ep := range ctl.endpoints {
		if !strings.Contains(out, "Finished defragmenting etcd member["+ep+"]") {
			t.Errorf("defrag did not finish on %s:\n%s", ep, out)
		}
	}
	ctl.run(t, "", "put", "/etcdctl/after-defrag", "1")
}

// etcdctl runs Debian's etcdctl against a set of endpoints.
type etcdctl struct {
	bin       string
	endpoints []string
}

func newEtcdctl(t *testing.T, endpoints []string) etcdctl {
	bin, err := exec.LookPath("etcdctl")
	if err != nil {
		t.Fatalf("these tests need etcdctl (Debian package etcd-client): %v", err)
	}
	return etcdctl{bin: bin, endpoints: endpoints}
}

func (e etcdctl) command(ctx context.Context, args ...string) *exec.Cmd {
	global := []string{"--endpoints=" + strings.Join(e.endpoints, ","), "--dial-timeout=5s", "--command-timeout=15s"}
	cmd := exec.CommandContext(ctx, e.bin, append(global, args...)...)
	cmd.Env = []string{"ETCDCTL_API=3"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCDCTL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.WaitDelay = time.Second
	return cmd
}

// run runs etcdctl with stdin and returns its stdout, failing the test if
// it exits non-zero.
func (e etcdctl) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := e.command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("etcdctl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// json runs etcdctl -w json and decodes its output into v.
func (e etcdctl) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := e.run(t, "", append([]string{"-w", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("etcdctl %s: decode %q: %v", strings.Join(args, " "), out, err)
	}
}

// Shapes of etcdctl's JSON output; bytes come base64-encoded.
type headerJSON struct {
	ClusterID uint64 `json:"cluster_id"`
	MemberID  uint64 `json:"member_id"`
	Revision  int64  `json:"revision"`
	RaftTerm  uint64 `json:"raft_term"`
}

type rangeJSON struct {
	Header headerJSON `json:"header"`
	Kvs    []struct {
		Key   []byte `json:"key"`
		Value []byte `json:"value"`
	} `json:"kvs"`
	Count int64 `json:"count"`
}

// pairs returns the key-value pairs as key=value, in order.
func (r rangeJSON) pairs() []string {
	var kvs []string
	for _, kv := range r.Kvs {
		kvs = append(kvs, string(kv.Key)+"="+string(kv.Value))
	}
	return kvs
}
