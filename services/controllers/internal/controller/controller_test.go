package controller

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"io"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"log/slog"
	"strings"
)

func TestExpectations(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Now())
	e := NewExpectations(clk)
	if !e.Satisfied("ns/rs") {
		t.Fatal("nothing expected, yet not satisfied")
	}
	e.ExpectCreations("ns/rs", 2)
	if e.Satisfied("ns/rs") {
		t.Fatal("two creations outstanding, yet satisfied")
	}
	e.CreationObserved("ns/rs")
	e.CreationObserved("ns/other") // unknown key: ignored
	if e.Satisfied("ns/rs") {
		t.Fatal("one creation outstanding, yet satisfied")
	}
	e.CreationObserved("ns/rs")
	if !e.Satisfied("ns/rs") {
		t.Fatal("all creations seen, yet not satisfied")
	}

	e.ExpectDeletions("ns/rs", []string{"ns/a", "ns/b"})
	e.DeletionObserved("ns/rs", "ns/a")
	e.DeletionObserved("ns/rs", "ns/a") // seen twice: counted once
	if e.Satisfied("ns/rs") {
		t.Fatal("ns/b not seen deleted, yet satisfied")
	}
	clk.SetTime(clk.Now().Add(ExpectationsTTL + time.Second))
	if !e.Satisfied("ns/rs") {
		t.Fatal("expired expectations still hold the controller back")
	}
	e.Delete("ns/rs")
	if !e.Satisfied("ns/rs") {
		t.Fatal("deleted expectations not satisfied")
	}
}

func TestSlowStartBatch(t *testing.T) {
	for _, tc := range []struct {
		name      string
		count     int
		failAt    int // call index that fails; -1 none
		wantOK    int
		wantCalls int32
	}{
		{"all succeed", 10, -1, 10, 10},
		{"none", 0, -1, 0, 0},
		{"first fails: one call only", 10, 0, 0, 1},
		// Batches 1, 2, 4: a failure in the third batch (calls 3-6)
		// stops after it.
		{"failure in the third batch", 20, 4, 6, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			ok, err := SlowStartBatch(tc.count, 1, func(i int) error {
				calls.Add(1)
				if i == tc.failAt {
					return errors.New("boom")
				}
				return nil
			})
			if ok != tc.wantOK || calls.Load() != tc.wantCalls {
				t.Errorf("ok %d calls %d, want ok %d calls %d", ok, calls.Load(), tc.wantOK, tc.wantCalls)
			}
			if (err != nil) != (tc.failAt >= 0) {
				t.Errorf("err %v", err)
			}
		})
	}
}

func TestPodNamePrefix(t *testing.T) {
	if got := PodNamePrefix("web"); got != "web-" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("a", 300)
	if got := PodNamePrefix(long); len(got) != 248 {
		t.Errorf("prefix of a long name is %d long", len(got))
	}
}

func TestPodFromTemplate(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1"}}
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	pod := PodFromTemplate(tmpl, rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
	if pod.Namespace != "ns" || pod.GenerateName != "web-" || pod.Labels["app"] != "web" || pod.Annotations["a"] != "b" {
		t.Fatalf("pod %+v", pod.ObjectMeta)
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.UID != "u1" || ref.Kind != "ReplicaSet" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Fatalf("controller ref %+v", ref)
	}
	pod.Labels["app"] = "changed"
	if tmpl.Labels["app"] != "web" {
		t.Fatal("the pod shares the template's labels")
	}
}

func TestClaim(t *testing.T) {
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "owner"}}
	gvk := appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	ours := metav1.NewControllerRef(owner, gvk)
	theirs := metav1.NewControllerRef(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "x", UID: "other"}}, gvk)
	pod := func(name string, lbl string, ref *metav1.OwnerReference) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"app": lbl}}}
		if ref != nil {
			p.OwnerReferences = []metav1.OwnerReference{*ref}
		}
		return p
	}
	pods := []*corev1.Pod{
		pod("owned-match", "web", ours),
		pod("owned-nomatch", "db", ours),
		pod("orphan-match", "web", nil),
		pod("orphan-nomatch", "db", nil),
		pod("theirs-match", "web", theirs),
	}
	var patched []string
	m := &RefManager{
		Owner: owner, OwnerGVK: gvk, Selector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		Patch: func(_ context.Context, ns, name string, pt types.PatchType, data []byte) error {
			patched = append(patched, name+":"+string(data))
			return nil
		},
	}
	claimed, err := Claim(context.Background(), m, pods)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range claimed {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "owned-match,orphan-match" {
		t.Errorf("claimed %v", names)
	}
	if len(patched) != 2 || !strings.HasPrefix(patched[0], "owned-nomatch:") || !strings.Contains(patched[0], `"$patch":"delete"`) ||
		!strings.HasPrefix(patched[1], "orphan-match:") || !strings.Contains(patched[1], `"controller":true`) {
		t.Errorf("patches %v", patched)
	}

	// An owner that cannot adopt (being deleted, per a fresh read) claims
	// no orphans.
	patched = nil
	m2 := &RefManager{Owner: m.Owner, OwnerGVK: gvk, Selector: m.Selector, Patch: m.Patch,
		CanAdopt: func(context.Context) error { return errors.New("being deleted") }}
	claimed, err = Claim(context.Background(), m2, []*corev1.Pod{pod("orphan", "web", nil)})
	if err == nil || len(claimed) != 0 || len(patched) != 0 {
		t.Errorf("claimed %d, patched %v, err %v", len(claimed), patched, err)
	}
}

func TestLoopRetriesAndRecovers(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := NewContext(nil, nil, reg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, "test", Options{Workers: 2})
	var calls atomic.Int32
	done := make(chan struct{})
	l := NewLoop(c, "test", func(_ context.Context, key string) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("transient")
		case 2:
			panic("a bad object")
		}
		close(done)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	l.EnqueueKey("ns/x")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("key not retried to success; %d calls", calls.Load())
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
	}
	for _, want := range []string{"workqueue_adds_total", "workqueue_retries_total", "gantry_controller_syncs_total"} {
		if !found[want] {
			t.Errorf("metric %s missing", want)
		}
	}
}
