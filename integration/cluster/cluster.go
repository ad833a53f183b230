package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

const (
	defaultReadyTimeout = 60 * time.Second
	launchAttempts      = 3 // a freed port can be taken before a member binds it
	pollInterval        = 50 * time.Millisecond
	logTailLines        = 80
)

// errAddrInUse marks a start that failed because a member could not bind a
// port picked for it; Launch then retries with fresh ports.
var errAddrInUse = errors.New("address already in use")

// Options configure a cluster.
type Options struct {
	Flavor       Flavor
	Members      int           // default 1
	Args         []string      // extra flags for every member's first start
	ReadyTimeout time.Duration // default 60s
	// Hosts, if set, place one member on each host (Members is then
	// len(Hosts)): the member runs in the host's network namespace and
	// listens on its address at the standard ports (client 2379, peer
	// 2380, metrics 2381), as on a real machine.
	Hosts []Placement
}

// Placement is a simulated host a process runs on: a network namespace
// and the address it serves on there.
type Placement struct {
	Netns string // /run/netns/<Netns>
	IP    string
}

// Standard ports of a member placed on a host.
const (
	ClientPort  = 2379
	PeerPort    = 2380
	MetricsPort = 2381
)

// A Cluster is a set of store processes that form one raft group.
type Cluster struct {
	flavor  Flavor
	dir     string
	members []*Member
}

// Start launches a cluster for a test. It fails the test if the cluster does
// not become ready, and closes the cluster when the test ends, printing the
// members' logs first if the test failed.
func Start(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	c, err := Launch(context.Background(), opts)
	if err != nil {
		tb.Fatalf("start %d-member %s cluster: %v", max(opts.Members, 1), opts.Flavor.Name, err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			for _, m := range c.members {
				tb.Logf("--- log of %s %s (%s):\n%s", c.flavor.Name, m.Name, m.ClientURL, m.logTail(logTailLines))
			}
		}
		if err := c.Close(); err != nil {
			tb.Errorf("close cluster: %v", err)
		}
	})
	return c
}

// Launch starts the members and waits until every one reports healthy and
// all agree on a leader. The caller must Close the cluster.
func Launch(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Flavor.Binary == "" {
		return nil, errors.New("cluster options: no flavor binary (use LookupFlavor or FlavorFromEnv)")
	}
	n := max(opts.Members, 1)
	if len(opts.Hosts) > 0 {
		n = len(opts.Hosts)
	}
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = defaultReadyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var err error
	for range launchAttempts {
		var c *Cluster
		c, err = launch(ctx, opts.Flavor, n, opts.Args, opts.Hosts)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	return nil, err
}

func launch(ctx context.Context, flavor Flavor, n int, extra []string, hosts []Placement) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "gantry-"+flavor.Name+"-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{flavor: flavor, dir: dir}
	ports, err := FreePorts(3 * n)
	if err != nil {
		c.Close()
		return nil, err
	}
	var peers []string
	for i := range n {
		name := fmt.Sprintf("m%d", i)
		m := &Member{
			Name:       name,
			ClientURL:  fmt.Sprintf("http://127.0.0.1:%d", ports[3*i]),
			PeerURL:    fmt.Sprintf("http://127.0.0.1:%d", ports[3*i+1]),
			MetricsURL: fmt.Sprintf("http://127.0.0.1:%d", ports[3*i+2]),
			DataDir:    filepath.Join(dir, name),
			LogPath:    filepath.Join(dir, name+".log"),
			flavor:     flavor,
		}
		if hosts != nil {
			ip := hosts[i].IP
			m.ClientURL = fmt.Sprintf("http://%s:%d", ip, ClientPort)
			m.PeerURL = fmt.Sprintf("http://%s:%d", ip, PeerPort)
			m.MetricsURL = fmt.Sprintf("http://%s:%d", ip, MetricsPort)
			m.proc.Netns = hosts[i].Netns
		}
		c.members = append(c.members, m)
		peers = append(peers, m.Name+"="+m.PeerURL)
	}
	initialCluster := strings.Join(peers, ",")
	for _, m := range c.members {
		m.firstArgs, m.restartArgs = flavor.args(m, initialCluster, filepath.Base(dir), extra)
		if err := m.start(m.firstArgs); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.WaitReady(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// args returns the flags of a member's first start and of its restarts.
func (f Flavor) args(m *Member, initialCluster, token string, extra []string) (first, restart []string) {
	listen := []string{
		"--data-dir=" + m.DataDir,
		"--listen-client-urls=" + m.ClientURL,
		"--listen-peer-urls=" + m.PeerURL,
		"--listen-metrics-urls=" + m.MetricsURL,
	}
	first = append([]string{
		"--name=" + m.Name,
		"--advertise-client-urls=" + m.ClientURL,
		"--initial-advertise-peer-urls=" + m.PeerURL,
		"--initial-cluster=" + initialCluster,
		"--initial-cluster-state=new",
	}, listen...)
	if f.Name == Etcd {
		first = append(first, "--initial-cluster-token="+token)
	}
	first = append(first, extra...)
	if f.Name == Etcd {
		// etcd wants its full configuration on every start.
		return first, first
	}
	return first, listen
}

// Endpoints returns the client URLs of all members.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.ClientURL
	}
	return eps
}

// Flavor returns the flavor the cluster runs.
func (c *Cluster) Flavor() Flavor { return c.flavor }

// Size returns the number of members.
func (c *Cluster) Size() int { return len(c.members) }

// Member returns the i-th member (0-based).
func (c *Cluster) Member(i int) *Member { return c.members[i] }

// Close kills every member and removes the cluster's directory.
func (c *Cluster) Close() error {
	var errs []error
	for _, m := range c.members {
		errs = append(errs, m.Kill())
	}
	errs = append(errs, os.RemoveAll(c.dir))
	return errors.Join(errs...)
}

// WaitReady polls until every running member reports healthy and they all
// name the same leader. It returns early if a member exits on its own.
func (c *Cluster) WaitReady(ctx context.Context) error {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints(),
		DialTimeout: 2 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return err
	}
	defer cli.Close()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		notReady := c.ready(ctx, cli)
		if notReady == nil {
			return nil
		}
		var crash *crashError
		if errors.As(notReady, &crash) {
			return notReady
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s cluster not ready: %w; last check: %v", c.flavor.Name, ctx.Err(), notReady)
		case <-tick.C:
		}
	}
}

// crashError reports a member that exited while the cluster was expected to
// be serving, with the end of its log.
type crashError struct {
	err error
	log string
}

func (e *crashError) Error() string { return fmt.Sprintf("%v; log:\n%s", e.err, e.log) }

func (e *crashError) Unwrap() error {
	if strings.Contains(e.log, "address already in use") {
		return errAddrInUse
	}
	return e.err
}

// ready returns nil if the cluster is ready, or why it is not.
func (c *Cluster) ready(ctx context.Context, cli *clientv3.Client) error {
	var leader uint64
	var running int
	for _, m := range c.members {
		if err := m.crashed(); err != nil {
			return &crashError{err: err, log: m.logTail(logTailLines)}
		}
		if !m.Running() {
			continue
		}
		running++
		if err := health(ctx, m.MetricsURL); err != nil {
			return fmt.Errorf("member %s: %w", m.Name, err)
		}
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := cli.Status(sctx, m.ClientURL)
		cancel()
		if err != nil {
			return fmt.Errorf("member %s: status: %w", m.Name, err)
		}
		switch {
		case st.Leader == 0:
			return fmt.Errorf("member %s: no leader", m.Name)
		case leader != 0 && st.Leader != leader:
			return fmt.Errorf("member %s: leader %x, another member says %x", m.Name, st.Leader, leader)
		}
		leader = st.Leader
	}
	if running == 0 {
		return errors.New("no member is running")
	}
	return nil
}

// health checks an etcd-style /health endpoint: {"health":"true"}.
func health(ctx context.Context, metricsURL string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("/health: %s: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || body.Health != "true" {
		return fmt.Errorf("/health: %s health=%q %s", resp.Status, body.Health, body.Reason)
	}
	return nil
}

// FreePorts returns n ports that were free on 127.0.0.1 a moment ago and
// that no earlier call in this test binary returned. Someone else may take
// one before it is bound; callers retry then. Ports are often bound in
// another network namespace, where this one cannot see them in use, so a
// port once handed out is never handed out again: the kernel would offer
// it anew as soon as our probe closed.
func FreePorts(n int) ([]int, error) {
	givenMu.Lock()
	defer givenMu.Unlock()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("no free port not handed out before after %d tries", tries)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // hold all until done so the kernel offers others
		port := l.Addr().(*net.TCPAddr).Port
		if given[port] {
			continue
		}
		given[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}

var (
	givenMu sync.Mutex
	given   = map[int]bool{} // ports FreePorts has returned
)

// RandomHex returns n random bytes in hex: unique names and tokens for
// tests.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Leader returns the index of the member that leads, as the running
// members that answer see it.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return -1, err
	}
	defer cli.Close()
	ids := map[uint64]int{}
	var leader uint64
	for i, m := range c.members {
		if !m.Running() {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := cli.Status(sctx, m.ClientURL)
		cancel()
		if err != nil {
			continue
		}
		ids[st.Header.MemberId] = i
		if st.Leader != 0 {
			leader = st.Leader
		}
	}
	if i, ok := ids[leader]; ok && leader != 0 {
		return i, nil
	}
	return -1, errors.New("no member knows a leader that answers")
}
