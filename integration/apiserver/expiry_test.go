package apiserver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
)

// These tests restart an API server or compact the store, so they do not
// run in parallel with the others.

// TestWatchExpiredAfterRestart: an API server that restarts has no history
// from before; a watch from an older resourceVersion gets 410 Gone, and an
// informer recovers by listing again.
func TestWatchExpiredAfterRestart(t *testing.T) {
	e := newEnv(t, "expired")
	cms := e.kube.CoreV1().ConfigMaps(e.ns)
	a, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(e.client(1), 0, informers.WithNamespace(e.ns))
	lister := factory.Core().V1().ConfigMaps().Lister().ConfigMaps(e.ns)
	ctx, cancel := context.WithCancel(e.ctx)
	defer func() { cancel(); factory.Shutdown() }()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	s := e.cp.Servers[1]
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b", "c"} {
		if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := e.cp.WaitReady(e.ctx, s); err != nil {
		t.Fatal(err)
	}

	w, err := e.client(1).CoreV1().ConfigMaps(e.ns).Watch(e.ctx, metav1.ListOptions{ResourceVersion: a.ResourceVersion})
	if err != nil {
		// Kubernetes sends the 410 as an event of an established watch; a
		// client that gets it as the response's status copes as well.
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("watch from before the restart: %v, want 410", err)
		}
		t.Errorf("watch from before the restart failed with %v; Kubernetes answers 200 and an ERROR event", err)
	} else {
		select {
		case ev := <-w.ResultChan():
			err := apierrors.FromObject(ev.Object)
			if ev.Type != watch.Error || !apierrors.IsResourceExpired(err) {
				t.Errorf("first event of a watch from before the restart = %s %v, want ERROR 410 Expired", ev.Type, err)
			} else if want := "too old resource version: " + a.ResourceVersion; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("410 message = %q, want %q...", err.Error(), want)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("no event on a watch from before the restart")
		}
		w.Stop()
	}

	eventually(t, 30*time.Second, func() error {
		got, err := lister.List(labels.Everything())
		if err != nil {
			return err
		}
		var names []string
		for _, cm := range got {
			names = append(names, cm.Name)
		}
		slices.Sort(names)
		if strings.Join(names, ",") != "a,b,c" {
			return fmt.Errorf("informer holds %v, want a, b and c", names)
		}
		return nil
	})
}

// TestListContinueExpired: a continue token whose revision the store has
// compacted gets 410, with a token to go on inconsistently, as Kubernetes
// answers.
func TestListContinueExpired(t *testing.T) {
	e := newEnv(t, "compacted")
	cms := e.kube.CoreV1().ConfigMaps(e.ns)
	for i := range 4 {
		if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := cms.List(e.ctx, metav1.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if first.Continue == "" {
		t.Fatal("no continue token after a first page of 2 of 4")
	}
	if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-9"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	compact(t, e.ctx)

	_, err = cms.List(e.ctx, metav1.ListOptions{Limit: 2, Continue: first.Continue})
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("list with a compacted continue token: %v, want 410 Expired", err)
	}
	const want = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."
	if err.Error() != want {
		t.Errorf("410 message = %q, want %q", err.Error(), want)
	}
	next := err.(apierrors.APIStatus).Status().ListMeta.Continue
	if next == "" {
		t.Fatalf("410 status has no continue token to go on with (Kubernetes gives one)")
	}
	rest, err := cms.List(e.ctx, metav1.ListOptions{Continue: next})
	if err != nil {
		t.Fatalf("list with the inconsistent continue token: %v", err)
	}
	var names []string
	for _, cm := range rest.Items {
		names = append(names, cm.Name)
	}
	if got, want := strings.Join(names, ","), "cm-2,cm-3,cm-9"; got != want {
		t.Errorf("rest of the list = %s, want %s", got, want)
	}
}

// compact compacts the shared store at its current revision.
func compact(t *testing.T, ctx context.Context) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: shared.store.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, "/registry/health")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact: %v", err)
	}
}
