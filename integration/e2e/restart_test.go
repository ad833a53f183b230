package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// objects returns kind/namespace/name → UID of what the test namespace
// holds, and of the nodes.
func (e *env) objects(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	add := func(kind string, items []metav1.Object) {
		for _, o := range items {
			out[kind+"/"+o.GetNamespace()+"/"+o.GetName()] = string(o.GetUID())
		}
	}
	api := e.api()
	opts := metav1.ListOptions{}
	cms, err := api.CoreV1().ConfigMaps(e.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	add("configmap", objs(cms.Items))
	svcs, err := api.CoreV1().Services(e.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	add("service", objs(svcs.Items))
	deps, err := api.AppsV1().Deployments(e.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	add("deployment", objs(deps.Items))
	rss, err := api.AppsV1().ReplicaSets(e.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	add("replicaset", objs(rss.Items))
	pods, err := api.CoreV1().Pods(e.ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	add("pod", objs(pods.Items))
	nodes, err := api.CoreV1().Nodes().List(ctx, opts)
	if err != nil {
		return nil, err
	}
	add("node", objs(nodes.Items))
	return out, nil
}

func objs[T any, PT interface {
	*T
	metav1.Object
}](items []T) []metav1.Object {
	out := make([]metav1.Object, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}

// testFullRestart stops every Gantry process of the cluster — proxies,
// agents, schedulers, controllers, API servers, store members — and
// starts them all again from their data. Every object comes back with
// its UID, no container is restarted, the Service answers and the
// cluster accepts changes.
func testFullRestart(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := e.c
	before, err := e.objects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := e.snapshotPods(ctx)
	if err != nil {
		t.Fatal(err)
	}

	stop := func(name string, f func() error) {
		if err := f(); err != nil {
			t.Errorf("stop %s: %v", name, err)
		}
	}
	for _, h := range c.Hosts {
		stop("proxy on "+h.Name, func() error { return h.Proxy.Stop(30 * time.Second) })
		stop("agent on "+h.Name, func() error { return h.Agent.Stop(30 * time.Second) })
	}
	for _, ch := range c.ControlHosts {
		stop("scheduler on "+ch.Name, func() error { return ch.Scheduler.Stop(30 * time.Second) })
		stop("controllers on "+ch.Name, func() error { return ch.Controllers.Stop(30 * time.Second) })
		stop("API server on "+ch.Name, ch.APIServer.Stop)
	}
	for _, ch := range c.ControlHosts {
		stop("store member on "+ch.Name, ch.Store.Stop)
	}
	if t.Failed() {
		t.FailNow()
	}

	start := func(name string, f func() error) {
		if err := f(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
	}
	for _, ch := range c.ControlHosts {
		start("store member on "+ch.Name, ch.Store.Restart)
	}
	for _, ch := range c.ControlHosts {
		start("API server on "+ch.Name, ch.APIServer.Restart)
		start("controllers on "+ch.Name, ch.Controllers.Restart)
		start("scheduler on "+ch.Name, ch.Scheduler.Restart)
	}
	for _, h := range c.Hosts {
		start("agent on "+h.Name, h.Agent.Restart)
		start("proxy on "+h.Name, h.Proxy.Restart)
	}
	if err := e.waitControlPlane(ctx); err != nil {
		t.Fatal(err)
	}
	for _, h := range c.Hosts {
		var last error
		if !poll(ctx, 2*time.Minute, func() bool {
			if last = h.AgentHealthy(); last == nil {
				last = e.nodeReady(ctx, h.Name)
			}
			return last == nil
		}) {
			t.Fatalf("%s after the restart: %v\n%s", h.Name, last, h.AgentLogTail(30))
		}
	}

	after, err := e.objects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, uid := range before {
		if after[k] != uid {
			t.Errorf("%s: UID %s before the restart, %q after", k, uid, after[k])
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s appeared across the restart", k)
		}
	}
	var last error
	if !poll(ctx, 2*time.Minute, func() bool {
		var now map[string]podState
		if now, last = e.snapshotPods(ctx); last == nil {
			last = samePods(pods, now)
		}
		return last == nil
	}) {
		t.Errorf("pods after the restart: %v", last)
	}
	l := startLoad(ctx, c.Hosts[0], e.serviceURL(ctx, t))
	waitRequests(ctx, t, l, 10)
	ok, failed, failures, _ := l.stop()
	t.Logf("after the restart: %d requests answered, %d failed", ok, failed)
	if failed > 0 {
		t.Errorf("%d requests failed after the restart: %v", failed, failures)
	}
	e.ack(ctx, t, 0, "after-restart")
	d, err := e.webDeployment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := *d.Spec.Replicas + 1
	e.scale(ctx, t, 0, n)
	e.waitDeployment(ctx, t, "web", n)
	t.Log(fmt.Sprintf("scaled to %d after the restart", n))
}
