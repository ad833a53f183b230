package replicaset

import (
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// handlerController is a Controller with a ReplicaSet cache holding rss
// and no API client: enough to exercise the event handlers.
func handlerController(t *testing.T, rss ...*appsv1.ReplicaSet) *Controller {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	c := controller.NewContext(nil, nil, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), clk, "test", controller.Options{})
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, rs := range rss {
		if err := idx.Add(rs); err != nil {
			t.Fatal(err)
		}
	}
	rc := &Controller{
		rsLister:     listers.New[*appsv1.ReplicaSet](idx, appsv1.Resource("replicasets")),
		expectations: controller.NewExpectations(clk),
		clock:        clk,
	}
	rc.loop = controller.NewLoop(c, Name, rc.sync)
	rc.log = rc.loop.Log()
	return rc
}

func ownedPod(name string, rs *appsv1.ReplicaSet, labels map[string]string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels, ResourceVersion: "1", UID: types.UID(name)}}
	if rs != nil {
		p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(rs, kind)}
	}
	return p
}

func TestHandlersObserveExpectations(t *testing.T) {
	rs := testRS(2, 0)
	rs.UID = "rs-uid"
	rc := handlerController(t, rs)
	k := key(rs)

	rc.expectations.ExpectCreations(k, 2)
	rc.addPod(ownedPod("a", rs, rs.Spec.Template.Labels))
	if rc.expectations.Satisfied(k) {
		t.Fatal("one creation seen of two, yet satisfied")
	}
	// A pod of another (replaced) ReplicaSet of the same name does not count.
	stranger := rs.DeepCopy()
	stranger.UID = "other"
	rc.addPod(ownedPod("x", stranger, rs.Spec.Template.Labels))
	if rc.expectations.Satisfied(k) {
		t.Fatal("a pod of another owner counted")
	}
	rc.addPod(ownedPod("b", rs, rs.Spec.Template.Labels))
	if !rc.expectations.Satisfied(k) {
		t.Fatal("both creations seen, yet not satisfied")
	}
	if rc.loop.Len() != 1 {
		t.Errorf("queue holds %d keys, want the replica set once", rc.loop.Len())
	}

	// Deletions count when the pod is marked deleted, once.
	a := ownedPod("a", rs, rs.Spec.Template.Labels)
	rc.expectations.ExpectDeletions(k, []string{"ns/a"})
	dying := a.DeepCopy()
	dying.ResourceVersion = "2"
	dying.DeletionTimestamp = &metav1.Time{Time: t0}
	rc.updatePod(a, dying)
	if !rc.expectations.Satisfied(k) {
		t.Fatal("the deletion was seen, yet not satisfied")
	}
	rc.deletePod(cache.DeletedFinalStateUnknown{Key: "ns/a", Obj: dying})

	// A pod first seen already being deleted is a deletion.
	rc.expectations.ExpectDeletions(k, []string{"ns/c"})
	c := ownedPod("c", rs, rs.Spec.Template.Labels)
	c.DeletionTimestamp = &metav1.Time{Time: t0}
	rc.addPod(c)
	if !rc.expectations.Satisfied(k) {
		t.Fatal("a pod added while being deleted was not counted as a deletion")
	}
}

func TestHandlersWakeAdopters(t *testing.T) {
	rs := testRS(2, 0)
	rs.UID = "rs-uid"
	rc := handlerController(t, rs)

	rc.addPod(ownedPod("orphan", nil, map[string]string{"app": "web"}))
	if rc.loop.Len() != 1 {
		t.Fatalf("an orphan matching the selector queued %d keys, want 1", rc.loop.Len())
	}
	other := handlerController(t, rs)
	other.addPod(ownedPod("stray", nil, map[string]string{"app": "db"}))
	if other.loop.Len() != 0 {
		t.Errorf("an orphan matching nothing queued %d keys", other.loop.Len())
	}

	// A pod released by a label change wakes its former owner.
	third := handlerController(t, rs)
	before := ownedPod("p", rs, map[string]string{"app": "web"})
	after := ownedPod("p", nil, map[string]string{"app": "db"})
	after.ResourceVersion = "2"
	third.updatePod(before, after)
	if third.loop.Len() != 1 {
		t.Errorf("a released pod queued %d keys, want its former owner", third.loop.Len())
	}
}
