package controllers_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// historyRevisions are the revision numbers `kubectl rollout history`
// lists, with their change causes.
func (e *env) historyRevisions(target string) map[string]string {
	e.t.Helper()
	out := e.kubectl("rollout", "history", target)
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && regexp.MustCompile(`^[0-9]+$`).MatchString(f[0]) {
			rows[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return rows
}

// revisionNumbers are the keys of rows, sorted.
func revisionNumbers(rows map[string]string) string {
	var keys []string
	for k := range rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// revisionsOf lists the ControllerRevisions controlled by the object of
// kind named name, by name.
func (e *env) revisionsOf(kind, name string) map[string]appsv1.ControllerRevision {
	e.t.Helper()
	list, err := e.kube.AppsV1().ControllerRevisions("default").List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]appsv1.ControllerRevision{}
	for _, r := range list.Items {
		if ref := metav1.GetControllerOf(&r); ref != nil && ref.Kind == kind && ref.Name == name {
			out[r.Name] = r
		}
	}
	return out
}

// TestRevisionsStatefulSet: every template of a StatefulSet is recorded
// in a ControllerRevision, so kubectl rollout history lists and shows
// them and kubectl rollout undo brings an old template back (renumbered
// as the newest revision); the current revision's template survives a
// restart of the controller in the middle of a partitioned roll-out.
func TestRevisionsStatefulSet(t *testing.T) {
	e := newEnv(t)
	e.startSimulatedNodes("rev", 2)
	e.startScheduler()
	ctl := e.startControllers("--controllers=statefulset")

	const v1, v2, v3 = busybox, "gantry.local/busybox:2", "gantry.local/busybox:3"
	image := func(p *corev1.Pod) string { return p.Spec.Containers[0].Image }
	allAt := func(img string) func() (bool, error) {
		return func() (bool, error) {
			pods := e.stsPods("web")
			for _, p := range pods {
				if image(p) != img || !podRunningReady(p) {
					return false, fmt.Errorf("%s at %s", p.Name, image(p))
				}
			}
			return len(pods) == 2, fmt.Errorf("%d pods", len(pods))
		}
	}
	e.kubectlIn(stsManifest("web", 2, v1, ""), "apply", "-f", "-")
	e.kubectl("rollout", "status", "statefulset/web", "--timeout=90s")
	rev1 := e.sts("web").Status.UpdateRevision

	out := e.kubectl("get", "controllerrevisions")
	if !regexp.MustCompile(`(?m)^NAME\s+CONTROLLER\s+REVISION\s+AGE$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^`+rev1+`\s+statefulset.apps/web\s+1\s+`).MatchString(out) {
		t.Errorf("kubectl get controllerrevisions:\n%s\nwant %s of statefulset.apps/web at revision 1", out, rev1)
	}
	revs := e.revisionsOf("StatefulSet", "web")
	if r, ok := revs[rev1]; !ok || r.Labels["app"] != "web" || r.Labels["controller.kubernetes.io/hash"] == "" {
		t.Errorf("revisions %v, want %s labelled app=web and with its hash", revs, rev1)
	}

	e.patchSts("web", fmt.Sprintf(`{"metadata":{"annotations":{"kubernetes.io/change-cause":"to v2"}},`+
		`"spec":{"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, v2))
	e.kubectl("rollout", "status", "statefulset/web", "--timeout=90s")
	e.eventually(60*time.Second, "all pods at v2", allAt(v2))
	rows := e.historyRevisions("statefulset/web")
	if revisionNumbers(rows) != "1,2" || rows["2"] != "to v2" {
		t.Errorf("rollout history %v, want revisions 1 and 2 (change cause \"to v2\")", rows)
	}
	if out := e.kubectl("rollout", "history", "statefulset/web", "--revision=1"); !regexp.MustCompile(`Image:\s+` + regexp.QuoteMeta(v1) + `\s`).MatchString(out) {
		t.Errorf("revision 1:\n%s\nwant image %s", out, v1)
	}

	out = e.kubectl("rollout", "undo", "statefulset/web", "--to-revision=1")
	if !strings.Contains(out, "statefulset.apps/web rolled back") {
		t.Errorf("undo said %q", out)
	}
	e.kubectl("rollout", "status", "statefulset/web", "--timeout=90s")
	e.eventually(60*time.Second, "all pods back at v1", allAt(v1))
	e.eventually(30*time.Second, "revision 1 renumbered 3 and current", func() (bool, error) {
		s := e.sts("web")
		rows := e.historyRevisions("statefulset/web")
		return stsSynced(s) && s.Status.CurrentRevision == rev1 && s.Status.UpdateRevision == rev1 && revisionNumbers(rows) == "2,3",
			fmt.Errorf("status %s/%s, history %v", s.Status.CurrentRevision, s.Status.UpdateRevision, rows)
	})
	for _, p := range e.stsPods("web") {
		if p.Labels[appsv1.StatefulSetRevisionLabel] != rev1 {
			t.Errorf("%s at revision %s, want %s", p.Name, p.Labels[appsv1.StatefulSetRevisionLabel], rev1)
		}
	}
	// Undoing to the current revision changes nothing. (kubectl skips it
	// when it encodes templates as the server's Kubernetes version does;
	// an older kubectl writes creationTimestamp: null and patches the set
	// with the same template instead.)
	gen := e.sts("web").Generation
	e.kubectl("rollout", "undo", "statefulset/web", "--to-revision=3")
	if s, rows := e.sts("web"), e.historyRevisions("statefulset/web"); s.Generation != gen || revisionNumbers(rows) != "2,3" {
		t.Errorf("undo to the current revision: generation %d (was %d), history %v", s.Generation, gen, rows)
	}

	// A partitioned roll-out to v3: web-1 updated, web-0 not. The
	// controller restarts; web-0, deleted, comes back at v1, the current
	// revision's template, read from its ControllerRevision.
	e.patchSts("web", fmt.Sprintf(`{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}},`+
		`"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, v3))
	e.eventually(60*time.Second, "web-1 at v3, web-0 at v1", func() (bool, error) {
		pods := e.stsPods("web")
		return len(pods) == 2 && image(pods[1]) == v3 && podRunningReady(pods[1]) && image(pods[0]) == v1, nil
	})
	if err := ctl.proc.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	e.startControllers("--controllers=statefulset")
	oldUID := e.replacePod("web-0")
	e.eventually(60*time.Second, "web-0 back", func() (bool, error) {
		p := e.stsPods("web")[0]
		return p != nil && p.UID != oldUID && podRunningReady(p), nil
	})
	if p := e.stsPods("web")[0]; image(p) != v1 || p.Labels[appsv1.StatefulSetRevisionLabel] != rev1 {
		t.Errorf("web-0 re-created at %s (%s) after the restart, want %s (%s)", image(p), p.Labels[appsv1.StatefulSetRevisionLabel], v1, rev1)
	}
	if s := e.sts("web"); s.Status.CurrentRevision != rev1 {
		t.Errorf("current revision %s after the restart, want %s", s.Status.CurrentRevision, rev1)
	}
}

// TestRevisionsDaemonSet: kubectl rollout history and undo work for a
// DaemonSet; an undo renumbers the old revision and bumps the template
// generation; revisions beyond revisionHistoryLimit are deleted.
func TestRevisionsDaemonSet(t *testing.T) {
	e := newEnv(t)
	e.startScheduler()
	e.startSimulatedNodes("rvd", 2)
	e.startControllers("--controllers=daemonset")
	nodes := []string{"rvd-0", "rvd-1"}

	const v2, v3 = "gantry.local/busybox:v2", "gantry.local/busybox:v3"
	imagesAre := func(img string) func() (bool, error) {
		return func() (bool, error) {
			n := 0
			for node, pods := range e.dsPods("x") {
				for _, p := range pods {
					if p.Spec.Containers[0].Image != img || !dsRunningReady(&p) {
						return false, fmt.Errorf("pod %s on %s at %s", p.Name, node, p.Spec.Containers[0].Image)
					}
					n++
				}
			}
			return n == len(nodes), fmt.Errorf("%d pods", n)
		}
	}
	e.kubectlIn(dsManifest("x", "", "  revisionHistoryLimit: 1\n"), "apply", "-f", "-")
	e.dsAwait("x", 2, nodes...)
	if g := e.kubectl("get", "ds", "x", "-o", `jsonpath={.metadata.annotations.deprecated\.daemonset\.template\.generation}`); g != "1" {
		t.Errorf("template generation %q, want 1", g)
	}

	e.kubectl("set", "image", "ds/x", "main="+v2)
	e.kubectl("rollout", "status", "ds/x", "--timeout=90s")
	e.eventually(60*time.Second, "pods at v2", imagesAre(v2))
	if rows := e.historyRevisions("ds/x"); revisionNumbers(rows) != "1,2" {
		t.Errorf("rollout history %v, want revisions 1 and 2", rows)
	}
	if out := e.kubectl("rollout", "history", "ds/x", "--revision=2"); !strings.Contains(out, v2) {
		t.Errorf("revision 2:\n%s\nwant image %s", out, v2)
	}

	out := e.kubectl("rollout", "undo", "ds/x", "--to-revision=1")
	if !strings.Contains(out, "daemonset.apps/x rolled back") {
		t.Errorf("undo said %q", out)
	}
	e.kubectl("rollout", "status", "ds/x", "--timeout=90s")
	e.eventually(60*time.Second, "pods back at the first image", imagesAre(busybox))
	e.eventually(30*time.Second, "history 2,3", func() (bool, error) {
		rows := e.historyRevisions("ds/x")
		return revisionNumbers(rows) == "2,3", fmt.Errorf("history %v", rows)
	})
	for _, pods := range e.dsPods("x") {
		if g := pods[0].Labels["pod-template-generation"]; g != "3" {
			t.Errorf("pod %s at template generation %s, want 3", pods[0].Name, g)
		}
	}
	ds, err := e.kube.AppsV1().DaemonSets("default").Get(e.ctx, "x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.kubectl("rollout", "undo", "ds/x", "--to-revision=3")
	if now := e.dsAwaitGeneration("x"); now.Generation != ds.Generation || revisionNumbers(e.historyRevisions("ds/x")) != "2,3" {
		t.Errorf("undo to the current revision: generation %d (was %d)", now.Generation, ds.Generation)
	}

	// A third template: with revisionHistoryLimit 1, the oldest unused
	// revision (2) goes.
	e.kubectl("set", "image", "ds/x", "main="+v3)
	e.kubectl("rollout", "status", "ds/x", "--timeout=90s")
	e.eventually(60*time.Second, "pods at v3", imagesAre(v3))
	e.eventually(30*time.Second, "history 3,4", func() (bool, error) {
		rows := e.historyRevisions("ds/x")
		return revisionNumbers(rows) == "3,4", fmt.Errorf("history %v", rows)
	})
	if n := len(e.revisionsOf("DaemonSet", "x")); n != 2 {
		t.Errorf("%d revisions of ds/x, want 2", n)
	}
}
