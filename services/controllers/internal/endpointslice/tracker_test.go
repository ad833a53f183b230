package endpointslice

import (
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func trackedSlice(uid, rv string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: "web-" + uid, UID: types.UID(uid), ResourceVersion: rv,
		Labels: map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: ManagedBy},
	}}
}

func TestTracker(t *testing.T) {
	tr := newTracker()
	cache := func(ss ...*discoveryv1.EndpointSlice) []*discoveryv1.EndpointSlice { return ss }

	if tr.stale("ns/web", nil) {
		t.Fatal("nothing written, yet stale")
	}
	if !tr.shouldSync(trackedSlice("a", "5")) {
		t.Fatal("a slice this controller never wrote should sync its service")
	}

	tr.written(trackedSlice("a", "10"))
	if !tr.stale("ns/web", cache()) {
		t.Error("created slice missing from the cache, yet not stale")
	}
	if !tr.stale("ns/web", cache(trackedSlice("a", "9"))) {
		t.Error("cache holds an older version, yet not stale")
	}
	if tr.stale("ns/web", cache(trackedSlice("a", "10"))) {
		t.Error("cache caught up, yet stale")
	}
	if tr.shouldSync(trackedSlice("a", "10")) {
		t.Error("the controller's own write should not sync the service")
	}
	if !tr.shouldSync(trackedSlice("a", "11")) {
		t.Error("someone else's later write should sync the service")
	}

	tr.deleting(trackedSlice("a", "10"))
	if !tr.stale("ns/web", cache(trackedSlice("a", "10"))) {
		t.Error("deleted slice still cached, yet not stale")
	}
	if tr.stale("ns/web", cache()) {
		t.Error("deleted slice gone from the cache, yet stale")
	}
	if !tr.deleted(trackedSlice("a", "10")) {
		t.Error("the controller's own deletion reported as unexpected")
	}

	tr.written(trackedSlice("b", "20"))
	if tr.deleted(trackedSlice("b", "20")) {
		t.Error("someone else's deletion reported as expected")
	}
	if tr.stale("ns/web", cache()) {
		t.Error("a slice seen deleted is still waited for")
	}

	tr.written(trackedSlice("c", "30"))
	tr.forget("ns/web")
	if tr.stale("ns/web", cache()) {
		t.Error("a forgotten service is still waited for")
	}
}
