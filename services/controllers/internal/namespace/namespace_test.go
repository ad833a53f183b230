package namespace

import (
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gantry-dev/gantry/libs/client"
)

var (
	podsGVR = corev1.SchemeGroupVersion.WithResource("pods")
	cmGVR   = corev1.SchemeGroupVersion.WithResource("configmaps")
)

func TestFailedConditions(t *testing.T) {
	now := metav1.Now()
	c := content{
		remaining:  map[schema.GroupVersionResource]int{podsGVR: 2, cmGVR: 1, {Group: "apps", Version: "v1", Resource: "deployments"}: 0},
		finalizers: map[string]int{"example.com/b": 1, "example.com/a": 2},
		errs:       []error{errors.New("z failed"), errors.New("a failed")},
	}
	got := failedConditions(c, now)
	want := map[corev1.NamespaceConditionType][2]string{
		corev1.NamespaceDeletionContentFailure: {"ContentDeletionFailed", "Failed to delete all resource types, 2 remaining: a failed, z failed"},
		corev1.NamespaceContentRemaining: {"SomeResourcesRemain",
			"Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances"},
		corev1.NamespaceFinalizersRemaining: {"SomeFinalizerRemain",
			"Some finalizers are remaining: example.com/a in 2 resource instances, example.com/b in 1 resource instances"},
	}
	if len(got) != len(want) {
		t.Fatalf("conditions %+v", got)
	}
	for _, cond := range got {
		w, ok := want[cond.Type]
		if !ok || cond.Status != corev1.ConditionTrue || cond.Reason != w[0] || cond.Message != w[1] {
			t.Errorf("condition %s: %s %q %q, want True %q %q", cond.Type, cond.Status, cond.Reason, cond.Message, w[0], w[1])
		}
	}
	if got := failedConditions(content{}, now); len(got) != 0 {
		t.Errorf("nothing wrong, yet conditions %+v", got)
	}
}

func TestUpdateConditions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	var status corev1.NamespaceStatus

	remaining := failedConditions(content{remaining: map[schema.GroupVersionResource]int{podsGVR: 1}}, t0)
	if !updateConditions(&status, remaining, t0) {
		t.Fatal("first update changed nothing")
	}
	if len(status.Conditions) != len(conditionTypes) {
		t.Fatalf("conditions %+v", status.Conditions)
	}
	for i, cond := range status.Conditions {
		if cond.Type != conditionTypes[i] {
			t.Errorf("condition %d is %s, want %s", i, cond.Type, conditionTypes[i])
		}
		wantTrue := cond.Type == corev1.NamespaceContentRemaining
		if (cond.Status == corev1.ConditionTrue) != wantTrue {
			t.Errorf("%s is %s", cond.Type, cond.Status)
		}
		if !wantTrue && (cond.Reason != okReasons[cond.Type] || cond.Message != okMessages[cond.Type]) {
			t.Errorf("%s: %q %q", cond.Type, cond.Reason, cond.Message)
		}
	}
	if updateConditions(&status, failedConditions(content{remaining: map[schema.GroupVersionResource]int{podsGVR: 1}}, t1), t1) {
		t.Error("the same conditions again count as a change")
	}
	// Fine again: the condition turns False, with a new transition time.
	if !updateConditions(&status, nil, t1) {
		t.Fatal("recovery changed nothing")
	}
	cond := findCondition(status.Conditions, corev1.NamespaceContentRemaining)
	if cond.Status != corev1.ConditionFalse || cond.Reason != "ContentRemoved" || !cond.LastTransitionTime.Equal(&t1) {
		t.Errorf("recovered condition %+v", cond)
	}
	if other := findCondition(status.Conditions, corev1.NamespaceDeletionDiscoveryFailure); !other.LastTransitionTime.Equal(&t0) {
		t.Errorf("an unchanged condition got a new transition time: %+v", other)
	}
}

func pod(name string, grace int64, phase corev1.PodPhase, finalizers ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Finalizers: finalizers},
		Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: &grace},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func TestPodsEstimate(t *testing.T) {
	deletedAt := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	items := []client.Object{pod("a", 30, corev1.PodRunning), pod("b", 60, corev1.PodSucceeded), pod("c", 10, corev1.PodPending)}
	for _, tc := range []struct {
		name  string
		items []client.Object
		after time.Duration
		want  int64
	}{
		{"longest grace period of unfinished pods", items, time.Second, 30},
		{"the grace period has passed", items, 30 * time.Second, 0},
		{"no pods", nil, 0, 0},
	} {
		if got := podsEstimate(tc.items, deletedAt, deletedAt.Add(tc.after)); got != tc.want {
			t.Errorf("%s: estimate %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestRemains(t *testing.T) {
	for _, tc := range []struct {
		name           string
		items          []client.Object
		estimate       int64
		wantEstimate   int64
		wantRemaining  int
		wantFinalizers map[string]int
		wantErr        bool
	}{
		{name: "empty", wantEstimate: 0},
		{name: "pods terminating within their grace period", items: []client.Object{pod("a", 30, corev1.PodRunning)}, estimate: 30,
			wantEstimate: 30, wantRemaining: 1, wantFinalizers: map[string]int{}},
		{name: "held by finalizers: wait the finalizer estimate",
			items:        []client.Object{pod("a", 30, corev1.PodRunning, "example.com/x"), pod("b", 30, corev1.PodRunning, "example.com/x")},
			wantEstimate: finalizerEstimateSeconds, wantRemaining: 2, wantFinalizers: map[string]int{"example.com/x": 2}},
		{name: "left for no reason: an error", items: []client.Object{pod("a", 30, corev1.PodRunning)},
			wantRemaining: 1, wantFinalizers: map[string]int{}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := remains(tc.items, tc.estimate, "ns", podsGVR)
			if got.estimate != tc.wantEstimate || got.remaining != tc.wantRemaining || (err != nil) != tc.wantErr ||
				len(got.finalizers) != len(tc.wantFinalizers) {
				t.Errorf("remains = %+v, %v", got, err)
			}
			for f, n := range tc.wantFinalizers {
				if got.finalizers[f] != n {
					t.Errorf("finalizer %s: %d, want %d", f, got.finalizers[f], n)
				}
			}
			if err != nil && err.Error() != "unexpected items still remain in namespace: ns for gvr: /v1, Resource=pods" {
				t.Errorf("error %q", err)
			}
		})
	}
}

func TestWithoutFinalizer(t *testing.T) {
	ns := &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/a", corev1.FinalizerKubernetes}}}
	next := withoutFinalizer(ns, corev1.FinalizerKubernetes)
	if next == nil || !slices.Equal(next.Spec.Finalizers, []corev1.FinalizerName{"example.com/a"}) {
		t.Fatalf("next %+v", next)
	}
	if len(ns.Spec.Finalizers) != 2 {
		t.Error("the namespace given was modified")
	}
	if withoutFinalizer(next, corev1.FinalizerKubernetes) != nil {
		t.Error("finalized namespace finalized again")
	}
}
