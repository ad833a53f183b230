package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

const (
	depRevision    = "deployment.kubernetes.io/revision"
	depChangeCause = "kubernetes.io/change-cause"
	depHashLabel   = "pod-template-hash"
)

// depManifest returns a RollingUpdate Deployment of n pods labelled
// app=name running image in a container named main.
func depManifest(name string, n int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
			},
		},
	}
}

// depStart runs the scheduler, simulated nodes and the replicaset and
// deployment controllers.
func depStart(t *testing.T, nodes int) *env {
	e := newEnv(t)
	e.startScheduler()
	e.startSimulatedNodes("dep", nodes)
	e.startControllers("--controllers=replicaset,deployment")
	return e
}

func (e *env) depCreate(d *appsv1.Deployment) *appsv1.Deployment {
	e.t.Helper()
	out, err := e.kube.AppsV1().Deployments("default").Create(e.ctx, d, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create deployment %s: %v", d.Name, err)
	}
	return out
}

func (e *env) depGet(name string) *appsv1.Deployment {
	e.t.Helper()
	d, err := e.kube.AppsV1().Deployments("default").Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get deployment %s: %v", name, err)
	}
	return d
}

// depUpdate applies change to Deployment name, retrying conflicts.
func (e *env) depUpdate(name string, change func(*appsv1.Deployment)) *appsv1.Deployment {
	e.t.Helper()
	for {
		d := e.depGet(name)
		change(d)
		out, err := e.kube.AppsV1().Deployments("default").Update(e.ctx, d, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			e.t.Fatalf("update deployment %s: %v", name, err)
		}
		return out
	}
}

// depSetImage changes the image of Deployment name (and its change-cause
// annotation when cause is set).
func (e *env) depSetImage(name, image, cause string) {
	e.t.Helper()
	e.depUpdate(name, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = image
		if cause != "" {
			if d.Annotations == nil {
				d.Annotations = map[string]string{}
			}
			d.Annotations[depChangeCause] = cause
		}
	})
}

// depRolledOut reports whether d's status shows its rollout complete, as
// kubectl rollout status judges it.
func depRolledOut(d *appsv1.Deployment) (bool, error) {
	st := d.Status
	if d.Generation > st.ObservedGeneration {
		return false, fmt.Errorf("generation %d not observed (%d)", d.Generation, st.ObservedGeneration)
	}
	n := *d.Spec.Replicas
	ok := st.UpdatedReplicas == n && st.Replicas == n && st.AvailableReplicas == n
	return ok, fmt.Errorf("replicas %d: status %d updated, %d total, %d available", n, st.UpdatedReplicas, st.Replicas, st.AvailableReplicas)
}

// depAwaitRolledOut waits until Deployment name is rolled out.
func (e *env) depAwaitRolledOut(name string) *appsv1.Deployment {
	e.t.Helper()
	var d *appsv1.Deployment
	e.eventually(90*time.Second, "deployment "+name+" rolled out", func() (bool, error) {
		var err error
		if d, err = e.kube.AppsV1().Deployments("default").Get(e.ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		return depRolledOut(d)
	})
	return d
}

// depReplicaSets returns the ReplicaSets Deployment d controls, by
// ascending revision.
func (e *env) depReplicaSets(d *appsv1.Deployment) []appsv1.ReplicaSet {
	e.t.Helper()
	list, err := e.kube.AppsV1().ReplicaSets("default").List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == d.UID {
			out = append(out, rs)
		}
	}
	slices.SortFunc(out, func(a, b appsv1.ReplicaSet) int { return depRev(&a) - depRev(&b) })
	return out
}

func depRev(obj metav1.Object) int {
	n, _ := strconv.Atoi(obj.GetAnnotations()[depRevision])
	return n
}

// depImages renders ReplicaSets as "revision:image:replicas".
func depImages(rss []appsv1.ReplicaSet) []string {
	var out []string
	for _, rs := range rss {
		out = append(out, fmt.Sprintf("%d:%s:%d", depRev(&rs), rs.Spec.Template.Spec.Containers[0].Image, *rs.Spec.Replicas))
	}
	return out
}

// depCondition returns d's condition of type t, or nil.
func depCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// depEvents returns the messages of events of reason about name.
func (e *env) depEvents(name, reason string) []string {
	e.t.Helper()
	evs, err := e.kube.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Name == name && ev.Reason == reason {
			out = append(out, ev.Message)
		}
	}
	return out
}

// depAwaitEvent waits for an event of reason about name whose message
// contains text.
func (e *env) depAwaitEvent(name, reason, text string) {
	e.t.Helper()
	e.eventually(15*time.Second, fmt.Sprintf("event %s %q on %s", reason, text, name), func() (bool, error) {
		msgs := e.depEvents(name, reason)
		for _, m := range msgs {
			if strings.Contains(m, text) {
				return true, nil
			}
		}
		return false, fmt.Errorf("events: %q", msgs)
	})
}

// depBounds watches the pods and ReplicaSets labelled app=<app> and
// records every moment the rollout leaves its bounds.
type depBounds struct {
	maxPods, minReady int

	mu         sync.Mutex
	pods       map[string]*corev1.Pod
	rsSpec     map[string]int32
	hashes     map[string]bool
	violations []string
	events     int
}

func depActive(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func depReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// depWatchBounds starts checking, at every pod and ReplicaSet change,
// that no more than maxPods pods are active (not being deleted), that at
// least minReady of them are ready, and that the ReplicaSets' replicas
// add up to no more than maxPods.
func (e *env) depWatchBounds(app string, maxPods, minReady int) *depBounds {
	e.t.Helper()
	b := &depBounds{maxPods: maxPods, minReady: minReady, pods: map[string]*corev1.Pod{}, rsSpec: map[string]int32{}, hashes: map[string]bool{}}
	sel := metav1.ListOptions{LabelSelector: "app=" + app}
	pods, err := e.kube.CoreV1().Pods("default").List(e.ctx, sel)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range pods.Items {
		b.pods[pods.Items[i].Name] = &pods.Items[i]
	}
	rss, err := e.kube.AppsV1().ReplicaSets("default").List(e.ctx, sel)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, rs := range rss.Items {
		b.rsSpec[rs.Name] = *rs.Spec.Replicas
	}
	b.check("start")
	ctx, cancel := context.WithCancel(e.ctx)
	podOpts, rsOpts := sel, sel
	podOpts.ResourceVersion, rsOpts.ResourceVersion = pods.ResourceVersion, rss.ResourceVersion
	pw, err := e.kube.CoreV1().Pods("default").Watch(ctx, podOpts)
	if err != nil {
		e.t.Fatal(err)
	}
	rw, err := e.kube.AppsV1().ReplicaSets("default").Watch(ctx, rsOpts)
	if err != nil {
		e.t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev := range pw.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				b.observePod(ev.Type, p)
			}
		}
	})
	wg.Go(func() {
		for ev := range rw.ResultChan() {
			if rs, ok := ev.Object.(*appsv1.ReplicaSet); ok {
				b.observeRS(ev.Type, rs)
			}
		}
	})
	e.t.Cleanup(func() {
		cancel()
		pw.Stop()
		rw.Stop()
		wg.Wait()
	})
	return b
}

func (b *depBounds) observePod(typ watch.EventType, p *corev1.Pod) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events++
	if typ == watch.Deleted {
		delete(b.pods, p.Name)
	} else {
		b.pods[p.Name] = p
	}
	b.hashes[p.Labels[depHashLabel]] = true
	b.check(fmt.Sprintf("%s pod %s", typ, p.Name))
}

func (b *depBounds) observeRS(typ watch.EventType, rs *appsv1.ReplicaSet) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events++
	if typ == watch.Deleted {
		delete(b.rsSpec, rs.Name)
	} else {
		b.rsSpec[rs.Name] = *rs.Spec.Replicas
	}
	var sum int32
	for _, n := range b.rsSpec {
		sum += n
	}
	if int(sum) > b.maxPods {
		b.violations = append(b.violations, fmt.Sprintf("%s replica set %s: replica sets want %d pods (max %d): %v",
			typ, rs.Name, sum, b.maxPods, b.rsSpec))
	}
}

// check records a violation of the pod bounds; b.mu is held.
func (b *depBounds) check(what string) {
	active, ready := 0, 0
	for _, p := range b.pods {
		if depActive(p) {
			active++
			if depReady(p) {
				ready++
			}
		}
	}
	if active > b.maxPods || ready < b.minReady {
		b.violations = append(b.violations, fmt.Sprintf("%s: %d active pods (max %d), %d ready (min %d)",
			what, active, b.maxPods, ready, b.minReady))
	}
}

// result returns the violations and how many template hashes the pods
// had.
func (b *depBounds) result() ([]string, int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.violations), len(b.hashes), b.events
}

// TestDeploymentRollingUpdate: a rolling update replaces every pod while
// never running more than replicas+maxSurge pods nor fewer than
// replicas-maxUnavailable ready ones (checked at every pod change), with
// maxSurge and maxUnavailable as numbers or percents (surge rounded up,
// unavailable down).
func TestDeploymentRollingUpdate(t *testing.T) {
	e := depStart(t, 3)
	for _, tc := range []struct {
		name               string
		replicas           int32
		surge, unavailable string
		maxPods, minReady  int
	}{
		{name: "ints", replicas: 4, surge: "1", unavailable: "1", maxPods: 5, minReady: 3},
		{name: "percents", replicas: 10, surge: "25%", unavailable: "25%", maxPods: 13, minReady: 8},
		{name: "surge-only", replicas: 3, surge: "1", unavailable: "0", maxPods: 4, minReady: 3},
		{name: "unavailable-only", replicas: 3, surge: "0", unavailable: "34%", maxPods: 3, minReady: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := depManifest(tc.name, tc.replicas, busybox)
			s, u := intstr.Parse(tc.surge), intstr.Parse(tc.unavailable)
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u}}
			e.depCreate(d)
			d = e.depAwaitRolledOut(tc.name)
			first := e.depReplicaSets(d)
			if len(first) != 1 || depRev(&first[0]) != 1 || depRev(d) != 1 {
				t.Fatalf("after creation: replica sets %v, deployment revision %q", depImages(first), d.Annotations[depRevision])
			}
			e.depAwaitEvent(tc.name, "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 0 to", first[0].Name))

			bounds := e.depWatchBounds(tc.name, tc.maxPods, tc.minReady)
			e.depSetImage(tc.name, "gantry.local/busybox:v2", "")
			d = e.depAwaitRolledOut(tc.name)
			// The last pods' changes may still be on their way.
			e.eventually(30*time.Second, "old pods gone", func() (bool, error) {
				pods, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + tc.name})
				if err != nil {
					return false, err
				}
				return len(pods.Items) == int(tc.replicas), fmt.Errorf("%d pods", len(pods.Items))
			})
			violations, hashes, events := bounds.result()
			if len(violations) > 0 {
				t.Errorf("%d bound violations during the rollout:\n%s", len(violations), strings.Join(violations, "\n"))
			}
			if hashes != 2 || events == 0 {
				t.Errorf("the watch saw %d events, pods of %d templates; want both templates", events, hashes)
			}

			rss := e.depReplicaSets(d)
			if got := depImages(rss); !slices.Equal(got, []string{"1:" + busybox + ":0", fmt.Sprintf("2:gantry.local/busybox:v2:%d", tc.replicas)}) {
				t.Errorf("replica sets = %v", got)
			}
			for _, rs := range rss {
				hash := rs.Labels[depHashLabel]
				if hash == "" || rs.Name != tc.name+"-"+hash || rs.Spec.Selector.MatchLabels[depHashLabel] != hash ||
					rs.Spec.Template.Labels[depHashLabel] != hash {
					t.Errorf("replica set %s: labels %v, selector %v, template labels %v", rs.Name, rs.Labels,
						rs.Spec.Selector.MatchLabels, rs.Spec.Template.Labels)
				}
				if rs.Annotations["deployment.kubernetes.io/desired-replicas"] != strconv.Itoa(int(tc.replicas)) ||
					rs.Annotations["deployment.kubernetes.io/max-replicas"] != strconv.Itoa(tc.maxPods) {
					t.Errorf("replica set %s annotations %v", rs.Name, rs.Annotations)
				}
			}
			if depRev(d) != 2 {
				t.Errorf("deployment revision %q, want 2", d.Annotations[depRevision])
			}
			e.eventually(10*time.Second, "Progressing NewReplicaSetAvailable", func() (bool, error) {
				d := e.depGet(tc.name)
				c, a := depCondition(d, appsv1.DeploymentProgressing), depCondition(d, appsv1.DeploymentAvailable)
				want := fmt.Sprintf("ReplicaSet %q has successfully progressed.", rss[1].Name)
				return c != nil && c.Reason == "NewReplicaSetAvailable" && c.Message == want &&
					a != nil && a.Status == corev1.ConditionTrue && a.Reason == "MinimumReplicasAvailable", fmt.Errorf("conditions %+v", d.Status.Conditions)
			})
			e.depAwaitEvent(tc.name, "ScalingReplicaSet", fmt.Sprintf("Scaled down replica set %s from", rss[0].Name))
			e.depAwaitEvent(tc.name, "ScalingReplicaSet", fmt.Sprintf("to 0"))
		})
	}
}

// TestDeploymentRollback: kubectl rollout undo patches an earlier
// template back; the controller reuses that revision's ReplicaSet and
// gives it the next revision; --to-revision picks any.
func TestDeploymentRollback(t *testing.T) {
	e := depStart(t, 2)
	d := depManifest("undo", 2, "gantry.local/busybox:v1")
	d.Annotations = map[string]string{depChangeCause: "first"}
	e.depCreate(d)
	e.depAwaitRolledOut("undo")
	e.depSetImage("undo", "gantry.local/busybox:v2", "to v2")
	e.depAwaitRolledOut("undo")
	e.depSetImage("undo", "gantry.local/busybox:v3", "to v3")
	d = e.depAwaitRolledOut("undo")
	if got := depImages(e.depReplicaSets(d)); !slices.Equal(got, []string{
		"1:gantry.local/busybox:v1:0", "2:gantry.local/busybox:v2:0", "3:gantry.local/busybox:v3:2"}) {
		t.Fatalf("replica sets = %v", got)
	}
	hist := e.kubectl("rollout", "history", "deployment/undo")
	for _, want := range []string{"first", "to v2", "to v3"} {
		if !strings.Contains(hist, want) {
			t.Errorf("rollout history lacks %q:\n%s", want, hist)
		}
	}

	out := e.kubectl("rollout", "undo", "deployment/undo")
	if !strings.Contains(out, "rolled back") {
		t.Errorf("rollout undo said %q", out)
	}
	d = e.depAwaitRolledOut("undo")
	e.eventually(10*time.Second, "revision 4 on v2", func() (bool, error) {
		d = e.depGet("undo")
		got := depImages(e.depReplicaSets(d))
		return slices.Equal(got, []string{"1:gantry.local/busybox:v1:0", "3:gantry.local/busybox:v3:0", "4:gantry.local/busybox:v2:2"}) &&
			depRev(d) == 4, fmt.Errorf("replica sets %v, deployment revision %d", got, depRev(d))
	})
	v2 := e.depReplicaSets(d)[2]
	if h := v2.Annotations["deployment.kubernetes.io/revision-history"]; h != "2" {
		t.Errorf("revision-history of %s = %q, want 2", v2.Name, h)
	}
	if d.Annotations[depChangeCause] != "to v2" || v2.Annotations[depChangeCause] != "to v2" {
		t.Errorf("change-cause: deployment %q, replica set %q; want \"to v2\"", d.Annotations[depChangeCause], v2.Annotations[depChangeCause])
	}

	e.kubectl("rollout", "undo", "deployment/undo", "--to-revision=1")
	e.depAwaitRolledOut("undo")
	e.eventually(10*time.Second, "revision 5 on v1", func() (bool, error) {
		d = e.depGet("undo")
		got := depImages(e.depReplicaSets(d))
		return slices.Equal(got, []string{"3:gantry.local/busybox:v3:0", "4:gantry.local/busybox:v2:0", "5:gantry.local/busybox:v1:2"}) &&
			depRev(d) == 5, fmt.Errorf("replica sets %v, deployment revision %d", got, depRev(d))
	})
	hist = e.kubectl("rollout", "history", "deployment/undo")
	for _, want := range []string{"3 ", "4 ", "5 "} {
		if !strings.Contains(hist, want) {
			t.Errorf("rollout history lacks revision %q:\n%s", want, hist)
		}
	}
}

// TestDeploymentPaused: a paused Deployment does not roll a new template
// out, still follows replicas, and rolls out once resumed.
func TestDeploymentPaused(t *testing.T) {
	e := depStart(t, 2)
	e.depCreate(depManifest("paused", 2, "gantry.local/busybox:v1"))
	d := e.depAwaitRolledOut("paused")
	e.kubectl("rollout", "pause", "deployment/paused")
	e.kubectl("set", "image", "deployment/paused", "main=gantry.local/busybox:v2")
	e.eventually(15*time.Second, "the paused change observed", func() (bool, error) {
		d = e.depGet("paused")
		c := depCondition(d, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && c != nil && c.Reason == "DeploymentPaused" &&
			c.Status == corev1.ConditionUnknown, fmt.Errorf("status %+v", d.Status)
	})
	if got := depImages(e.depReplicaSets(d)); !slices.Equal(got, []string{"1:gantry.local/busybox:v1:2"}) {
		t.Fatalf("paused, yet replica sets are %v", got)
	}

	e.kubectl("scale", "deployment/paused", "--replicas=3")
	e.eventually(30*time.Second, "scaled while paused", func() (bool, error) {
		d = e.depGet("paused")
		got := depImages(e.depReplicaSets(d))
		return slices.Equal(got, []string{"1:gantry.local/busybox:v1:3"}) && d.Status.AvailableReplicas == 3 &&
			d.Status.ObservedGeneration == d.Generation, fmt.Errorf("replica sets %v, status %+v", got, d.Status)
	})

	e.kubectl("rollout", "resume", "deployment/paused")
	d = e.depAwaitRolledOut("paused")
	if got := depImages(e.depReplicaSets(d)); !slices.Equal(got, []string{"1:gantry.local/busybox:v1:0", "2:gantry.local/busybox:v2:3"}) {
		t.Errorf("after resuming, replica sets are %v", got)
	}
	e.eventually(10*time.Second, "Progressing NewReplicaSetAvailable", func() (bool, error) {
		c := depCondition(e.depGet("paused"), appsv1.DeploymentProgressing)
		return c != nil && c.Reason == "NewReplicaSetAvailable", fmt.Errorf("Progressing %+v", c)
	})
}

// TestDeploymentRecreate: with the Recreate strategy no new pod exists
// while an old one does.
func TestDeploymentRecreate(t *testing.T) {
	e := depStart(t, 2)
	d := depManifest("recreate", 3, "gantry.local/busybox:v1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	e.depCreate(d)
	d = e.depAwaitRolledOut("recreate")
	oldHash := e.depReplicaSets(d)[0].Labels[depHashLabel]

	// Watch for a new pod appearing beside an old one.
	pods, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=recreate"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]*corev1.Pod{}
	for i := range pods.Items {
		seen[pods.Items[i].Name] = &pods.Items[i]
	}
	var violations []string
	ctx, cancel := context.WithCancel(e.ctx)
	w, err := e.kube.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=recreate", ResourceVersion: pods.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			if ev.Type == watch.Deleted {
				delete(seen, p.Name)
			} else {
				seen[p.Name] = p
			}
			var old, fresh int
			for _, q := range seen {
				if q.Labels[depHashLabel] == oldHash {
					old++
				} else {
					fresh++
				}
			}
			if old > 0 && fresh > 0 {
				violations = append(violations, fmt.Sprintf("%s %s: %d old and %d new pods", ev.Type, p.Name, old, fresh))
			}
			mu.Unlock()
		}
	})
	defer func() { cancel(); w.Stop(); wg.Wait() }()

	e.depSetImage("recreate", "gantry.local/busybox:v2", "")
	d = e.depAwaitRolledOut("recreate")
	if got := depImages(e.depReplicaSets(d)); !slices.Equal(got, []string{"1:gantry.local/busybox:v1:0", "2:gantry.local/busybox:v2:3"}) {
		t.Errorf("replica sets = %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("old and new pods together:\n%s", strings.Join(violations, "\n"))
	}
}

// TestDeploymentProgressDeadline: pods that never become ready (an image
// that cannot be pulled) make the Deployment report
// ProgressDeadlineExceeded, and kubectl rollout status fail.
func TestDeploymentProgressDeadline(t *testing.T) {
	e := depStart(t, 1)
	d := depManifest("stuck", 2, "gantry.local/missing:1")
	d.Spec.ProgressDeadlineSeconds = new(int32)
	*d.Spec.ProgressDeadlineSeconds = 4
	e.depCreate(d)
	e.eventually(60*time.Second, "ProgressDeadlineExceeded", func() (bool, error) {
		d = e.depGet("stuck")
		c := depCondition(d, appsv1.DeploymentProgressing)
		return c != nil && c.Reason == "ProgressDeadlineExceeded", fmt.Errorf("Progressing %+v", c)
	})
	rss := e.depReplicaSets(d)
	if len(rss) != 1 {
		t.Fatalf("%d replica sets", len(rss))
	}
	c := depCondition(d, appsv1.DeploymentProgressing)
	if want := fmt.Sprintf("ReplicaSet %q has timed out progressing.", rss[0].Name); c.Status != corev1.ConditionFalse || c.Message != want {
		t.Errorf("Progressing = %+v, want False %q", c, want)
	}
	if a := depCondition(d, appsv1.DeploymentAvailable); a == nil || a.Status != corev1.ConditionFalse || a.Reason != "MinimumReplicasUnavailable" {
		t.Errorf("Available = %+v", a)
	}
	out, errOut, err := e.cp.Kubectl(e.ctx, nil, "rollout", "status", "deployment/stuck", "--timeout=30s")
	if err == nil || !strings.Contains(out+errOut, "exceeded its progress deadline") {
		t.Errorf("kubectl rollout status: err %v, output %s%s", err, out, errOut)
	}
}

// TestDeploymentProportionalScaling: scaling a Deployment in the middle
// of a (stuck) rollout shares the new replicas between its ReplicaSets in
// proportion.
func TestDeploymentProportionalScaling(t *testing.T) {
	e := depStart(t, 3)
	d := depManifest("prop", 10, "gantry.local/busybox:v1")
	s, u := intstr.FromInt32(3), intstr.FromInt32(2)
	d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u}
	e.depCreate(d)
	e.depAwaitRolledOut("prop")
	e.depSetImage("prop", "gantry.local/missing:2", "")
	// 13 pods at most, 8 available at least: the new pods never become
	// ready, so the rollout stops at 8 old and 5 new.
	e.eventually(60*time.Second, "the rollout stuck at 8 old, 5 new", func() (bool, error) {
		got := depImages(e.depReplicaSets(e.depGet("prop")))
		return slices.Equal(got, []string{"1:gantry.local/busybox:v1:8", "2:gantry.local/missing:2:5"}), fmt.Errorf("replica sets %v", got)
	})
	e.kubectl("scale", "deployment/prop", "--replicas=20")
	// 23 pods at most now, 10 more, shared by size: 8 -> round(8*23/13)
	// = 14, and 5 -> 9 (the remaining 4).
	e.eventually(60*time.Second, "14 old, 9 new", func() (bool, error) {
		got := depImages(e.depReplicaSets(e.depGet("prop")))
		return slices.Equal(got, []string{"1:gantry.local/busybox:v1:14", "2:gantry.local/missing:2:9"}), fmt.Errorf("replica sets %v", got)
	})
	for _, rs := range e.depReplicaSets(e.depGet("prop")) {
		if rs.Annotations["deployment.kubernetes.io/desired-replicas"] != "20" || rs.Annotations["deployment.kubernetes.io/max-replicas"] != "23" {
			t.Errorf("replica set %s annotations %v", rs.Name, rs.Annotations)
		}
	}
}

// TestDeploymentRevisionHistoryLimit: old ReplicaSets beyond
// revisionHistoryLimit are deleted, the oldest revisions first.
func TestDeploymentRevisionHistoryLimit(t *testing.T) {
	e := depStart(t, 1)
	d := depManifest("history", 1, "gantry.local/busybox:v1")
	d.Spec.RevisionHistoryLimit = new(int32)
	*d.Spec.RevisionHistoryLimit = 1
	e.depCreate(d)
	e.depAwaitRolledOut("history")
	for _, v := range []string{"v2", "v3", "v4"} {
		e.depSetImage("history", "gantry.local/busybox:"+v, "")
		e.depAwaitRolledOut("history")
	}
	e.eventually(30*time.Second, "two replica sets left", func() (bool, error) {
		got := depImages(e.depReplicaSets(e.depGet("history")))
		return slices.Equal(got, []string{"3:gantry.local/busybox:v3:0", "4:gantry.local/busybox:v4:1"}), fmt.Errorf("replica sets %v", got)
	})
}
