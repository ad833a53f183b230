package grpcapi_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/gantry-dev/gantry/libs/client"
)

// TestEventsExpire checks --event-ttl: an event goes away, with a watch
// event, once the TTL after its last write has passed; other objects
// stay.
func TestEventsExpire(t *testing.T) {
	cl := newCluster(t)
	cl.eventTTL = 2 * time.Second
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	events, cms := client.Events(c), client.ConfigMaps(c)
	ctx := context.Background()

	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stays"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := events.Watch(ctx, ns, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: "e"},
		InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Namespace: ns, Name: "stays"},
		Reason:         "Tested", Message: "expires", Type: corev1.EventTypeNormal, Count: 1,
		Source: corev1.EventSource{Component: "test"},
	}
	created, err := events.Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// An update (a repeated event's count) takes a lease too: the event
	// still goes, counted from this write.
	created.Count = 2
	if _, err := events.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	written := time.Now()
	deadline := time.After(30 * time.Second)
	for deleted := false; !deleted; {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch ended")
			}
			deleted = e.Type == watch.Deleted
		case <-deadline:
			t.Fatal("event not deleted within 30 s of a 2 s TTL")
		}
	}
	if since := time.Since(written); since < 2*time.Second {
		t.Errorf("event deleted %v after its last write, before its 2 s TTL", since)
	}
	if _, err := events.Get(ctx, ns, "e", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Get of the expired event: %v, want NotFound", err)
	}
	if _, err := cms.Get(ctx, ns, "stays", metav1.GetOptions{}); err != nil {
		t.Errorf("the ConfigMap went too: %v", err)
	}
}
