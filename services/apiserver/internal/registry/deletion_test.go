package registry

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestGCFinalizers(t *testing.T) {
	policy := func(p metav1.DeletionPropagation) metav1.DeleteOptions {
		return metav1.DeleteOptions{PropagationPolicy: &p}
	}
	orphanDependents := func(v bool) metav1.DeleteOptions { return metav1.DeleteOptions{OrphanDependents: &v} }
	const (
		orphan     = metav1.FinalizerOrphanDependents
		foreground = metav1.FinalizerDeleteDependents
		custom     = "example.com/keep"
	)
	for _, tc := range []struct {
		name        string
		current     []string
		opts        metav1.DeleteOptions
		want        []string
		wantChanged bool
	}{
		{name: "no policy, no finalizers", want: nil},
		{name: "background adds nothing", opts: policy(metav1.DeletePropagationBackground)},
		{name: "foreground", opts: policy(metav1.DeletePropagationForeground), want: []string{foreground}, wantChanged: true},
		{name: "orphan", opts: policy(metav1.DeletePropagationOrphan), want: []string{orphan}, wantChanged: true},
		{name: "orphanDependents=true", opts: orphanDependents(true), want: []string{orphan}, wantChanged: true},
		{name: "orphanDependents=false", opts: orphanDependents(false)},
		{name: "orphanDependents wins over the policy",
			opts: metav1.DeleteOptions{OrphanDependents: new(true), PropagationPolicy: new(metav1.DeletePropagationForeground)},
			want: []string{orphan}, wantChanged: true},
		{name: "other finalizers stay", current: []string{custom}, opts: policy(metav1.DeletePropagationOrphan),
			want: []string{custom, orphan}, wantChanged: true},
		{name: "no policy keeps orphan", current: []string{orphan}, want: []string{orphan}},
		{name: "no policy keeps foreground", current: []string{custom, foreground}, want: []string{custom, foreground}},
		{name: "foreground replaces orphan", current: []string{orphan, custom}, opts: policy(metav1.DeletePropagationForeground),
			want: []string{custom, foreground}, wantChanged: true},
		{name: "orphan replaces foreground", current: []string{foreground}, opts: policy(metav1.DeletePropagationOrphan),
			want: []string{orphan}, wantChanged: true},
		{name: "background removes orphan", current: []string{orphan}, opts: policy(metav1.DeletePropagationBackground),
			want: nil, wantChanged: true},
		{name: "orphanDependents=false removes foreground", current: []string{custom, foreground}, opts: orphanDependents(false),
			want: []string{custom}, wantChanged: true},
		{name: "same policy again: unchanged", current: []string{orphan}, opts: policy(metav1.DeletePropagationOrphan),
			want: []string{orphan}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := gcFinalizers(tc.current, &tc.opts)
			if !slices.Equal(got, tc.want) || changed != tc.wantChanged {
				t.Errorf("gcFinalizers(%v) = %v, changed %v; want %v, changed %v", tc.current, got, changed, tc.want, tc.wantChanged)
			}
		})
	}
}

func TestDeletion(t *testing.T) {
	plain := &Resource{}
	pods := &Resource{hooks: hooks{gracePeriod: podGracePeriod}}
	namespaces := &Resource{hooks: hooks{beginDelete: beginNamespaceDelete}}
	orphan, foreground := metav1.DeletePropagationOrphan, metav1.DeletePropagationForeground
	background := metav1.DeletePropagationBackground
	zero := int64(0)
	thirty := int64(30)
	deleting := metav1.Now()

	cm := func(finalizers ...string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns", Finalizers: finalizers}}
	}
	deletedCM := func(finalizers ...string) *corev1.ConfigMap {
		c := cm(finalizers...)
		c.DeletionTimestamp, c.DeletionGracePeriodSeconds = &deleting, &zero
		return c
	}
	runningPod := func(finalizers ...string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Finalizers: finalizers},
			Spec:       corev1.PodSpec{NodeName: "node-1", TerminationGracePeriodSeconds: &thirty},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		}
	}
	terminatingPod := func(finalizers ...string) *corev1.Pod {
		p := runningPod(finalizers...)
		p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &deleting, &thirty
		return p
	}

	type want struct {
		now        bool // deleted at once (nil)
		unchanged  bool // the current object comes back: nothing to write
		finalizers []string
		grace      int64
	}
	for _, tc := range []struct {
		name string
		r    *Resource
		cur  runtime.Object
		opts metav1.DeleteOptions
		want want
	}{
		{name: "plain object goes at once", r: plain, cur: cm(), want: want{now: true}},
		{name: "orphan holds it for the garbage collector", r: plain, cur: cm(), opts: metav1.DeleteOptions{PropagationPolicy: &orphan},
			want: want{finalizers: []string{metav1.FinalizerOrphanDependents}}},
		{name: "orphanDependents=true holds it", r: plain, cur: cm(), opts: metav1.DeleteOptions{OrphanDependents: new(true)},
			want: want{finalizers: []string{metav1.FinalizerOrphanDependents}}},
		{name: "foreground holds it", r: plain, cur: cm(), opts: metav1.DeleteOptions{PropagationPolicy: &foreground},
			want: want{finalizers: []string{metav1.FinalizerDeleteDependents}}},
		{name: "deleting again without a policy changes nothing", r: plain, cur: deletedCM(metav1.FinalizerOrphanDependents),
			want: want{unchanged: true}},
		{name: "foreground replaces orphan of an object being deleted", r: plain,
			cur: deletedCM(metav1.FinalizerOrphanDependents), opts: metav1.DeleteOptions{PropagationPolicy: &foreground},
			want: want{finalizers: []string{metav1.FinalizerDeleteDependents}}},
		{name: "background drops the last finalizer: gone at once", r: plain,
			cur: deletedCM(metav1.FinalizerOrphanDependents), opts: metav1.DeleteOptions{PropagationPolicy: &background},
			want: want{now: true}},
		{name: "running pod is deleted gracefully with its finalizer", r: pods, cur: runningPod(),
			opts: metav1.DeleteOptions{PropagationPolicy: &orphan},
			want: want{finalizers: []string{metav1.FinalizerOrphanDependents}, grace: 30}},
		{name: "the agent's confirmation shortens the grace period while finalizers hold the pod", r: pods,
			cur: terminatingPod(metav1.FinalizerDeleteDependents), opts: metav1.DeleteOptions{GracePeriodSeconds: &zero},
			want: want{finalizers: []string{metav1.FinalizerDeleteDependents}, grace: 0}},
		{name: "the agent's confirmation deletes a pod without finalizers", r: pods, cur: terminatingPod(),
			opts: metav1.DeleteOptions{GracePeriodSeconds: &zero}, want: want{now: true}},
		{name: "a longer grace period changes nothing", r: pods, cur: terminatingPod(),
			opts: metav1.DeleteOptions{GracePeriodSeconds: new(int64(60))}, want: want{unchanged: true}},
		{name: "namespace with orphan", r: namespaces,
			cur:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}},
			opts: metav1.DeleteOptions{PropagationPolicy: &orphan},
			want: want{finalizers: []string{metav1.FinalizerOrphanDependents}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.cur.(metav1.Object).GetFinalizers())
			next, err := tc.r.deletion(tc.cur, &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want.now:
				if next != nil {
					t.Fatalf("kept %+v, want deleted at once", next.(metav1.Object))
				}
				return
			case next == nil:
				t.Fatal("deleted at once")
			case tc.want.unchanged:
				if next != tc.cur {
					t.Fatalf("rewritten as %+v, want unchanged", next.(metav1.Object))
				}
				return
			case next == tc.cur:
				t.Fatal("unchanged, want a write")
			}
			m := next.(metav1.Object)
			if !slices.Equal(m.GetFinalizers(), tc.want.finalizers) {
				t.Errorf("finalizers %v, want %v", m.GetFinalizers(), tc.want.finalizers)
			}
			if m.GetDeletionTimestamp() == nil || m.GetDeletionGracePeriodSeconds() == nil || *m.GetDeletionGracePeriodSeconds() != tc.want.grace {
				t.Errorf("deletionTimestamp %v, grace %v, want set with grace %d", m.GetDeletionTimestamp(), m.GetDeletionGracePeriodSeconds(), tc.want.grace)
			}
			if !slices.Equal(tc.cur.(metav1.Object).GetFinalizers(), before) {
				t.Errorf("the current object's finalizers became %v", tc.cur.(metav1.Object).GetFinalizers())
			}
		})
	}
}
