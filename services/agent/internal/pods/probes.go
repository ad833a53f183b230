package pods

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probes runs the liveness, readiness and startup probes of a pod's
// running containers.
type probes struct {
	w    *worker
	mu   sync.Mutex
	byID map[string]*probeState // by container id
}

type probeState struct {
	name       string
	cancel     context.CancelFunc
	ready      bool
	started    bool
	liveFailed bool
}

func newProbes(w *worker) *probes { return &probes{w: w, byID: map[string]*probeState{}} }

// ensure starts the probes of a running container once.
func (p *probes) ensure(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.byID[id]; ok {
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	st := &probeState{name: c.Name, cancel: cancel, ready: c.ReadinessProbe == nil, started: c.StartupProbe == nil}
	// A container this agent finds running after its own restart keeps
	// the readiness and start it last reported until a probe says
	// otherwise: restarting the agent must not take pods out of their
	// Services.
	if last := reportedStatus(pod, c.Name, id); last != nil {
		st.ready = st.ready || last.Ready
		st.started = st.started || (last.Started != nil && *last.Started)
	}
	p.byID[id] = st
	if c.StartupProbe != nil {
		go p.loop(pctx, pod, c, id, c.StartupProbe, "Startup")
	}
	if c.ReadinessProbe != nil {
		go p.loop(pctx, pod, c, id, c.ReadinessProbe, "Readiness")
	}
	if c.LivenessProbe != nil {
		go p.loop(pctx, pod, c, id, c.LivenessProbe, "Liveness")
	}
}

func (p *probes) get(name, id string) (probeState, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.byID[id]
	if !ok || st.name != name {
		return probeState{}, false
	}
	return *st, true
}

// ready reports the readiness of a running container (false until its
// probes have run, true without a readiness probe).
func (p *probes) ready(name, id string) bool {
	st, ok := p.get(name, id)
	if !ok {
		pod, _ := p.w.snapshot()
		c := specOf(pod, name)
		return c != nil && c.ReadinessProbe == nil && c.StartupProbe == nil
	}
	return st.ready && st.started
}

func (p *probes) started(name, id string) bool {
	st, ok := p.get(name, id)
	if !ok {
		pod, _ := p.w.snapshot()
		c := specOf(pod, name)
		return c != nil && c.StartupProbe == nil
	}
	return st.started
}

func (p *probes) livenessFailed(name, id string) bool {
	st, _ := p.get(name, id)
	return st.liveFailed
}

func (p *probes) stop(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.byID[id]; ok {
		st.cancel()
		delete(p.byID, id)
	}
}

func (p *probes) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, st := range p.byID {
		st.cancel()
		delete(p.byID, id)
	}
}

// loop runs one probe by its timing and thresholds, recording results
// and waking the worker on every change.
func (p *probes) loop(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, pr *corev1.Probe, kind string) {
	period := seconds(pr.PeriodSeconds, 10)
	timeout := seconds(pr.TimeoutSeconds, 1)
	success := max(int(pr.SuccessThreshold), 1)
	failure := max(int(pr.FailureThreshold), 1)
	if !sleepCtx(ctx, seconds(pr.InitialDelaySeconds, 0)) {
		return
	}
	okRun, failRun := 0, 0
	for {
		if kind != "Startup" && !p.started(c.Name, id) {
			// Other probes wait for the startup probe.
		} else if kind == "Startup" && p.started(c.Name, id) {
			return
		} else {
			err := p.run(ctx, pod, c, id, pr, timeout)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				okRun, failRun = okRun+1, 0
			} else {
				okRun, failRun = 0, failRun+1
				p.w.event(pod, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %v", kind, err))
			}
			if p.w.m.cfg.Metrics != nil {
				p.w.m.cfg.Metrics.probe(kind, err == nil)
			}
			p.record(id, kind, okRun >= success, failRun >= failure)
		}
		if !sleepCtx(ctx, period) {
			return
		}
	}
}

// record applies a probe's verdict; a change wakes the worker.
func (p *probes) record(id, kind string, passed, failed bool) {
	p.mu.Lock()
	st, ok := p.byID[id]
	if !ok {
		p.mu.Unlock()
		return
	}
	before := [3]bool{st.ready, st.started, st.liveFailed}
	switch kind {
	case "Readiness":
		if passed {
			st.ready = true
		} else if failed {
			st.ready = false
		}
	case "Startup":
		if passed {
			st.started = true
		} else if failed {
			st.liveFailed = true
		}
	case "Liveness":
		if failed {
			st.liveFailed = true
		}
	}
	changed := before != [3]bool{st.ready, st.started, st.liveFailed}
	p.mu.Unlock()
	if changed {
		p.w.wake()
	}
}

func seconds(v int32, def int) time.Duration {
	if v <= 0 {
		return time.Duration(def) * time.Second
	}
	return time.Duration(v) * time.Second
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run performs one probe.
func (p *probes) run(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, pr *corev1.Probe, timeout time.Duration) error {
	return p.w.handler(ctx, pod, c, id, pr.ProbeHandler, timeout)
}

// handler runs an exec, httpGet or tcpSocket action (probes and hooks).
func (w *worker) handler(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, h corev1.ProbeHandler, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case h.Exec != nil:
		var out bytes.Buffer
		code, err := w.m.cfg.Runtime.Exec(ctx, id, runtime.ExecConfig{Cmd: h.Exec.Command, Stdout: &out, Stderr: &out, Timeout: timeout})
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d: %s", strings.Join(h.Exec.Command, " "), code, strings.TrimSpace(out.String()))
		}
		return nil
	case w.m.cfg.Simulated && (h.HTTPGet != nil || h.TCPSocket != nil):
		return nil
	case h.HTTPGet != nil:
		return w.httpGet(ctx, pod, c, h.HTTPGet)
	case h.TCPSocket != nil:
		host := h.TCPSocket.Host
		if host == "" {
			host = first(w.ips)
		}
		port, err := resolvePort(h.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("unsupported probe handler")
}

func (w *worker) httpGet(ctx context.Context, pod *corev1.Pod, c *corev1.Container, g *corev1.HTTPGetAction) error {
	host := g.Host
	if host == "" {
		host = first(w.ips)
	}
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return err
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	req, err := http.NewRequestWithContext(ctx, "GET", u.String()+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/gantry")
	for _, h := range g.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return nil
}

// resolvePort turns a number or a container port name into a number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("port %q not found in container %s", p.StrVal, c.Name)
}

// runHook runs a postStart or preStop handler.
func (w *worker) runHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, h *corev1.LifecycleHandler) error {
	if h.Sleep != nil {
		sleepCtx(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
		return nil
	}
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return w.handler(ctx, pod, c, id, corev1.ProbeHandler{Exec: h.Exec, HTTPGet: h.HTTPGet, TCPSocket: h.TCPSocket}, timeout)
}

// logTail returns up to max bytes of the last lines of a CRI log file,
// without the CRI prefixes.
func logTail(path string, lines, maxBytes int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	var out strings.Builder
	for _, l := range all {
		// "<time> <stream> <tag> <text>"
		parts := strings.SplitN(l, " ", 4)
		if len(parts) == 4 {
			l = parts[3]
		}
		out.WriteString(l)
		out.WriteByte('\n')
	}
	s := out.String()
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	return s
}

// reportedStatus returns the status the API holds for the container
// with runtime id id, or nil.
func reportedStatus(pod *corev1.Pod, name, id string) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		if cs.Name == name && cs.ContainerID == "containerd://"+id {
			return cs
		}
	}
	return nil
}
