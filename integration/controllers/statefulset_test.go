package controllers_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// stsManifest is a headless Service and a StatefulSet of that name with
// the given spec additions (YAML lines indented under spec:).
func stsManifest(name string, replicas int, image, extraSpec string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  clusterIP: None
  selector:
    app: %[1]s
  ports:
  - name: web
    port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: %[1]s
spec:
  serviceName: %[1]s
  replicas: %[2]d
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
      - name: main
        image: %[3]s
%[4]s`, name, replicas, image, extraSpec)
}

// stsPods returns the pods of set name by ordinal.
func (e *env) stsPods(name string) map[int]*corev1.Pod {
	e.t.Helper()
	list, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int]*corev1.Pod{}
	for i := range list.Items {
		if ord := stsOrdinal(name, list.Items[i].Name); ord >= 0 {
			out[ord] = &list.Items[i]
		}
	}
	return out
}

func (e *env) sts(name string) *appsv1.StatefulSet {
	e.t.Helper()
	s, err := e.kube.AppsV1().StatefulSets("default").Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) patchSts(name, patch string) {
	e.t.Helper()
	if _, err := e.kube.AppsV1().StatefulSets("default").Patch(e.ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		e.t.Fatalf("patch statefulset %s: %v", name, err)
	}
}

// stsSynced reports whether the controller has written the status of set
// name's latest spec.
func stsSynced(s *appsv1.StatefulSet) bool {
	return s.Status.ObservedGeneration == s.Generation
}

// awaitStsEvent waits for an event about set name with reason and
// message.
func (e *env) awaitStsEvent(name, reason, message string) {
	e.t.Helper()
	e.eventually(30*time.Second, fmt.Sprintf("event %s %q", reason, message), func() (bool, error) {
		evs, err := e.kube.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return false, err
		}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Kind == "StatefulSet" && ev.Reason == reason && ev.Message == message {
				return true, nil
			}
		}
		return false, nil
	})
}

// replacePod deletes a pod (for its set to re-create) and returns its
// UID.
func (e *env) replacePod(name string) types.UID {
	e.t.Helper()
	pod, err := e.kube.CoreV1().Pods("default").Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return pod.UID
}

var stsPodName = regexp.MustCompile(`^(.*)-([0-9]+)$`)

func stsOrdinal(set, pod string) int {
	m := stsPodName.FindStringSubmatch(pod)
	if m == nil || m[1] != set {
		return -1
	}
	n, _ := strconv.Atoi(m[2])
	return n
}

func podRunningReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// stsWatch follows the pods of one set through a watch and checks
// OrderedReady's promises on every event, in the store's order: a pod is
// created only when every lower ordinal is Running and Ready, and (while
// scaleDown is on) a pod starts terminating only when no higher ordinal
// exists.
type stsWatch struct {
	set string

	mu         sync.Mutex
	pods       map[int]*corev1.Pod
	created    []string // names, in creation order
	terminated []string // names, in the order their deletion started
	scaleDown  bool
	violations []string
}

func (e *env) watchSts(set string) *stsWatch {
	e.t.Helper()
	list, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + set})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(list.Items) > 0 {
		e.t.Fatalf("set %s has pods already", set)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	w, err := e.kube.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=" + set, ResourceVersion: list.ResourceVersion})
	if err != nil {
		e.t.Fatal(err)
	}
	sw := &stsWatch{set: set, pods: map[int]*corev1.Pod{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			sw.observe(ev.Type, pod)
		}
	}()
	e.t.Cleanup(func() {
		cancel()
		w.Stop()
		<-done
	})
	return sw
}

func (w *stsWatch) observe(typ watch.EventType, pod *corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ord := stsOrdinal(w.set, pod.Name)
	if ord < 0 {
		return
	}
	prev := w.pods[ord]
	switch typ {
	case watch.Added:
		for lower := 0; lower < ord; lower++ {
			if p := w.pods[lower]; p == nil || !podRunningReady(p) {
				w.violations = append(w.violations, fmt.Sprintf("%s created while %s-%d was not Running and Ready", pod.Name, w.set, lower))
			}
		}
		w.created = append(w.created, pod.Name)
		w.pods[ord] = pod
	case watch.Modified:
		w.pods[ord] = pod
	case watch.Deleted:
		delete(w.pods, ord)
	}
	if pod.DeletionTimestamp != nil && (prev == nil || prev.DeletionTimestamp == nil) && typ != watch.Added {
		w.terminated = append(w.terminated, pod.Name)
		if w.scaleDown {
			for higher, p := range w.pods {
				if higher > ord && p != nil {
					w.violations = append(w.violations, fmt.Sprintf("%s terminating while %s exists", pod.Name, p.Name))
				}
			}
		}
	}
}

func (w *stsWatch) snapshot() (created, terminated, violations []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.created...), append([]string(nil), w.terminated...), append([]string(nil), w.violations...)
}

// resetTerminated forgets the terminations seen so far; scaleDown turns
// the scale-down ordering check on or off.
func (w *stsWatch) resetTerminated(scaleDown bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.scaleDown = scaleDown
	w.terminated = nil
}

// TestStatefulSetOrderedReady: pods web-0, web-1, web-2 are created in
// order, each once the one before is Running and Ready, with their
// stable identity; a deleted pod comes back under its name; scaling down
// removes the highest ordinal first, one at a time; kubectl rollout
// status works.
func TestStatefulSetOrderedReady(t *testing.T) {
	e := newEnv(t)
	e.startSimulatedNodes("sts", 2)
	e.startScheduler()
	e.startControllers("--controllers=statefulset,endpointslice")

	w := e.watchSts("web")
	e.kubectlIn(stsManifest("web", 3, busybox, ""), "apply", "-f", "-")
	out := e.kubectl("rollout", "status", "statefulset/web", "--timeout=90s")
	if !strings.Contains(out, "3 new pods have been updated") {
		t.Errorf("rollout status said %q", out)
	}
	e.eventually(30*time.Second, "3 ready pods in status", func() (bool, error) {
		s := e.sts("web")
		return stsSynced(s) && s.Status.ReadyReplicas == 3 && s.Status.AvailableReplicas == 3 && s.Status.CurrentReplicas == 3, nil
	})

	created, _, violations := w.snapshot()
	if len(violations) > 0 {
		t.Errorf("OrderedReady violated:\n%s", strings.Join(violations, "\n"))
	}
	if want := []string{"web-0", "web-1", "web-2"}; strings.Join(created, ",") != strings.Join(want, ",") {
		t.Errorf("created %v, want %v", created, want)
	}

	set := e.sts("web")
	pods := e.stsPods("web")
	var stamps []time.Time
	for ord := range 3 {
		p := pods[ord]
		if p == nil {
			t.Fatalf("no pod of ordinal %d", ord)
		}
		name := fmt.Sprintf("web-%d", ord)
		if p.Spec.Hostname != name || p.Spec.Subdomain != "web" {
			t.Errorf("%s: hostname %q subdomain %q", name, p.Spec.Hostname, p.Spec.Subdomain)
		}
		for k, v := range map[string]string{
			appsv1.StatefulSetPodNameLabel:  name,
			appsv1.PodIndexLabel:            strconv.Itoa(ord),
			appsv1.StatefulSetRevisionLabel: set.Status.UpdateRevision,
		} {
			if p.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q", name, k, p.Labels[k], v)
			}
		}
		if ref := metav1.GetControllerOf(p); ref == nil || ref.Kind != "StatefulSet" || ref.UID != set.UID {
			t.Errorf("%s: controller %+v", name, ref)
		}
		stamps = append(stamps, p.CreationTimestamp.Time)
	}
	if !sort.SliceIsSorted(stamps, func(i, j int) bool { return stamps[i].Before(stamps[j]) }) {
		t.Errorf("creation timestamps out of ordinal order: %v", stamps)
	}
	if !strings.HasPrefix(set.Status.CurrentRevision, "web-") || set.Status.CurrentRevision != set.Status.UpdateRevision {
		t.Errorf("revisions current %q update %q", set.Status.CurrentRevision, set.Status.UpdateRevision)
	}
	e.awaitStsEvent("web", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful")

	// The headless service publishes each pod under its hostname
	// (web-0.web.default.svc...).
	e.eventually(30*time.Second, "endpoints of web with the pods' hostnames", func() (bool, error) {
		slices, err := e.kube.DiscoveryV1().EndpointSlices("default").List(e.ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err != nil {
			return false, err
		}
		var hostnames []string
		for _, sl := range slices.Items {
			for _, ep := range sl.Endpoints {
				if ep.Hostname != nil {
					hostnames = append(hostnames, *ep.Hostname)
				}
			}
		}
		sort.Strings(hostnames)
		return strings.Join(hostnames, ",") == "web-0,web-1,web-2", fmt.Errorf("hostnames %v", hostnames)
	})

	// A deleted pod comes back under the same name.
	oldUID := e.replacePod("web-1")
	e.eventually(60*time.Second, "web-1 re-created and ready", func() (bool, error) {
		p := e.stsPods("web")[1]
		return p != nil && p.UID != oldUID && podRunningReady(p), nil
	})

	// Scale down: web-2, then web-1, each after the one before is gone.
	w.resetTerminated(true)
	e.kubectl("scale", "statefulset/web", "--replicas=1")
	e.eventually(60*time.Second, "only web-0 left", func() (bool, error) {
		pods := e.stsPods("web")
		s := e.sts("web")
		return len(pods) == 1 && pods[0] != nil && stsSynced(s) && s.Status.Replicas == 1, nil
	})
	_, terminated, violations := w.snapshot()
	if len(violations) > 0 {
		t.Errorf("ordered scale down violated:\n%s", strings.Join(violations, "\n"))
	}
	if strings.Join(terminated, ",") != "web-2,web-1" {
		t.Errorf("terminated %v, want [web-2 web-1]", terminated)
	}
	e.awaitStsEvent("web", "SuccessfulDelete", "delete Pod web-2 in StatefulSet web successful")
}

// TestStatefulSetParallel: with no node to run them, a Parallel set gets
// all its pods at once while an OrderedReady one stops at its first;
// spec.ordinals.start is honoured; a failed pod is replaced under its
// name; Parallel scale down deletes everything at once.
func TestStatefulSetParallel(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--controllers=statefulset")

	e.kubectlIn(stsManifest("par", 3, busybox, "  podManagementPolicy: Parallel\n  ordinals:\n    start: 2\n"), "apply", "-f", "-")
	e.kubectlIn(stsManifest("seq", 3, busybox, ""), "apply", "-f", "-")

	e.eventually(30*time.Second, "par-2, par-3 and par-4 created", func() (bool, error) {
		pods := e.stsPods("par")
		return len(pods) == 3 && pods[2] != nil && pods[3] != nil && pods[4] != nil, nil
	})
	e.eventually(30*time.Second, "status of seq with its first pod", func() (bool, error) {
		s := e.sts("seq")
		return stsSynced(s) && s.Status.Replicas == 1, nil
	})
	if pods := e.stsPods("seq"); len(pods) != 1 || pods[0] == nil {
		t.Errorf("seq has pods %v, want only seq-0 while it is not ready", pods)
	}
	e.eventually(30*time.Second, "status of par", func() (bool, error) {
		s := e.sts("par")
		return stsSynced(s) && s.Status.Replicas == 3 && s.Status.ReadyReplicas == 0, nil
	})

	// A failed pod is deleted and re-created.
	failed := e.stsPods("par")[3]
	failed.Status.Phase = corev1.PodFailed
	if _, err := e.kube.CoreV1().Pods("default").UpdateStatus(e.ctx, failed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "par-3 replaced", func() (bool, error) {
		p := e.stsPods("par")[3]
		return p != nil && p.UID != failed.UID && p.Status.Phase == corev1.PodPending, nil
	})
	e.awaitStsEvent("par", "SuccessfulDelete", "delete Pod par-3 in StatefulSet par successful")

	e.kubectl("scale", "statefulset/par", "--replicas=0")
	e.eventually(30*time.Second, "par scaled to 0", func() (bool, error) {
		s := e.sts("par")
		return len(e.stsPods("par")) == 0 && stsSynced(s) && s.Status.Replicas == 0, nil
	})
}

// TestStatefulSetRollingUpdate: a RollingUpdate with a partition updates
// only the ordinals at or above it, highest first; pods below it come
// back at the current revision when deleted; lowering the partition
// finishes the roll-out (kubectl rollout status waits for it) and makes
// the update revision current. OnDelete then leaves pods alone until they
// are deleted.
func TestStatefulSetRollingUpdate(t *testing.T) {
	e := newEnv(t)
	e.startSimulatedNodes("sts", 2)
	e.startScheduler()
	e.startControllers("--controllers=statefulset")

	const v1, v2, v3 = busybox, "gantry.local/busybox:2", "gantry.local/busybox:3"
	w := e.watchSts("web")
	e.kubectlIn(stsManifest("web", 3, v1, "  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      partition: 2\n"), "apply", "-f", "-")
	e.kubectl("rollout", "status", "statefulset/web", "--timeout=90s")
	e.eventually(30*time.Second, "3 ready", func() (bool, error) {
		s := e.sts("web")
		return stsSynced(s) && s.Status.ReadyReplicas == 3, nil
	})
	rev1 := e.sts("web").Status.CurrentRevision

	image := func(p *corev1.Pod) string { return p.Spec.Containers[0].Image }
	e.patchSts("web", fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, v2))
	e.eventually(60*time.Second, "web-2 updated, web-0 and web-1 not", func() (bool, error) {
		s := e.sts("web")
		pods := e.stsPods("web")
		if !stsSynced(s) || s.Status.UpdateRevision == rev1 || len(pods) != 3 {
			return false, nil
		}
		return image(pods[2]) == v2 && podRunningReady(pods[2]) && image(pods[0]) == v1 && image(pods[1]) == v1 &&
			s.Status.UpdatedReplicas == 1 && s.Status.CurrentReplicas == 2 && s.Status.ReadyReplicas == 3, nil
	})
	set := e.sts("web")
	rev2 := set.Status.UpdateRevision
	if set.Status.CurrentRevision != rev1 {
		t.Errorf("current revision %q during the partitioned roll-out, want %q", set.Status.CurrentRevision, rev1)
	}
	if out := e.kubectl("rollout", "status", "statefulset/web", "--timeout=30s"); !strings.Contains(out, "partitioned roll out complete: 1 new pods have been updated") {
		t.Errorf("rollout status said %q", out)
	}

	// Below the partition a deleted pod comes back at the current revision.
	oldUID := e.replacePod("web-0")
	e.eventually(60*time.Second, "web-0 back at the current revision", func() (bool, error) {
		p := e.stsPods("web")[0]
		return p != nil && p.UID != oldUID && podRunningReady(p), nil
	})
	if p := e.stsPods("web")[0]; image(p) != v1 || p.Labels[appsv1.StatefulSetRevisionLabel] != rev1 {
		t.Errorf("web-0 re-created with %s at %s, want %s at %s", image(p), p.Labels[appsv1.StatefulSetRevisionLabel], v1, rev1)
	}

	// Partition 0: web-1 then web-0 are updated, and the roll-out ends.
	w.resetTerminated(false)
	e.patchSts("web", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`)
	e.kubectl("rollout", "status", "statefulset/web", "--timeout=90s")
	e.eventually(60*time.Second, "the update revision current", func() (bool, error) {
		s := e.sts("web")
		return stsSynced(s) && s.Status.CurrentRevision == rev2 && s.Status.UpdatedReplicas == 3 && s.Status.CurrentReplicas == 3, nil
	})
	for ord, p := range e.stsPods("web") {
		if image(p) != v2 || p.Labels[appsv1.StatefulSetRevisionLabel] != rev2 {
			t.Errorf("web-%d at %s (%s), want %s", ord, image(p), p.Labels[appsv1.StatefulSetRevisionLabel], v2)
		}
	}
	_, terminated, violations := w.snapshot()
	if strings.Join(terminated, ",") != "web-1,web-0" {
		t.Errorf("updated in the order %v, want [web-1 web-0]", terminated)
	}
	if len(violations) > 0 {
		t.Errorf("OrderedReady violated:\n%s", strings.Join(violations, "\n"))
	}

	// OnDelete: a new template is only applied to pods deleted by hand.
	e.patchSts("web", fmt.Sprintf(`{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null},"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, v3))
	e.eventually(30*time.Second, "the OnDelete update revision in status", func() (bool, error) {
		s := e.sts("web")
		return stsSynced(s) && s.Status.UpdateRevision != rev2, nil
	})
	for ord, p := range e.stsPods("web") {
		if image(p) != v2 || p.DeletionTimestamp != nil {
			t.Errorf("OnDelete touched web-%d (%s)", ord, image(p))
		}
	}
	oldUID = e.replacePod("web-1")
	e.eventually(60*time.Second, "web-1 re-created at the new revision", func() (bool, error) {
		p := e.stsPods("web")[1]
		return p != nil && p.UID != oldUID && image(p) == v3 && podRunningReady(p), nil
	})
}

// TestStatefulSetVolumeClaimTemplates: every pod gets its claim
// data-<set>-<ordinal>, created before it and mounted by it; claims stay
// when the set scales down and are reused when it scales up again; the
// retention policy puts owner references on them (the set's, or the
// scaled-down pod's), and a claim still owned by a deleted pod is waited
// for before the pod comes back with a fresh one.
func TestStatefulSetVolumeClaimTemplates(t *testing.T) {
	e := newEnv(t)
	e.startControllers("--controllers=statefulset")

	claims := `  podManagementPolicy: Parallel
  volumeClaimTemplates:
  - metadata:
      name: data
      labels:
        tier: db
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
`
	e.kubectlIn(stsManifest("db", 2, busybox, claims), "apply", "-f", "-")
	pvcs := e.kube.CoreV1().PersistentVolumeClaims("default")
	getPVC := func(name string) *corev1.PersistentVolumeClaim {
		c, err := pvcs.Get(e.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	e.eventually(30*time.Second, "pods db-0 and db-1 with their claims", func() (bool, error) {
		return len(e.stsPods("db")) == 2 && getPVC("data-db-0") != nil && getPVC("data-db-1") != nil, nil
	})
	uids := map[string]types.UID{}
	for ord, p := range e.stsPods("db") {
		name := fmt.Sprintf("data-db-%d", ord)
		c := getPVC(name)
		uids[name] = c.UID
		if c.Labels["app"] != "db" || c.Labels["tier"] != "db" {
			t.Errorf("%s labels %v, want app=db and tier=db", name, c.Labels)
		}
		if len(c.OwnerReferences) != 0 {
			t.Errorf("%s owned by %v under the Retain policy", name, c.OwnerReferences)
		}
		if c.CreationTimestamp.After(p.CreationTimestamp.Time) {
			t.Errorf("%s created after its pod", name)
		}
		found := false
		for _, v := range p.Spec.Volumes {
			if v.Name == "data" && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == name {
				found = true
			}
		}
		if !found {
			t.Errorf("%s has no volume data from claim %s: %+v", p.Name, name, p.Spec.Volumes)
		}
	}
	e.awaitStsEvent("db", "SuccessfulCreate", "create Claim data-db-0 Pod db-0 in StatefulSet db success")

	// Scale down keeps the claim; scale up reuses it.
	e.kubectl("scale", "statefulset/db", "--replicas=1")
	e.eventually(30*time.Second, "db-1 gone", func() (bool, error) { return len(e.stsPods("db")) == 1, nil })
	if c := getPVC("data-db-1"); c == nil || c.UID != uids["data-db-1"] {
		t.Fatalf("scale down did not keep data-db-1: %v", c)
	}
	e.kubectl("scale", "statefulset/db", "--replicas=2")
	e.eventually(30*time.Second, "db-1 back", func() (bool, error) { return e.stsPods("db")[1] != nil, nil })
	if c := getPVC("data-db-1"); c == nil || c.UID != uids["data-db-1"] {
		t.Errorf("scale up did not reuse data-db-1: %v", c)
	}

	// Retention policy Delete/Delete: the set owns the claims ...
	set := e.sts("db")
	e.patchSts("db", `{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Delete","whenScaled":"Delete"}}}`)
	ownedBy := func(c *corev1.PersistentVolumeClaim, kind string, uid types.UID) bool {
		ref := metav1.GetControllerOf(c)
		return ref != nil && ref.Kind == kind && ref.UID == uid
	}
	e.eventually(30*time.Second, "the set owning its claims", func() (bool, error) {
		return ownedBy(getPVC("data-db-0"), "StatefulSet", set.UID) && ownedBy(getPVC("data-db-1"), "StatefulSet", set.UID), nil
	})
	// ... and the claim of a scaled-down pod goes to the pod, for the
	// garbage collector to delete with it.
	pod1 := e.stsPods("db")[1]
	e.kubectl("scale", "statefulset/db", "--replicas=1")
	e.eventually(30*time.Second, "data-db-1 owned by db-1 and db-1 gone", func() (bool, error) {
		return ownedBy(getPVC("data-db-1"), "Pod", pod1.UID) && e.stsPods("db")[1] == nil, nil
	})
	if !ownedBy(getPVC("data-db-0"), "StatefulSet", set.UID) {
		t.Errorf("data-db-0 lost its owner: %v", getPVC("data-db-0").OwnerReferences)
	}
	// Scaling up again waits for that claim to go (no garbage collector
	// runs here: the test deletes it) and then makes a fresh one.
	e.kubectl("scale", "statefulset/db", "--replicas=2")
	e.eventually(30*time.Second, "status of the scale up", func() (bool, error) {
		return stsSynced(e.sts("db")), nil
	})
	if e.stsPods("db")[1] != nil {
		t.Error("db-1 re-created while its claim still belongs to the previous db-1")
	}
	if err := pvcs.Delete(e.ctx, "data-db-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "db-1 back with a new claim", func() (bool, error) {
		c := getPVC("data-db-1")
		return e.stsPods("db")[1] != nil && c != nil && c.UID != uids["data-db-1"] && ownedBy(c, "StatefulSet", set.UID), nil
	})
}

// TestStatefulSetLocalPathStorage: the whole storage path with simulated
// nodes: every pod's claim is provisioned by the local-path provisioner on
// the node the scheduler picks and bound, the pod runs with it mounted,
// and after a scale down and up the pod comes back to the same claim (and
// so to the same node).
func TestStatefulSetLocalPathStorage(t *testing.T) {
	e := newEnv(t)
	e.startSimulatedNodes("st", 2)
	e.startScheduler()
	e.startControllers("--controllers=statefulset,persistentvolume-binder,local-path-provisioner")

	manifest := stsManifest("data", 2, busybox, `        volumeMounts:
        - name: www
          mountPath: /usr/share/www
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
`)
	e.kubectlIn(manifest, "apply", "-f", "-")
	e.kubectl("rollout", "status", "statefulset/data", "--timeout=120s")

	pvcs := e.kube.CoreV1().PersistentVolumeClaims("default")
	type placement struct {
		claim types.UID
		node  string
	}
	before := map[int]placement{}
	for ord, p := range e.stsPods("data") {
		name := fmt.Sprintf("www-data-%d", ord)
		c, err := pvcs.Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("claim of data-%d: %v", ord, err)
		}
		if c.Status.Phase != corev1.ClaimBound || c.Spec.VolumeName == "" {
			t.Errorf("%s is %s (volume %q), want Bound", name, c.Status.Phase, c.Spec.VolumeName)
		}
		if !podRunningReady(p) || p.Spec.NodeName == "" {
			t.Errorf("%s not running: %s on %q", p.Name, p.Status.Phase, p.Spec.NodeName)
		}
		before[ord] = placement{c.UID, p.Spec.NodeName}
	}
	if len(before) != 2 {
		t.Fatalf("pods %v, want data-0 and data-1", before)
	}

	e.kubectl("scale", "statefulset/data", "--replicas=1")
	e.eventually(60*time.Second, "data-1 gone", func() (bool, error) { return len(e.stsPods("data")) == 1, nil })
	e.kubectl("scale", "statefulset/data", "--replicas=2")
	e.kubectl("rollout", "status", "statefulset/data", "--timeout=120s")
	p := e.stsPods("data")[1]
	c, err := pvcs.Get(e.ctx, "www-data-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.UID != before[1].claim || p.Spec.NodeName != before[1].node {
		t.Errorf("data-1 came back with claim %s on %s, want %s on %s", c.UID, p.Spec.NodeName, before[1].claim, before[1].node)
	}
}
