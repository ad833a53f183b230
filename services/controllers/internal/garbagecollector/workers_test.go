package garbagecollector

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/lru"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// testGC is a collector over fake ConfigMaps whose graph the test feeds.
func testGC(t *testing.T, api *fakeConfigMaps) *GarbageCollector {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := controller.NewContext(nil, nil, reg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, "test", controller.Options{})
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	gc := &GarbageCollector{
		graph:     newGraph(),
		changes:   workqueue.NewTyped[*event](),
		resources: map[schema.GroupVersionKind]controller.Dynamic{cmKind: api},
		absent:    lru.New(absentCacheSize),
		metrics:   m,
		log:       c.Log,
	}
	gc.deleter = controller.NewLoop(c, deleteQueue, gc.attemptToDelete)
	gc.orphaner = controller.NewLoop(c, orphanQueue, gc.attemptToOrphan)
	t.Cleanup(gc.changes.ShutDown)
	return gc
}

// observe shows the graph the current state of the named objects, as
// their informer would, and applies the virtual deletes waiting.
func (gc *GarbageCollector) observe(api *fakeConfigMaps, names ...string) {
	for _, name := range names {
		o, ok := api.get(name)
		if !ok {
			gc.graph.process(&event{typ: deleteEvent, gvk: cmKind, obj: objectMeta{uid: types.UID(name), name: name, namespace: "ns"}})
			continue
		}
		gc.graph.process(&event{typ: updateEvent, gvk: cmKind, obj: metaOf(o)})
	}
	for gc.changes.Len() > 0 {
		ev, _ := gc.changes.Get()
		gc.graph.process(ev)
		gc.changes.Done(ev)
	}
}

func configMap(name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), OwnerReferences: owners}}
}

func ownedBy(name string, block bool) metav1.OwnerReference {
	return ownerRef(cmKind, name, name, block)
}

func deleting(cm *corev1.ConfigMap, finalizers ...string) *corev1.ConfigMap {
	now := metav1.Now()
	cm.DeletionTimestamp, cm.Finalizers = &now, finalizers
	return cm
}

func TestAttemptToDelete(t *testing.T) {
	ctx := context.Background()

	t.Run("all owners gone: deleted in the background", func(t *testing.T) {
		api := newFakeConfigMaps(configMap("dep", ownedBy("owner", false)))
		gc := testGC(t, api)
		gc.observe(api, "dep")
		if err := gc.attemptToDelete(ctx, "dep"); err != nil {
			t.Fatal(err)
		}
		if _, ok := api.get("dep"); ok || !slices.Equal(api.deletes, []string{"dep:Background"}) {
			t.Errorf("deletes %v", api.deletes)
		}
		// The owner was absent: the virtual node goes once checked.
		if err := gc.attemptToDelete(ctx, "owner"); err != nil {
			t.Fatal(err)
		}
		gc.observe(api)
		if _, ok := gc.graph.view("owner"); ok {
			t.Error("absent virtual owner still in the graph")
		}
	})

	t.Run("one owner left: the dangling reference goes", func(t *testing.T) {
		api := newFakeConfigMaps(configMap("a"), configMap("dep", ownedBy("a", false), ownedBy("gone", true)))
		gc := testGC(t, api)
		gc.observe(api, "a", "dep")
		if err := gc.attemptToDelete(ctx, "dep"); err != nil {
			t.Fatal(err)
		}
		dep, ok := api.get("dep")
		if !ok || len(api.deletes) != 0 || len(dep.OwnerReferences) != 1 || dep.OwnerReferences[0].UID != "a" {
			t.Errorf("dep %+v, deletes %v", dep, api.deletes)
		}
	})

	t.Run("owner replaced under its name (another UID) counts as gone", func(t *testing.T) {
		other := configMap("owner")
		other.UID = "new-owner"
		api := newFakeConfigMaps(other, configMap("dep", ownedBy("owner", false)))
		gc := testGC(t, api)
		gc.observe(api, "dep")
		if err := gc.attemptToDelete(ctx, "dep"); err != nil {
			t.Fatal(err)
		}
		if _, ok := api.get("dep"); ok {
			t.Error("dependent of a replaced owner kept")
		}
	})

	t.Run("foreground: blocking dependents first, then the owner", func(t *testing.T) {
		api := newFakeConfigMaps(
			deleting(configMap("owner"), metav1.FinalizerDeleteDependents),
			configMap("blocking", ownedBy("owner", true)),
			configMap("free", ownedBy("owner", false)),
		)
		gc := testGC(t, api)
		gc.observe(api, "owner", "blocking", "free")
		if err := gc.attemptToDelete(ctx, "owner"); err != nil {
			t.Fatal(err)
		}
		if _, ok := api.get("owner"); !ok {
			t.Fatal("owner deleted while a blocking dependent remains")
		}
		if gc.deleter.Len() != 1 {
			t.Errorf("%d keys queued, want the blocking dependent", gc.deleter.Len())
		}
		for _, dep := range []string{"blocking", "free"} {
			if err := gc.attemptToDelete(ctx, dep); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(api.deletes, []string{"blocking:Background", "free:Background"}) {
			t.Errorf("deletes %v", api.deletes)
		}
		gc.observe(api, "blocking", "free")
		if err := gc.attemptToDelete(ctx, "owner"); err != nil {
			t.Fatal(err)
		}
		if _, ok := api.get("owner"); ok {
			t.Error("owner kept after its dependents went: foregroundDeletion finalizer not removed")
		}
	})

	t.Run("foreground: a dependent with dependents of its own goes in the foreground", func(t *testing.T) {
		api := newFakeConfigMaps(
			deleting(configMap("owner"), metav1.FinalizerDeleteDependents),
			configMap("mid", ownedBy("owner", true)),
			configMap("leaf", ownedBy("mid", true)),
		)
		gc := testGC(t, api)
		gc.observe(api, "owner", "mid", "leaf")
		if err := gc.attemptToDelete(ctx, "mid"); err != nil {
			t.Fatal(err)
		}
		mid, ok := api.get("mid")
		if !ok || !slices.Contains(mid.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("mid %+v, deletes %v", mid, api.deletes)
		}
	})

	t.Run("an object already being deleted is left alone", func(t *testing.T) {
		api := newFakeConfigMaps(deleting(configMap("dep", ownedBy("gone", false)), "example.com/hold"))
		gc := testGC(t, api)
		gc.observe(api, "dep")
		if err := gc.attemptToDelete(ctx, "dep"); err != nil || len(api.deletes) != 0 {
			t.Errorf("err %v, deletes %v", err, api.deletes)
		}
	})

	t.Run("an item gone from the API server leaves the graph", func(t *testing.T) {
		api := newFakeConfigMaps(configMap("dep"))
		gc := testGC(t, api)
		gc.observe(api, "dep")
		api.objs = map[string]*corev1.ConfigMap{}
		if err := gc.attemptToDelete(ctx, "dep"); err != nil {
			t.Fatal(err)
		}
		gc.observe(api)
		if _, ok := gc.graph.view("dep"); ok {
			t.Error("item still in the graph")
		}
	})
}

func TestAttemptToOrphan(t *testing.T) {
	ctx := context.Background()
	api := newFakeConfigMaps(
		deleting(configMap("owner"), metav1.FinalizerOrphanDependents),
		configMap("a", ownedBy("owner", true)),
		configMap("b", ownedBy("owner", false), ownedBy("other", false)),
	)
	gc := testGC(t, api)
	gc.observe(api, "owner", "a", "b")
	if err := gc.attemptToOrphan(ctx, "owner"); err != nil {
		t.Fatal(err)
	}
	if _, ok := api.get("owner"); ok {
		t.Error("owner kept: orphan finalizer not removed")
	}
	a, _ := api.get("a")
	b, _ := api.get("b")
	if len(a.OwnerReferences) != 0 || len(b.OwnerReferences) != 1 || b.OwnerReferences[0].UID != "other" {
		t.Errorf("a's references %v, b's %v", a.OwnerReferences, b.OwnerReferences)
	}
	if len(api.deletes) != 0 {
		t.Errorf("orphaning deleted %v", api.deletes)
	}
}

func TestDeleteObjectConflict(t *testing.T) {
	ctx := context.Background()
	api := newFakeConfigMaps(configMap("dep", ownedBy("gone", false)))
	gc := testGC(t, api)
	stale, _ := api.get("dep")
	// The object changes (not its owners) after it was read.
	cur, _ := api.get("dep")
	cur.Data = map[string]string{"k": "v"}
	if _, err := api.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	item := objectRef{APIVersion: "v1", Kind: "ConfigMap", Name: "dep", UID: "dep", Namespace: "ns"}
	if err := gc.deleteObject(ctx, api, item, stale, metav1.DeletePropagationBackground); err != nil {
		t.Fatalf("delete after an unrelated change: %v", err)
	}
	if _, ok := api.get("dep"); ok {
		t.Error("not deleted")
	}

	// A change of its owners makes the deletion fail, to be decided again.
	api = newFakeConfigMaps(configMap("dep", ownedBy("gone", false)))
	stale, _ = api.get("dep")
	cur, _ = api.get("dep")
	cur.OwnerReferences = append(cur.OwnerReferences, ownedBy("new", false))
	if _, err := api.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if err := gc.deleteObject(ctx, api, item, stale, metav1.DeletePropagationBackground); err == nil {
		t.Error("deleted although its owners changed")
	}
}
