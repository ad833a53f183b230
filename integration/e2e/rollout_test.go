package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// serviceURL returns the web Service's ClusterIP URL.
func (e *env) serviceURL(ctx context.Context, t *testing.T) string {
	t.Helper()
	svc, err := e.api().CoreV1().Services(e.ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + svc.Spec.ClusterIP + "/"
}

// waitRequests waits until the client has n more successful requests.
func waitRequests(ctx context.Context, t *testing.T, l *load, n int) {
	t.Helper()
	ok0, _ := l.counts()
	if !poll(ctx, time.Minute, func() bool {
		ok, _ := l.counts()
		return ok >= ok0+n
	}) {
		ok, failed := l.counts()
		t.Fatalf("the client got %d answers (%d failures) in a minute, want %d more", ok-ok0, failed, n)
	}
}

// waitVersion polls the web Service from the first host, for a minute,
// until the app of version answers; it returns the last answer and
// whether it was that version's.
func (e *env) waitVersion(ctx context.Context, t *testing.T, version string) (last string, ok bool) {
	t.Helper()
	ok = poll(ctx, time.Minute, func() bool {
		out, err := e.c.Hosts[0].Run(ctx, "curl", "-sS", "--max-time", "3", "--noproxy", "*", e.serviceURL(ctx, t))
		last = out
		return err == nil && strings.HasPrefix(out, version+" ")
	})
	return last, ok
}

// testRollout rolls the web app from v1 to v2 while a client on a worker
// sends requests through the Service VIP without pause: none may fail.
func testRollout(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The client's node answers through the Service before the load
	// starts: the rollout is what must not fail, not the proxy's first
	// programming of a Service it may have learned of a moment ago.
	if last, ok := e.waitVersion(ctx, t, "v1"); !ok {
		t.Fatalf("before the rollout the Service answers %q, want v1", last)
	}
	l := startLoad(ctx, e.c.Hosts[0], e.serviceURL(ctx, t))
	waitRequests(ctx, t, l, 10)
	e.deployWeb(ctx, t, "v2", 4)
	// Only v2 answers once the old pods are gone.
	if last, ok := e.waitVersion(ctx, t, "v2"); !ok {
		t.Errorf("after the rollout the Service answers %q, want v2", last)
	}
	waitRequests(ctx, t, l, 10)
	ok, failed, failures, answers := l.stop()
	t.Logf("rollout: %d requests answered (%v), %d failed", ok, answers, failed)
	if failed > 0 {
		t.Errorf("%d of %d requests failed during the rolling update; first ones:\n%s", failed, ok+failed, strings.Join(failures, "\n"))
	}
	if answers["v1"] == 0 || answers["v2"] == 0 {
		t.Errorf("answers by version %v: want both v1 and v2", answers)
	}
	e.ack(ctx, t, 0, "after-rollout")
}

// testAgentRestart restarts both agents, one killed with SIGKILL and one
// stopped with SIGTERM, while the client keeps sending: no container
// restarts, every pod stays Running and Ready with its container IDs,
// and no request fails.
func testAgentRestart(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before, err := e.snapshotPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l := startLoad(ctx, e.c.Hosts[0], e.serviceURL(ctx, t))
	defer l.stop()
	waitRequests(ctx, t, l, 5)
	for i, h := range e.c.Hosts {
		var err error
		if i == 0 {
			err = h.Agent.Kill()
		} else {
			err = h.Agent.Stop(30 * time.Second)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Agent.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range e.c.Hosts {
		var last error
		if !poll(ctx, time.Minute, func() bool { last = h.AgentHealthy(); return last == nil }) {
			t.Fatalf("agent on %s not healthy after its restart: %v\n%s", h.Name, last, h.AgentLogTail(30))
		}
	}
	// The statuses must stay right while the agents resync: watch them
	// for a while.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		after, err := e.snapshotPods(ctx)
		if err == nil {
			err = samePods(before, after)
		}
		if err != nil {
			t.Fatalf("after the agents' restart: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitRequests(ctx, t, l, 5)
	ok, failed, failures, _ := l.stop()
	t.Logf("agent restart: %d requests answered, %d failed", ok, failed)
	if failed > 0 {
		t.Errorf("%d of %d requests failed while the agents restarted; first ones:\n%s", failed, ok+failed, strings.Join(failures, "\n"))
	}
	e.ack(ctx, t, 0, "after-agent-restart")
}
