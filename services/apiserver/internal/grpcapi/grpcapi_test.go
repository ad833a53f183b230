package grpcapi_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/client/leaderelection"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func TestAuthentication(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  client.Config
		ok   bool
	}{
		{"token", client.Config{Token: cl.adminToken}, true},
		{"client certificate", client.Config{CertData: cl.adminCert.CertPEM, KeyData: cl.adminCert.KeyPEM}, true},
		{"wrong token", client.Config{Token: "wrong"}, false},
		{"nothing", client.Config{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Endpoints = []string{addr}
			c := cl.client(t, tt.cfg)
			_, err := client.Namespaces(c).Get(ctx, "", "default", metav1.GetOptions{})
			switch {
			case tt.ok && err != nil:
				t.Errorf("Get: %v", err)
			case !tt.ok && !apierrors.IsUnauthorized(err):
				t.Errorf("Get: %v, want 401 Unauthorized", err)
			}
		})
	}
}

func TestConfigMapCRUD(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	cms := client.ConfigMaps(c)
	ctx := context.Background()

	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings", Labels: map[string]string{"app": "web"}},
		Data:       map[string]string{"color": "blue"},
	}
	created, err := cms.Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.UID == "" || created.ResourceVersion == "" || created.Data["color"] != "blue" {
		t.Fatalf("created %+v", created)
	}
	if mf := created.ManagedFields; len(mf) != 1 || mf[0].Manager != "grpcapi.test" {
		t.Errorf("managed fields %+v, want one entry of the test binary's user agent", mf)
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second Create: %v, want AlreadyExists", err)
	}

	got, err := cms.Get(ctx, ns, "settings", metav1.GetOptions{})
	if err != nil || got.UID != created.UID {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other"}}
	if _, err := cms.Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := cms.List(ctx, ns, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "settings" || list.ResourceVersion == "" {
		t.Errorf("List by label: %d items, resourceVersion %q", len(list.Items), list.ResourceVersion)
	}
	page, err := cms.List(ctx, ns, metav1.ListOptions{Limit: 1})
	if err != nil || len(page.Items) != 1 || page.Continue == "" {
		t.Errorf("first page: %+v, %v; want one item and a continue token", page.ListMeta, err)
	}

	got.Data["color"] = "green"
	updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || updated.Data["color"] != "green" || updated.ResourceVersion == got.ResourceVersion {
		t.Fatalf("Update: %+v, %v", updated, err)
	}
	patched, err := cms.Patch(ctx, ns, "settings", types.MergePatchType, []byte(`{"data":{"size":"xl"}}`), metav1.PatchOptions{})
	if err != nil || patched.Data["size"] != "xl" || patched.Data["color"] != "green" {
		t.Fatalf("Patch: %+v, %v", patched, err)
	}

	if err := cms.Delete(ctx, ns, "settings", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := cms.Get(ctx, ns, "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
	if err := cms.Delete(ctx, ns, "settings", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second Delete: %v, want NotFound", err)
	}
}

func TestInvalidObject(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	bad := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "Not_A_Name"}}
	_, err := client.ConfigMaps(c).Create(context.Background(), bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("Create: %v, want 422 Invalid", err)
	}
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.ErrStatus.Details == nil || len(se.ErrStatus.Details.Causes) == 0 {
		t.Fatalf("Invalid error without causes: %#v", err)
	}
	if f := se.ErrStatus.Details.Causes[0].Field; f != "metadata.name" {
		t.Errorf("cause field %q, want metadata.name", f)
	}
}

func TestPodBindStatusAndDelete(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	pods := client.Pods(c)
	ctx := context.Background()

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
	}
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Target:     corev1.ObjectReference{Kind: "Node", Name: "node-1"},
	}
	if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("second Bind: %v, want Conflict", err)
	}
	bound, err := pods.Get(ctx, ns, "web", metav1.GetOptions{})
	if err != nil || bound.Spec.NodeName != "node-1" {
		t.Fatalf("after Bind: nodeName %q, %v", bound.Spec.NodeName, err)
	}
	// As in Kubernetes, a binding leaves the pod's managedFields alone.
	if !equality.Semantic.DeepEqual(bound.ManagedFields, created.ManagedFields) {
		t.Errorf("managedFields after Bind = %v, want them unchanged: %v", bound.ManagedFields, created.ManagedFields)
	}

	bound.Status.Phase = corev1.PodRunning
	bound.Spec.NodeName = "ignored-by-status-update"
	running, err := pods.UpdateStatus(ctx, bound, metav1.UpdateOptions{})
	if err != nil || running.Status.Phase != corev1.PodRunning || running.Spec.NodeName != "node-1" {
		t.Fatalf("UpdateStatus: phase %q node %q, %v", running.Status.Phase, running.Spec.NodeName, err)
	}
	patched, err := pods.Patch(ctx, ns, "web", types.MergePatchType, []byte(`{"status":{"podIP":"10.244.0.5"}}`),
		metav1.PatchOptions{}, "status")
	if err != nil || patched.Status.PodIP != "10.244.0.5" {
		t.Fatalf("Patch of status: %q, %v", patched.Status.PodIP, err)
	}
	if _, err := client.ConfigMaps(c).Patch(ctx, ns, "x", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{}, "status"); !apierrors.IsBadRequest(err) {
		t.Errorf("Patch of the status of a configmap: %v, want BadRequest", err)
	}

	if err := pods.Delete(ctx, ns, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := pods.Get(ctx, ns, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
}

func TestClusterScoped(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	nodes := client.Nodes(c)
	ctx := context.Background()
	name := "node-" + randomHex(3)
	if _, err := nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	list, err := nodes.List(ctx, "", metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("List: %v, %v", list, err)
	}
	if err := nodes.Delete(ctx, "", name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func TestConflictOnStaleResourceVersion(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	cms := client.ConfigMaps(c)
	ctx := context.Background()
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cas"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := cm.DeepCopy()
	cm.Data = map[string]string{"writer": "first"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("first Update: %v", err)
	}
	stale.Data = map[string]string{"writer": "second"}
	if _, err := cms.Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("Update at a stale resourceVersion: %v, want 409 Conflict", err)
	}
	rv := stale.ResourceVersion
	err = cms.Delete(ctx, ns, "cas", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	if !apierrors.IsConflict(err) {
		t.Errorf("Delete with a stale precondition: %v, want 409 Conflict", err)
	}
}

func TestWatchResumesFromResourceVersion(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	cms := client.ConfigMaps(c)
	ctx := context.Background()
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	from := cm.ResourceVersion
	var want []string
	for _, v := range []string{"1", "2"} {
		cm.Data = map[string]string{"v": v}
		if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		want = append(want, cm.ResourceVersion)
	}

	w, err := cms.Watch(ctx, ns, metav1.ListOptions{ResourceVersion: from})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()
	for i, rv := range want {
		e := next(t, w)
		got := e.Object.(*corev1.ConfigMap)
		if e.Type != watch.Modified || got.ResourceVersion != rv || got.Data["v"] != []string{"1", "2"}[i] {
			t.Fatalf("event %d: %s at %s %v, want MODIFIED at %s", i, e.Type, got.ResourceVersion, got.Data, rv)
		}
	}
	// And live events after the history.
	if err := cms.Delete(ctx, ns, "w", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if e := next(t, w); e.Type != watch.Deleted {
		t.Fatalf("event after delete: %s", e.Type)
	}
}

func TestWatchInitialEventsAndBookmark(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	cms := client.ConfigMaps(c)
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := cms.Watch(ctx, ns, metav1.ListOptions{
		SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
	})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()
	for _, name := range []string{"a", "b"} {
		if e := next(t, w); e.Type != watch.Added || e.Object.(*corev1.ConfigMap).Name != name {
			t.Fatalf("initial event %s %s, want ADDED %s", e.Type, e.Object.(*corev1.ConfigMap).Name, name)
		}
	}
	e := next(t, w)
	bm := e.Object.(*corev1.ConfigMap)
	if e.Type != watch.Bookmark || bm.Annotations[metav1.InitialEventsAnnotationKey] != "true" || bm.ResourceVersion == "" {
		t.Fatalf("after the initial events: %s %+v, want the end-of-initial-events bookmark", e.Type, bm.ObjectMeta)
	}
}

func TestWatchTooOldResourceVersion(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t) // its caches start after the store's first writes
	c := cl.adminClient(t, addr)
	w, err := client.ConfigMaps(c).Watch(context.Background(), "", metav1.ListOptions{ResourceVersion: "1"})
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("Watch at resourceVersion 1: %v, %v; want 410 Expired", w, err)
	}
	if code := err.(apierrors.APIStatus).Status().Code; code != 410 {
		t.Errorf("code %d, want 410", code)
	}
}

func TestInformer(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	cms := client.ConfigMaps(c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "before",
		Labels: map[string]string{"tier": "db"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	factory := client.NewInformerFactory(c, ns, 0)
	informer := client.InformerFor(factory, client.ConfigMaps)
	if again := client.InformerFor(factory, client.ConfigMaps); again != informer {
		t.Error("the factory made a second informer of configmaps")
	}
	rec := &recorder{}
	if _, err := informer.AddEventHandler(rec); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx)
	defer factory.Wait()
	defer cancel()
	if !factory.WaitForCacheSync(ctx) {
		t.Fatal("informer did not sync")
	}
	eventually(t, 5*time.Second, "the existing object is delivered", func() bool { return rec.has("add before") })

	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{"k": "v"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, ns, "later", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "add, update and delete of later are delivered", func() bool {
		return rec.has("add later") && rec.has("update later") && rec.has("delete later")
	})

	lister := client.Lister(cms, informer)
	dbs, err := lister.List(labels.SelectorFromSet(labels.Set{"tier": "db"}))
	if err != nil || len(dbs) != 1 || dbs[0].Name != "before" {
		t.Errorf("lister by label: %v, %v", dbs, err)
	}
	inNS, err := informer.GetIndexer().ByIndex(cache.NamespaceIndex, ns)
	if err != nil || len(inNS) != 1 {
		t.Errorf("namespace index: %d objects, %v", len(inNS), err)
	}
}

// recorder is an event handler that remembers "add <name>" and the like.
type recorder struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (r *recorder) note(verb string, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[verb+" "+obj.(*corev1.ConfigMap).Name] = true
}

func (r *recorder) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[key]
}

func (r *recorder) OnAdd(obj any, _ bool) { r.note("add", obj) }
func (r *recorder) OnUpdate(_, obj any)   { r.note("update", obj) }
func (r *recorder) OnDelete(obj any)      { r.note("delete", obj) }

func TestLeaderElection(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)

	type candidate struct {
		leading chan struct{}
		stopped chan struct{} // closed when Run returned err
		err     error
		cancel  context.CancelFunc
	}
	start := func(id string) *candidate {
		cand := &candidate{leading: make(chan struct{}), stopped: make(chan struct{})}
		e, err := leaderelection.New(leaderelection.Config{
			Leases: client.Leases(c), Namespace: ns, Name: "scheduler", Identity: id,
			LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 200 * time.Millisecond,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.Callbacks{
				OnStartedLeading: func(ctx context.Context) { close(cand.leading); <-ctx.Done() },
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cand.cancel = cancel
		go func() {
			defer close(cand.stopped)
			cand.err = e.Run(ctx)
		}()
		t.Cleanup(func() { cancel(); <-cand.stopped })
		return cand
	}

	a := start("a")
	waitLeading(t, a.leading, "a")
	b := start("b")
	select {
	case <-b.leading:
		t.Fatal("b leads while a renews")
	case <-time.After(3 * time.Second): // longer than the lease duration
	}

	a.cancel()
	<-a.stopped
	if a.err != nil {
		t.Fatalf("a.Run: %v", a.err)
	}
	waitLeading(t, b.leading, "b")
	lease, err := client.Leases(c).Get(context.Background(), ns, "scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h != "b" || *lease.Spec.LeaseTransitions != 1 {
		t.Errorf("lease holder %v, transitions %v; want b after one transition", h, lease.Spec.LeaseTransitions)
	}
}

func waitLeading(t *testing.T, ch <-chan struct{}, id string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not become leader", id)
	}
}

func TestFailoverBetweenAPIServers(t *testing.T) {
	cl := newCluster(t)
	first, stopFirst := cl.startServer(t)
	second, stopSecond := cl.startServer(t)
	c := cl.adminClient(t, first, second)
	ctx := context.Background()
	get := func() error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := client.Namespaces(c).Get(ctx, "", "default", metav1.GetOptions{})
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	stopFirst()
	for i := range 5 {
		if err := get(); err != nil {
			t.Fatalf("call %d with the first server stopped: %v", i, err)
		}
	}
	stopSecond()
	if err := get(); !apierrors.IsServiceUnavailable(err) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with both servers stopped: %v, want unavailable", err)
	}
}

// next returns the watch's next event.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case e, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch ended")
		}
		if e.Type == watch.Error {
			t.Fatalf("watch error: %v", apierrors.FromObject(e.Object))
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return watch.Event{}
}

// TestRESTOnTheSamePort checks that the gRPC dispatch leaves REST
// requests, HTTP/2 ones included, to the REST facade.
func TestRESTOnTheSamePort(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cl.ca.PEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/api/v1/namespaces/default", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cl.adminToken)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || !strings.Contains(string(body), `"kind":"Namespace"`) {
		t.Fatalf("GET over %s: %d %s", resp.Proto, resp.StatusCode, body)
	}
}
