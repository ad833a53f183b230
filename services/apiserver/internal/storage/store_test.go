package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/storetest"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var storeURL, noStore string

func TestMain(m *testing.M) {
	url, stop, err := storetest.Start()
	switch {
	case errors.Is(err, storetest.ErrNoStore):
		noStore, stop = err.Error(), func() {}
	case err != nil:
		fmt.Fprintln(os.Stderr, "store:", err)
		os.Exit(1)
	}
	storeURL = url
	code := m.Run()
	stop()
	os.Exit(code)
}

// configMaps returns a store of ConfigMaps on the test store, with a
// namespace of the test's own.
func configMaps(t *testing.T) (*Store, string) {
	t.Helper()
	if noStore != "" {
		t.Fatal(noStore)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{storeURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	res, ok := api.Lookup(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"})
	if !ok {
		t.Fatal("no configmaps resource")
	}
	return NewStore(cli, res), fmt.Sprintf("ns-%d", time.Now().UnixNano())
}

func data(obj runtime.Object) map[string]string { return obj.(*corev1.ConfigMap).Data }

// set returns an UpdateFunc that sets data[k] = v, counting its calls; it
// reports no change when the value is already there and refuses to touch
// a ConfigMap whose data has "locked".
func set(k, v string, calls *atomic.Int32) UpdateFunc {
	return func(cur runtime.Object) (runtime.Object, error) {
		calls.Add(1)
		cm := cur.(*corev1.ConfigMap)
		if cm.Data["locked"] != "" {
			return nil, apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, cm.Name, errors.New("locked"))
		}
		if cm.Data[k] == v {
			return nil, nil
		}
		next := cm.DeepCopy()
		if next.Data == nil {
			next.Data = map[string]string{}
		}
		next.Data[k] = v
		return next, nil
	}
}

// TestUpdateFromCache checks Update when it starts from the watch cache's
// copy: a current copy is used as it is, and whatever a stale copy makes
// the update function or the precondition decide is checked against the
// store before it counts.
func TestUpdateFromCache(t *testing.T) {
	ctx := context.Background()
	s, ns := configMaps(t)
	var cached runtime.Object // what the "watch cache" returns
	var cacheReads atomic.Int32
	s.cached = func(string) (runtime.Object, bool) {
		cacheReads.Add(1)
		return cached, cached != nil
	}
	create := func(name string, d map[string]string) *corev1.ConfigMap {
		t.Helper()
		obj, err := s.Create(ctx, ns, name, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: d})
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*corev1.ConfigMap)
	}
	write := func(name string, d map[string]string) *corev1.ConfigMap {
		t.Helper()
		cached = nil
		var calls atomic.Int32
		obj, _, err := s.Update(ctx, ns, name, func(cur runtime.Object) (runtime.Object, error) {
			calls.Add(1)
			next := cur.(*corev1.ConfigMap).DeepCopy()
			next.Data = d
			return next, nil
		}, false)
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*corev1.ConfigMap)
	}
	stored := func(name string) *corev1.ConfigMap {
		t.Helper()
		obj, err := s.Get(ctx, ns, name)
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*corev1.ConfigMap)
	}

	t.Run("current copy", func(t *testing.T) {
		cached = create("current", map[string]string{"a": "1"})
		var calls atomic.Int32
		obj, _, err := s.Update(ctx, ns, "current", set("a", "2", &calls), false)
		if err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 1 || data(obj)["a"] != "2" || stored("current").Data["a"] != "2" {
			t.Errorf("calls %d, returned %v, stored %v; want one call and a=2", calls.Load(), data(obj), stored("current").Data)
		}
		if obj.(*corev1.ConfigMap).ResourceVersion != stored("current").ResourceVersion {
			t.Errorf("returned resourceVersion %s, stored %s", obj.(*corev1.ConfigMap).ResourceVersion, stored("current").ResourceVersion)
		}
	})
	t.Run("the cached copy is not handed out", func(t *testing.T) {
		cached = create("shared", map[string]string{"a": "1"})
		before := cached.(*corev1.ConfigMap).DeepCopy()
		var calls atomic.Int32
		if _, _, err := s.Update(ctx, ns, "shared", func(cur runtime.Object) (runtime.Object, error) {
			calls.Add(1)
			if cur == cached {
				t.Error("update function got the cache's own object")
			}
			return set("a", "2", &calls)(cur)
		}, false); err != nil {
			t.Fatal(err)
		}
		if data(cached)["a"] != before.Data["a"] {
			t.Errorf("cached object changed: %v", data(cached))
		}
	})
	t.Run("stale copy, concurrent write kept", func(t *testing.T) {
		stale := create("stale", map[string]string{"a": "1"})
		write("stale", map[string]string{"a": "1", "b": "other"})
		cached = stale
		var calls atomic.Int32
		obj, _, err := s.Update(ctx, ns, "stale", set("a", "2", &calls), false)
		if err != nil {
			t.Fatal(err)
		}
		got := stored("stale").Data
		if calls.Load() != 2 || got["a"] != "2" || got["b"] != "other" || data(obj)["b"] != "other" {
			t.Errorf("calls %d, stored %v, returned %v; want two calls and a=2 b=other", calls.Load(), got, data(obj))
		}
	})
	t.Run("stale copy says no change", func(t *testing.T) {
		stale := create("nochange", map[string]string{"a": "2"})
		write("nochange", map[string]string{"a": "1"})
		cached = stale
		var calls atomic.Int32
		if _, _, err := s.Update(ctx, ns, "nochange", set("a", "2", &calls), false); err != nil {
			t.Fatal(err)
		}
		if got := stored("nochange").Data["a"]; got != "2" || calls.Load() != 2 {
			t.Errorf("stored a=%s after %d calls, want a=2 after 2", got, calls.Load())
		}
	})
	t.Run("stale copy makes the function fail", func(t *testing.T) {
		stale := create("unlocked", map[string]string{"locked": "yes"})
		write("unlocked", map[string]string{})
		cached = stale
		var calls atomic.Int32
		if _, _, err := s.Update(ctx, ns, "unlocked", set("a", "2", &calls), false); err != nil {
			t.Fatalf("update: %v, want success (the store's object is not locked)", err)
		}
		if got := stored("unlocked").Data["a"]; got != "2" {
			t.Errorf("stored a=%q, want 2", got)
		}
	})
	t.Run("current copy makes the function fail", func(t *testing.T) {
		cached = create("locked", map[string]string{"locked": "yes"})
		var calls atomic.Int32
		_, _, err := s.Update(ctx, ns, "locked", set("a", "2", &calls), false)
		if !apierrors.IsConflict(err) {
			t.Fatalf("update: %v, want the function's Conflict", err)
		}
	})
	t.Run("precondition against a stale copy", func(t *testing.T) {
		stale := create("precondition", map[string]string{"a": "1"})
		fresh := write("precondition", map[string]string{"a": "1", "b": "x"})
		cached = stale
		var calls atomic.Int32
		update := func(rv string) error {
			_, _, err := s.Update(ctx, ns, "precondition", func(cur runtime.Object) (runtime.Object, error) {
				next, err := set("a", "2"+rv, &calls)(cur)
				if next != nil {
					next.(*corev1.ConfigMap).ResourceVersion = rv
				}
				return next, err
			}, false)
			return err
		}
		// The client's resourceVersion is the store's: the stale copy
		// must not turn that into a conflict.
		if err := update(fresh.ResourceVersion); err != nil {
			t.Fatalf("update with the current resourceVersion: %v", err)
		}
		// An old resourceVersion is a conflict, whatever the cache holds.
		cached = stored("precondition")
		if err := update(stale.ResourceVersion); !apierrors.IsConflict(err) {
			t.Errorf("update with an old resourceVersion: %v, want Conflict", err)
		}
	})
	t.Run("deleted behind the cache", func(t *testing.T) {
		cached = create("deleted", map[string]string{"a": "1"})
		rv := cached.(*corev1.ConfigMap).ResourceVersion
		if _, err := s.Delete(ctx, ns, "deleted", nil, Preconditions{ResourceVersion: &rv}, nil); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		if _, _, err := s.Update(ctx, ns, "deleted", set("a", "2", &calls), false); !apierrors.IsNotFound(err) {
			t.Errorf("update: %v, want NotFound", err)
		}
		if _, err := s.Get(ctx, ns, "deleted"); !apierrors.IsNotFound(err) {
			t.Errorf("get after the update: %v, want NotFound (nothing recreated)", err)
		}
	})
	t.Run("no cached copy", func(t *testing.T) {
		create("uncached", map[string]string{"a": "1"})
		cached = nil
		reads := cacheReads.Load()
		var calls atomic.Int32
		if _, _, err := s.Update(ctx, ns, "uncached", set("a", "2", &calls), false); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 1 || cacheReads.Load() != reads+1 || stored("uncached").Data["a"] != "2" {
			t.Errorf("calls %d, cache reads %d, stored %v", calls.Load(), cacheReads.Load()-reads, stored("uncached").Data)
		}
	})
	t.Run("concurrent increments", func(t *testing.T) {
		cached = create("counter", map[string]string{"n": "0"})
		const writers, each = 4, 10
		errs := make(chan error, writers)
		for range writers {
			go func() {
				for range each {
					// Every writer starts from the same, soon stale, copy.
					_, _, err := s.Update(ctx, ns, "counter", func(cur runtime.Object) (runtime.Object, error) {
						next := cur.(*corev1.ConfigMap).DeepCopy()
						n, _ := strconv.Atoi(next.Data["n"])
						next.Data["n"] = strconv.Itoa(n + 1)
						return next, nil
					}, false)
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if got := stored("counter").Data["n"]; got != strconv.Itoa(writers*each) {
			t.Errorf("counter = %s, want %d", got, writers*each)
		}
	})
}

// TestLeases checks how leases are shared: within the reuse window (5% of
// the TTL, at most a minute) and up to maxObjects objects, for one TTL;
// each granted for the TTL plus the window.
func TestLeases(t *testing.T) {
	s, _ := configMaps(t)
	ctx := context.Background()
	l := NewLeases(s.cli)
	now := time.Unix(1_000_000, 0)
	l.now = func() time.Time { return now }
	l.maxObjects = 3
	lease := func(ttl time.Duration) clientv3.LeaseID {
		t.Helper()
		id, err := l.For(ctx, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := lease(100 * time.Second)
	if got := lease(100 * time.Second); got != first {
		t.Errorf("second object within the window got lease %x, want %x", got, first)
	}
	ttl, err := s.cli.TimeToLive(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if ttl.GrantedTTL != 105 {
		t.Errorf("lease granted for %d s, want 105 (TTL 100 s + 5 s window)", ttl.GrantedTTL)
	}
	if got := lease(50 * time.Second); got == first {
		t.Error("another TTL shared the lease")
	}
	second := lease(100 * time.Second)
	if second == first {
		t.Error("the lease outlived a change of TTL")
	}
	lease(100 * time.Second)
	lease(100 * time.Second)
	if got := lease(100 * time.Second); got == second {
		t.Errorf("a fourth object shared a lease of at most %d", l.maxObjects)
	}
	third := lease(100 * time.Second)
	now = now.Add(6 * time.Second)
	if got := lease(100 * time.Second); got == third {
		t.Error("a lease was reused after its 5 s window")
	}
	// An hour's TTL: the window is capped at a minute.
	hour := lease(time.Hour)
	if ttl, err := s.cli.TimeToLive(ctx, hour); err != nil || ttl.GrantedTTL != 3660 {
		t.Errorf("hour lease granted for %d s (%v), want 3660", ttl.GrantedTTL, err)
	}
}

// TestDeleteFromKnown checks Delete when the caller hands it the object it
// has read: a copy that is no longer current is caught by the delete's
// compare-and-swap, and preconditions and checks are decided on the
// current object.
func TestDeleteFromKnown(t *testing.T) {
	ctx := context.Background()
	s, ns := configMaps(t)
	create := func(name string) *corev1.ConfigMap {
		t.Helper()
		obj, err := s.Create(ctx, ns, name, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string]string{"v": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*corev1.ConfigMap)
	}
	change := func(name string) *corev1.ConfigMap {
		t.Helper()
		obj, _, err := s.Update(ctx, ns, name, func(cur runtime.Object) (runtime.Object, error) {
			next := cur.(*corev1.ConfigMap).DeepCopy()
			next.Data = map[string]string{"v": "2"}
			return next, nil
		}, false)
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*corev1.ConfigMap)
	}
	gone := func(name string) bool {
		_, err := s.Get(ctx, ns, name)
		return apierrors.IsNotFound(err)
	}

	known := create("current")
	out, err := s.Delete(ctx, ns, "current", known, Preconditions{ResourceVersion: &known.ResourceVersion}, nil)
	if err != nil || !gone("current") || data(out)["v"] != "1" {
		t.Fatalf("delete of the known current object: %v (gone %v)", err, gone("current"))
	}
	if data(known)["v"] != "1" || known.ResourceVersion == out.(*corev1.ConfigMap).ResourceVersion {
		t.Error("Delete changed the object it was handed")
	}

	// The caller's resourceVersion is stale: Conflict, nothing deleted.
	known = create("changed")
	change("changed")
	if _, err := s.Delete(ctx, ns, "changed", known, Preconditions{ResourceVersion: &known.ResourceVersion}, nil); !apierrors.IsConflict(err) || gone("changed") {
		t.Errorf("delete with a stale resourceVersion: %v (gone %v), want Conflict", err, gone("changed"))
	}
	// No precondition: the current object is deleted and returned.
	out, err = s.Delete(ctx, ns, "changed", known, Preconditions{}, nil)
	if err != nil || !gone("changed") || data(out)["v"] != "2" {
		t.Errorf("delete from a stale copy: %v, returned %v (gone %v), want the current object deleted", err, out, gone("changed"))
	}

	// A check that refuses the stale copy is asked again about the
	// current one.
	known = create("checked")
	change("checked")
	var calls atomic.Int32
	_, err = s.Delete(ctx, ns, "checked", known, Preconditions{}, func(cur runtime.Object) error {
		calls.Add(1)
		if data(cur)["v"] != "2" {
			return apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "checked", errors.New("old"))
		}
		return nil
	})
	if err != nil || !gone("checked") || calls.Load() != 2 {
		t.Errorf("delete with a check: %v after %d checks (gone %v), want success after 2", err, calls.Load(), gone("checked"))
	}

	// Deleted behind the caller's back.
	known = create("twice")
	if _, err := s.Delete(ctx, ns, "twice", nil, Preconditions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, ns, "twice", known, Preconditions{}, nil); !apierrors.IsNotFound(err) {
		t.Errorf("delete of a deleted object: %v, want NotFound", err)
	}
}
