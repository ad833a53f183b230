package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/internal/netns"
)

// Where gantry-proxy serves inside its namespace (nothing else listens
// there, so the ports are fixed).
const (
	metricsAddr = "127.0.0.1:10249"
	healthzAddr = "127.0.0.1:10256"
)

// sandbox is a network namespace of the program's with the API server
// relayed into it.
type sandbox struct {
	name  string
	relay *netns.Relay
	http  *http.Client // dials from inside the namespace
}

// newSandbox creates the namespace name with loopback up and relays
// 127.0.0.1:apiPort into it.
func newSandbox(ctx context.Context, name string, apiPort int) (_ *sandbox, err error) {
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	sb := &sandbox{name: name}
	defer func() {
		if err != nil {
			sb.close()
		}
	}()
	if _, err := sb.run(ctx, "ip", "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	if sb.relay, err = netns.NewRelay(name, "127.0.0.1:"+strconv.Itoa(apiPort)); err != nil {
		return nil, fmt.Errorf("relay the API server into %s: %w", name, err)
	}
	var d net.Dialer
	sb.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := netns.Do(name, func() (err error) {
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
		MaxIdleConnsPerHost: 2,
	}}
	return sb, nil
}

// run runs a command inside the namespace and returns its output.
func (sb *sandbox) run(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", sb.name}, args...)...).Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("in %s: %s: %v: %s", sb.name, strings.Join(args, " "), err, stderr)
	}
	return string(out), nil
}

// close stops the relay and deletes the namespace (and with it every
// rule made in it).
func (sb *sandbox) close() error {
	var errs []error
	if sb.http != nil {
		sb.http.CloseIdleConnections()
	}
	if sb.relay != nil {
		errs = append(errs, sb.relay.Close())
	}
	if out, err := exec.Command("ip", "netns", "del", sb.name).CombinedOutput(); err != nil {
		errs = append(errs, fmt.Errorf("ip netns del %s: %v: %s", sb.name, err, strings.TrimSpace(string(out))))
	}
	return errors.Join(errs...)
}

// proxyProc is one run of gantry-proxy in a sandbox.
type proxyProc struct {
	proc    *cluster.Process
	sb      *sandbox
	started time.Time
}

// startProxy runs gantry-proxy with args in the sandbox (ip netns exec
// replaces itself with the proxy, so the process is the proxy's).
func startProxy(sb *sandbox, bin, logPath string, args []string) (*proxyProc, error) {
	p := &proxyProc{proc: &cluster.Process{Name: "gantry-proxy in " + sb.name, LogPath: logPath}, sb: sb}
	p.started = time.Now()
	if err := p.proc.Start("ip", append([]string{"netns", "exec", sb.name, bin}, args...)); err != nil {
		return nil, err
	}
	return p, nil
}

// stop ends the proxy (SIGTERM, then SIGKILL).
func (p *proxyProc) stop() error { return p.proc.Stop(15 * time.Second) }

// unavailableError is a proxy that exited before its first sync: the
// mode is refused or cannot work here.
type unavailableError struct{ reason string }

func (e *unavailableError) Error() string { return "not available (" + e.reason + ")" }

// tooSlowError is a proxy still in its first sync after the timeout.
type tooSlowError struct{ timeout time.Duration }

func (e *tooSlowError) Error() string {
	return fmt.Sprintf("first sync not done after %v (still running; not measured)", e.timeout)
}

// waitFirstSync waits until the proxy has installed its rules once and
// returns its metrics then.
func (p *proxyProc) waitFirstSync(ctx context.Context, timeout time.Duration) (metrics, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if err := p.proc.Crashed(); err != nil {
			return nil, &unavailableError{reason: exitReason(p.proc.LogTail(10), err)}
		}
		m, err := p.scrape(ctx)
		if err == nil && m[lastSyncMetric] > 0 {
			return m, nil
		}
		answering := err == nil
		if answering {
			err = errors.New("no sync yet")
		}
		last = err
		if time.Now().After(deadline) {
			if answering { // running, still in its first sync
				return nil, &tooSlowError{timeout: timeout}
			}
			return nil, fmt.Errorf("gantry-proxy did not sync within %v: %v\n%s", timeout, last, p.proc.LogTail(20))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// exitReason is the proxy's own last word from its log ("gantry-proxy:
// ..."), or how it exited.
func exitReason(tail string, exit error) string {
	lines := strings.Split(strings.TrimSpace(tail), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if r, ok := strings.CutPrefix(lines[i], "gantry-proxy: "); ok {
			return r
		}
	}
	return exit.Error()
}

// Metric names read from the proxy.
const (
	lastSyncMetric       = "kubeproxy_sync_proxy_rules_last_timestamp_seconds"
	syncMetric           = "kubeproxy_sync_proxy_rules_duration_seconds"
	fullSyncMetric       = "kubeproxy_sync_full_proxy_rules_duration_seconds"
	partialSyncMetric    = "kubeproxy_sync_partial_proxy_rules_duration_seconds"
	programmingMetric    = "kubeproxy_network_programming_duration_seconds"
	rulesMetric          = "kubeproxy_sync_proxy_rules_iptables_total"
	restoreFailureMetric = "kubeproxy_sync_proxy_rules_iptables_restore_failures_total"
)

// metrics are the samples of one scrape, by name with labels as
// exposed.
type metrics map[string]float64

func (m metrics) count(hist string) float64 { return m[hist+"_count"] }
func (m metrics) sum(hist string) float64   { return m[hist+"_sum"] }

// rules is the number of rules the proxy owns, over its tables.
func (m metrics) rules() float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, rulesMetric+"{") {
			n += v
		}
	}
	return n
}

// lastSync is when the last successful sync ended.
func (m metrics) lastSync() time.Time {
	return time.Unix(0, int64(m[lastSyncMetric]*1e9))
}

// scrape reads the proxy's /metrics.
func (p *proxyProc) scrape(ctx context.Context) (metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metricsAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.sb.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format: "name{labels} value"
// per sample, comments skipped.
func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("/metrics: bad line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("/metrics: bad value in %q", line)
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}
