package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/multihost"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testControlPlaneLoss takes one control plane process after another
// away — the store leader (SIGKILL), the store leader again (SIGSTOP:
// hung), the active scheduler, the active controller manager, an API
// server (SIGKILL) — and during each loss acknowledges a write through a
// surviving API server and scales the web app, which must converge;
// then brings the process back.
func testControlPlaneLoss(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	c := e.c
	replicas := []int32{5, 3, 6, 4, 5}
	steps := []struct {
		name string
		// lose takes the process away and returns the API server to
		// write through and a function that brings the process back.
		lose func(t *testing.T) (int, func() error)
	}{
		{"store leader killed", func(t *testing.T) (int, func() error) {
			i := e.storeLeader(ctx, t)
			m := c.ControlHosts[i].Store
			if err := m.Kill(); err != nil {
				t.Fatal(err)
			}
			// Through the API server whose own member is gone.
			return i, m.Restart
		}},
		{"store leader hung", func(t *testing.T) (int, func() error) {
			i := e.storeLeader(ctx, t)
			m := c.ControlHosts[i].Store
			if err := m.Pause(); err != nil {
				t.Fatal(err)
			}
			return i, m.Resume
		}},
		{"active scheduler killed", func(t *testing.T) (int, func() error) {
			ch := e.leader(ctx, t, "kube-scheduler", "")
			if err := ch.Scheduler.Kill(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ch.Scheduler.Restart() }) // if the step fails
			if _, err := c.WaitLeader(ctx, "kube-scheduler", ch.Name); err != nil {
				t.Fatal(err)
			}
			return 0, ch.Scheduler.Restart
		}},
		{"active controller manager killed", func(t *testing.T) (int, func() error) {
			ch := e.leader(ctx, t, "kube-controller-manager", "")
			if err := ch.Controllers.Kill(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ch.Controllers.Restart() }) // if the step fails
			if _, err := c.WaitLeader(ctx, "kube-controller-manager", ch.Name); err != nil {
				t.Fatal(err)
			}
			return 0, ch.Controllers.Restart
		}},
		{"API server killed", func(t *testing.T) (int, func() error) {
			// The first one: the agents, proxies and first-listed
			// clients use it and must go to another.
			s := c.CP.Servers[0]
			if err := s.Kill(); err != nil {
				t.Fatal(err)
			}
			e.read = 1
			return 2, func() error {
				if err := s.Restart(); err != nil {
					return err
				}
				if err := c.CP.WaitReady(ctx, s); err != nil {
					return err
				}
				e.read = 0
				return nil
			}
		}},
	}
	for n, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			through, restore := step.lose(t)
			restored := false
			defer func() {
				if !restored {
					if err := restore(); err != nil {
						t.Error(err)
					}
				}
			}()
			start := time.Now()
			e.ack(ctx, t, through, fmt.Sprintf("loss-%d", n))
			e.scale(ctx, t, through, replicas[n])
			e.waitDeployment(ctx, t, "web", replicas[n])
			t.Logf("%s: write acknowledged and %d replicas converged in %v", step.name, replicas[n], time.Since(start).Round(100*time.Millisecond))
			restored = true
			if err := restore(); err != nil {
				t.Fatal(err)
			}
			if err := e.waitControlPlane(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// storeLeader returns the index of the control plane host whose store
// member leads.
func (e *env) storeLeader(ctx context.Context, t *testing.T) int {
	t.Helper()
	var i int
	var err error
	if !poll(ctx, time.Minute, func() bool { i, err = e.c.CP.Store.Leader(ctx); return err == nil }) {
		t.Fatalf("store leader: %v", err)
	}
	return i
}

// leader returns the host that holds the Lease, waiting for one other
// than not.
func (e *env) leader(ctx context.Context, t *testing.T, lease, not string) *multihost.ControlHost {
	t.Helper()
	ch, err := e.c.WaitLeader(ctx, lease, not)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// waitControlPlane waits until every store member is healthy with one
// leader, every API server ready, and the controllers and schedulers
// have a leader.
func (e *env) waitControlPlane(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := e.c.CP.Store.WaitReady(wctx); err != nil {
		return err
	}
	for _, s := range e.c.CP.Servers {
		if err := e.c.CP.WaitReady(wctx, s); err != nil {
			return err
		}
	}
	for _, lease := range []string{"kube-controller-manager", "kube-scheduler"} {
		if _, err := e.c.WaitLeader(wctx, lease, ""); err != nil {
			return err
		}
	}
	return nil
}

// testStoreMinority cuts a control plane host whose member follows off
// the link: writes through its store member (etcdctl) and its API
// server (kubectl), both run on that host, fail within their timeouts;
// the majority keeps accepting writes and converging; after healing the
// member has everything the majority wrote meanwhile.
func testStoreMinority(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := e.c
	leader := e.storeLeader(ctx, t)
	victim := 1
	if leader == victim {
		victim = 2
	}
	ch := c.ControlHosts[victim]
	if err := c.Partition(ctx, &ch.Machine); err != nil {
		t.Fatal(err)
	}
	healed := false
	heal := func() {
		if !healed {
			healed = true
			if err := c.Heal(context.Background(), &ch.Machine); err != nil {
				t.Error(err)
			}
		}
	}
	defer heal()

	t.Run("writes through the minority fail", func(t *testing.T) {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		out, err := ch.Run(wctx, "etcdctl", "--endpoints", ch.Store.ClientURL, "--dial-timeout", "3s", "--command-timeout", "5s", "put", "/e2e/minority", "x")
		switch {
		case wctx.Err() != nil:
			t.Errorf("etcdctl put through the minority member did not return within a minute")
		case err == nil:
			t.Errorf("etcdctl put through the minority member succeeded: %s", out)
		default:
			t.Logf("etcdctl put through the minority: %v", err)
		}
		kubeconfig := e.kubeconfigFor(t, victim)
		out, err = ch.Run(wctx, "kubectl", "--kubeconfig", kubeconfig, "--cache-dir", t.TempDir(), "--request-timeout", "15s",
			"-n", e.ns, "create", "configmap", "minority", "--from-literal", "v=x")
		switch {
		case wctx.Err() != nil:
			t.Errorf("kubectl create through the minority API server did not return within a minute")
		case err == nil:
			t.Errorf("kubectl create through the minority API server succeeded: %s", out)
		default:
			t.Logf("kubectl create through the minority: %v", err)
		}
	})

	majority := 0 // victim is 1 or 2
	e.ack(ctx, t, majority, "during-partition")
	e.scale(ctx, t, majority, 5)
	e.waitDeployment(ctx, t, "web", 5)
	rev, err := memberRevision(ctx, c.ControlHosts[majority].Store.ClientURL, "")
	if err != nil {
		t.Fatal(err)
	}
	heal()

	key := "/registry/configmaps/" + e.ns + "/during-partition"
	var last error
	if !poll(ctx, 2*time.Minute, func() bool {
		var r int64
		if r, last = memberRevision(ctx, ch.Store.ClientURL, key); last == nil && r < rev {
			last = fmt.Errorf("member %s is at revision %d, the majority was at %d", ch.Store.Name, r, rev)
		}
		return last == nil
	}) {
		t.Fatalf("the healed member did not catch up: %v", last)
	}
	if err := e.waitControlPlane(ctx); err != nil {
		t.Fatal(err)
	}
	// Its API server serves the majority's writes again.
	if !poll(ctx, time.Minute, func() bool {
		_, last = e.kube[victim].CoreV1().ConfigMaps(e.ns).Get(ctx, "during-partition", metav1.GetOptions{})
		return last == nil
	}) {
		t.Fatalf("API server %d after healing: %v", victim, last)
	}
}

// memberRevision returns the store revision member at url has applied,
// read locally (serializable), after checking that key (if any) is
// there.
func memberRevision(ctx context.Context, url, key string) (int64, error) {
	args := []string{"--endpoints", url, "--dial-timeout", "3s", "--command-timeout", "5s", "-w", "json", "get", "--consistency", "s", "--keys-only"}
	if key == "" {
		args = append(args, "/registry/health")
	} else {
		args = append(args, key)
	}
	out, err := runCmd(ctx, "etcdctl", args...)
	if err != nil {
		return 0, err
	}
	var resp struct {
		Header struct {
			Revision int64 `json:"revision"`
		} `json:"header"`
		Count int64 `json:"count"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		return 0, fmt.Errorf("etcdctl get: %v: %s", err, out)
	}
	if key != "" && resp.Count == 0 {
		return 0, fmt.Errorf("member %s has no %s yet", url, key)
	}
	return resp.Header.Revision, nil
}

// testWorkerLoss kills the second worker's agent and cuts the worker off
// the link. Its pods must be replaced on the first worker within the
// node monitor grace period plus their toleration, and the Service,
// called from the first worker, answers from the survivors. After
// healing, the worker is Ready again and its old pods are gone.
func testWorkerLoss(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := e.c
	survivor, victim := c.Hosts[0], c.Hosts[1]
	const replicas = 4
	e.scale(ctx, t, 0, replicas)
	e.waitDeployment(ctx, t, "web", replicas)
	pods, err := e.webPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	onVictim := 0
	for _, p := range pods {
		if p.Spec.NodeName == victim.Name {
			onVictim++
		}
	}
	if onVictim == 0 {
		t.Fatalf("no web pod runs on %s (the scheduler spreads replicas over nodes): nothing to lose", victim.Name)
	}
	l := startLoad(ctx, survivor, e.serviceURL(ctx, t))
	defer l.stop()
	waitRequests(ctx, t, l, 5)

	start := time.Now()
	if err := victim.Agent.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := c.Partition(ctx, &victim.Machine); err != nil {
		t.Fatal(err)
	}
	healed := false
	heal := func() error {
		if healed {
			return nil
		}
		healed = true
		return errors.Join(c.Heal(context.Background(), &victim.Machine), victim.Agent.Restart())
	}
	defer heal()

	var last error
	if !poll(ctx, nodeGrace+tolerationSeconds*time.Second+2*time.Minute, func() bool {
		last = e.replacedOn(ctx, survivor.Name, replicas)
		return last == nil
	}) {
		t.Fatalf("the lost worker's pods were not replaced: %v", last)
	}
	t.Logf("%d pods of %s replaced on %s %v after the loss (node grace %v + toleration %ds)",
		onVictim, victim.Name, survivor.Name, time.Since(start).Round(time.Second), nodeGrace, tolerationSeconds)
	// The survivor's proxy must have dropped the lost endpoints too:
	// wait until no EndpointSlice offers one, and for a sync of the
	// proxy's rules after that.
	if !poll(ctx, time.Minute, func() bool {
		last = e.noEndpointsOn(ctx, victim.Name)
		return last == nil
	}) {
		t.Fatalf("the lost worker's endpoints stay: %v", last)
	}
	if err := waitProxySync(ctx, survivor, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// A request already under way may still time out on a lost endpoint
	// (its connection was set up by the old rules): only those that start
	// after the sync count.
	synced := time.Now()
	waitRequests(ctx, t, l, 20)
	ok, failed, failures, _ := l.stop()
	failedAfter := l.failedSince(synced)
	failedBefore := failed - failedAfter
	t.Logf("worker loss: %d requests answered, %d failed (started before the survivor's proxy dropped the lost endpoints: %d)", ok, failed, failedBefore)
	if failedAfter > 0 {
		t.Errorf("requests still fail once the pods were replaced; first failures:\n%s", strings.Join(failures, "\n"))
	}
	if failedBefore > 0 {
		t.Logf("first failures while the worker was being declared lost:\n%s", strings.Join(failures, "\n"))
	}

	if err := heal(); err != nil {
		t.Fatal(err)
	}
	if !poll(ctx, 2*time.Minute, func() bool {
		last = e.nodeReady(ctx, victim.Name)
		return last == nil
	}) {
		t.Fatalf("%s after healing: %v\n%s", victim.Name, last, victim.AgentLogTail(30))
	}
	// The old pods finish terminating once their node answers again.
	e.waitDeployment(ctx, t, "web", replicas)
	e.ack(ctx, t, 0, "after-worker-loss")
}

// replacedOn reports why the web app does not yet have replicas ready
// pods, all on node, besides pods that are terminating.
func (e *env) replacedOn(ctx context.Context, node string, replicas int) error {
	pods, err := e.webPods(ctx)
	if err != nil {
		return err
	}
	ready := 0
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if p.Spec.NodeName != node {
			return fmt.Errorf("pod %s is still on %s", p.Name, p.Spec.NodeName)
		}
		if runningReady(&p) == nil {
			ready++
		}
	}
	if ready != replicas {
		return fmt.Errorf("%d ready pods on %s, want %d", ready, node, replicas)
	}
	return nil
}

// nodeReady reports why node is not Ready.
func (e *env) nodeReady(ctx context.Context, node string) error {
	n, err := e.api().CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			if cond.Status == corev1.ConditionTrue {
				return nil
			}
			return fmt.Errorf("node %s is Ready=%s: %s", node, cond.Status, cond.Message)
		}
	}
	return fmt.Errorf("node %s has no Ready condition", node)
}

// noEndpointsOn reports why the web Service's EndpointSlices still offer
// an endpoint (ready or serving) on node.
func (e *env) noEndpointsOn(ctx context.Context, node string) error {
	list, err := e.api().DiscoveryV1().EndpointSlices(e.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
	if err != nil {
		return err
	}
	for _, s := range list.Items {
		for _, ep := range s.Endpoints {
			if ep.NodeName == nil || *ep.NodeName != node {
				continue
			}
			c := ep.Conditions
			if (c.Ready != nil && *c.Ready) || (c.Serving != nil && *c.Serving) {
				return fmt.Errorf("endpoint %v on %s is still ready or serving", ep.Addresses, node)
			}
		}
	}
	return nil
}

// waitProxySync waits until h's gantry-proxy has synced its rules at or
// after since (its kubeproxy_sync_proxy_rules_last_timestamp_seconds).
func waitProxySync(ctx context.Context, h *multihost.Host, since time.Time) error {
	const metric = "kubeproxy_sync_proxy_rules_last_timestamp_seconds "
	var last error
	if poll(ctx, 2*time.Minute, func() bool {
		out, err := runCmd(ctx, "curl", "-sS", "--max-time", "3", "--noproxy", "*", h.ProxyMetricsURL)
		if err != nil {
			last = err
			return false
		}
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, metric); ok {
				ts, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					last = err
					return false
				}
				last = fmt.Errorf("last sync at %v, want one after %v", time.Unix(int64(ts), 0), since)
				return ts >= float64(since.Unix())
			}
		}
		last = fmt.Errorf("no %s in %s", strings.TrimSpace(metric), h.ProxyMetricsURL)
		return false
	}) {
		return nil
	}
	return fmt.Errorf("gantry-proxy on %s: %v", h.Name, last)
}
