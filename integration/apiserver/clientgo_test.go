package apiserver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func newDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx:1.25"}}},
			},
		},
	}
}

// TestClientGoCRUD drives typed clients in JSON and in protobuf.
func TestClientGoCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "crud")
	for _, tc := range []struct{ name, contentType string }{
		{"json", "application/json"},
		{"protobuf", "application/vnd.kubernetes.protobuf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			contentType := tc.contentType
			cfg := e.config(0)
			cfg.ContentType = contentType
			cfg.AcceptContentTypes = contentType
			c, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			name := "web-" + tc.name
			deployments := c.AppsV1().Deployments(e.ns)
			created, err := deployments.Create(e.ctx, newDeployment(name, 1), metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if created.UID == "" || created.ResourceVersion == "" || created.CreationTimestamp.IsZero() || created.Generation != 1 {
				t.Errorf("created: uid %q, resourceVersion %q, creationTimestamp %v, generation %d, want all set and generation 1",
					created.UID, created.ResourceVersion, created.CreationTimestamp, created.Generation)
			}
			// Defaults are applied.
			if created.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || *created.Spec.RevisionHistoryLimit != 10 ||
				created.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || created.Spec.Template.Spec.Containers[0].TerminationMessagePath != "/dev/termination-log" {
				t.Errorf("created deployment lacks Kubernetes' defaults: %+v", created.Spec)
			}

			got, err := deployments.Get(e.ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if got.ResourceVersion != created.ResourceVersion || got.UID != created.UID {
				t.Errorf("get = rv %s uid %s, want rv %s uid %s", got.ResourceVersion, got.UID, created.ResourceVersion, created.UID)
			}

			got.Spec.Replicas = ptr.To[int32](3)
			updated, err := deployments.Update(e.ctx, got, metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			if *updated.Spec.Replicas != 3 || updated.Generation != 2 || updated.ResourceVersion == got.ResourceVersion {
				t.Errorf("updated: replicas %d, generation %d, rv %s (was %s), want 3, 2 and a new rv",
					*updated.Spec.Replicas, updated.Generation, updated.ResourceVersion, got.ResourceVersion)
			}
			if _, err := deployments.Update(e.ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
				t.Errorf("update at a stale resourceVersion: %v, want Conflict", err)
			}

			updated.Status.Replicas, updated.Status.ObservedGeneration = 3, 2
			status, err := deployments.UpdateStatus(e.ctx, updated, metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("update status: %v", err)
			}
			if status.Status.Replicas != 3 || status.Generation != 2 {
				t.Errorf("after status update: status.replicas %d, generation %d, want 3 and 2", status.Status.Replicas, status.Generation)
			}
			// A spec change through status is ignored, a status change
			// through the main resource too.
			status.Spec.Replicas = ptr.To[int32](9)
			status.Status.Replicas = 7
			if status, err = deployments.UpdateStatus(e.ctx, status, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if *status.Spec.Replicas != 3 || status.Status.Replicas != 7 {
				t.Errorf("status update changed spec.replicas to %d (want 3) and status.replicas to %d (want 7)", *status.Spec.Replicas, status.Status.Replicas)
			}

			patched, err := deployments.Patch(e.ctx, name, types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"patched":"yes"}}}`), metav1.PatchOptions{})
			if err != nil {
				t.Fatalf("patch: %v", err)
			}
			if patched.Labels["patched"] != "yes" || patched.Labels["app"] != name {
				t.Errorf("patched labels = %v", patched.Labels)
			}

			list, err := deployments.List(e.ctx, metav1.ListOptions{LabelSelector: "patched=yes,app=" + name})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if len(list.Items) != 1 || list.Items[0].Name != name || list.ResourceVersion == "" {
				t.Errorf("list = %d items, rv %q, want %s", len(list.Items), list.ResourceVersion, name)
			}

			gen, err := c.CoreV1().ConfigMaps(e.ns).Create(e.ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}, Data: map[string]string{"k": "v"},
				BinaryData: map[string][]byte{"bin": {0, 1, 2, 255}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create with generateName: %v", err)
			}
			if !strings.HasPrefix(gen.Name, "gen-") || len(gen.Name) != len("gen-")+5 || string(gen.BinaryData["bin"]) != "\x00\x01\x02\xff" {
				t.Errorf("generated name %q, binaryData %v, want gen-xxxxx and the bytes", gen.Name, gen.BinaryData)
			}

			if err := deployments.Delete(e.ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("wrong"))}}); !apierrors.IsConflict(err) {
				t.Errorf("delete with a wrong UID precondition: %v, want Conflict", err)
			}
			if err := deployments.Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := deployments.Get(e.ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get after delete: %v, want NotFound", err)
			}
			if err := deployments.Delete(e.ctx, name, metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("second delete: %v, want NotFound", err)
			}
		})
	}
}

// TestClientGoPagination lists in pages, as informers and kubectl do.
func TestClientGoPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "pages")
	cms := e.kube.CoreV1().ConfigMaps(e.ns)
	for i := range 7 {
		if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 3}
	var firstRV string
	for pages := 0; ; pages++ {
		list, err := cms.List(e.ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if pages == 0 {
			firstRV = list.ResourceVersion
			if list.RemainingItemCount == nil || *list.RemainingItemCount != 4 {
				t.Errorf("remainingItemCount of the first page = %v, want 4", list.RemainingItemCount)
			}
			// A write between pages does not show: pages share one revision.
			if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-late"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if list.ResourceVersion != firstRV {
			t.Errorf("page %d resourceVersion = %s, want the first page's %s", pages, list.ResourceVersion, firstRV)
		}
		for _, cm := range list.Items {
			names = append(names, cm.Name)
		}
		if list.Continue == "" {
			break
		}
		if pages > 5 {
			t.Fatal("too many pages")
		}
		opts.Continue = list.Continue
	}
	if got, want := strings.Join(names, ","), "cm-0,cm-1,cm-2,cm-3,cm-4,cm-5,cm-6"; got != want {
		t.Errorf("paged list = %s, want %s", got, want)
	}
}

// collect reads events from w until n arrived or the timeout passed.
func collect(t *testing.T, w watch.Interface, n int, timeout time.Duration) []watch.Event {
	t.Helper()
	var evs []watch.Event
	deadline := time.After(timeout)
	for len(evs) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed after %d events, want %d", len(evs), n)
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			evs = append(evs, ev)
		case <-deadline:
			t.Fatalf("got %d events in %v, want %d: %v", len(evs), timeout, n, describeEvents(evs))
		}
	}
	return evs
}

func describeEvents(evs []watch.Event) string {
	var parts []string
	for _, ev := range evs {
		if cm, ok := ev.Object.(*corev1.ConfigMap); ok {
			parts = append(parts, fmt.Sprintf("%s %s@%s", ev.Type, cm.Name, cm.ResourceVersion))
		} else {
			parts = append(parts, fmt.Sprintf("%s %T", ev.Type, ev.Object))
		}
	}
	return strings.Join(parts, ", ")
}

func TestClientGoWatchResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "resume")
	cms := e.kube.CoreV1().ConfigMaps(e.ns)
	list, err := cms.List(e.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.Data = map[string]string{"k": "v"}
	if a, err = cms.Update(e.ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(e.ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	w, err := cms.Watch(e.ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	evs := collect(t, w, 4, 10*time.Second)
	w.Stop()
	if got, want := describeTypes(evs), "ADDED a, MODIFIED a, ADDED b, DELETED a"; got != want {
		t.Errorf("watch from the list's resourceVersion = %s, want %s", got, want)
	}
	var last string
	for _, ev := range evs {
		rv := ev.Object.(*corev1.ConfigMap).ResourceVersion
		if last != "" && !lessRV(last, rv) {
			t.Errorf("resourceVersions not increasing: %s then %s", last, rv)
		}
		last = rv
	}

	// Resuming from the update's resourceVersion sees only what followed.
	w, err = cms.Watch(e.ctx, metav1.ListOptions{ResourceVersion: a.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	evs = collect(t, w, 2, 10*time.Second)
	if got, want := describeTypes(evs), "ADDED b, DELETED a"; got != want {
		t.Errorf("watch resumed after the update = %s, want %s", got, want)
	}
	if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := describeTypes(collect(t, w, 1, 10*time.Second)), "ADDED c"; got != want {
		t.Errorf("live event = %s, want %s", got, want)
	}

	t.Run("selector", func(t *testing.T) {
		w, err := cms.Watch(e.ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, FieldSelector: "metadata.name=b"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if got, want := describeTypes(collect(t, w, 1, 10*time.Second)), "ADDED b"; got != want {
			t.Errorf("watch with a field selector = %s, want %s", got, want)
		}
	})
	t.Run("bookmarks and initial events", func(t *testing.T) {
		w, err := cms.Watch(e.ctx, metav1.ListOptions{
			SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true,
			ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		var names []string
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-w.ResultChan():
				if ev.Type == watch.Bookmark {
					m, _ := ev.Object.(*corev1.ConfigMap)
					if m == nil || m.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
						continue
					}
					slices.Sort(names)
					if got, want := strings.Join(names, ","), "b,c"; got != want {
						t.Errorf("initial events = %s, want %s", got, want)
					}
					return
				}
				names = append(names, ev.Object.(*corev1.ConfigMap).Name)
			case <-deadline:
				t.Fatalf("no initial-events-end bookmark; saw %v", names)
			}
		}
	})
}

func describeTypes(evs []watch.Event) string {
	var parts []string
	for _, ev := range evs {
		name := "?"
		if m, ok := ev.Object.(metav1.Object); ok {
			name = m.GetName()
		}
		parts = append(parts, string(ev.Type)+" "+name)
	}
	return strings.Join(parts, ", ")
}

// lessRV compares resourceVersions, which are decimal revisions here.
func lessRV(a, b string) bool {
	return len(a) < len(b) || len(a) == len(b) && a < b
}

// TestClientGoInformer syncs an informer and follows changes.
func TestClientGoInformer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "informer")
	cms := e.kube.CoreV1().ConfigMaps(e.ns)
	for i := range 5 {
		if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pre-%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(e.client(1), 0, informers.WithNamespace(e.ns))
	inf := factory.Core().V1().ConfigMaps()
	var mu sync.Mutex
	counts := map[string]int{}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { mu.Lock(); counts["add"]++; mu.Unlock() },
		UpdateFunc: func(_, _ any) { mu.Lock(); counts["update"]++; mu.Unlock() },
		DeleteFunc: func(any) { mu.Lock(); counts["delete"]++; mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer func() { cancel(); factory.Shutdown() }()
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("informer of %v did not sync", typ)
		}
	}
	lister := inf.Lister().ConfigMaps(e.ns)
	if got, err := lister.List(labels.Everything()); err != nil || len(got) != 5 {
		t.Fatalf("synced informer holds %d configmaps (%v), want 5", len(got), err)
	}

	// Writes through the other API server reach the informer.
	if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "new"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Patch(e.ctx, "pre-0", types.MergePatchType, []byte(`{"data":{"v":"2"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(e.ctx, "pre-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if counts["add"] != 6 || counts["update"] != 1 || counts["delete"] != 1 {
			return fmt.Errorf("handler calls %v, want 6 adds, 1 update, 1 delete", counts)
		}
		return nil
	})
	if cm, err := lister.Get("pre-0"); err != nil || cm.Data["v"] != "2" {
		t.Errorf("informer's pre-0 = %v (%v), want data v=2", cm, err)
	}
	if _, err := lister.Get("pre-1"); !apierrors.IsNotFound(err) {
		t.Errorf("informer's pre-1: %v, want NotFound", err)
	}
}

// TestClientGoDynamic drives unstructured objects.
func TestClientGoDynamic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "dynamic")
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	res := e.dyn.Resource(gvr).Namespace(e.ns)
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(newDeployment("dyn", 2))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	created, err := res.Create(e.ctx, u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.GetUID() == "" || created.GetKind() != "Deployment" || created.GetAPIVersion() != "apps/v1" {
		t.Errorf("created: uid %q kind %q apiVersion %q", created.GetUID(), created.GetKind(), created.GetAPIVersion())
	}
	if r, _, _ := unstructured.NestedInt64(created.Object, "spec", "replicas"); r != 2 {
		t.Errorf("created replicas = %d, want 2", r)
	}
	if err := unstructured.SetNestedField(created.Object, int64(4), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	updated, err := res.Update(e.ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if r, _, _ := unstructured.NestedInt64(updated.Object, "spec", "replicas"); r != 4 {
		t.Errorf("updated replicas = %d, want 4", r)
	}
	patched, err := res.Patch(e.ctx, "dyn", types.JSONPatchType, []byte(`[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}]`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("json patch: %v", err)
	}
	if got := patched.GetAnnotations()["a"]; got != "b" {
		t.Errorf("annotation after json patch = %q, want b", got)
	}
	list, err := res.List(e.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.GetKind() != "DeploymentList" || list.GetResourceVersion() == "" {
		t.Errorf("list: %d items, kind %q, rv %q", len(list.Items), list.GetKind(), list.GetResourceVersion())
	}
	scale, err := res.Get(e.ctx, "dyn", metav1.GetOptions{}, "scale")
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	if scale.GetKind() != "Scale" || scale.GetAPIVersion() != "autoscaling/v1" {
		t.Errorf("scale subresource = %s %s, want autoscaling/v1 Scale", scale.GetAPIVersion(), scale.GetKind())
	}
	if r, _, _ := unstructured.NestedInt64(scale.Object, "spec", "replicas"); r != 4 {
		t.Errorf("scale replicas = %d, want 4", r)
	}
	if err := res.DeleteCollection(e.ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=dyn"}); err != nil {
		t.Fatalf("delete collection: %v", err)
	}
	if list, err := res.List(e.ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 0 {
		t.Errorf("after delete collection: %d items (%v), want none", len(list.Items), err)
	}
	nsList, err := e.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(e.ctx, e.ns, metav1.GetOptions{})
	if err != nil || nsList.GetName() != e.ns {
		t.Errorf("get of a cluster-scoped object: %v (%v)", nsList, err)
	}
}

// TestClientGoServerSideApply applies with apply configurations.
func TestClientGoServerSideApply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "ssa-go")
	deployments := e.kube.AppsV1().Deployments(e.ns)
	labels := map[string]string{"app": "web"}
	apply := func(manager string, replicas int32, force bool) (*appsv1.Deployment, error) {
		cfg := appsv1ac.Deployment("web", e.ns).
			WithLabels(labels).
			WithSpec(appsv1ac.DeploymentSpec().
				WithReplicas(replicas).
				WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
				WithTemplate(corev1ac.PodTemplateSpec().
					WithLabels(labels).
					WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("web").WithImage("nginx:1.25")))))
		return deployments.Apply(e.ctx, cfg, metav1.ApplyOptions{FieldManager: manager, Force: force})
	}
	d, err := apply("alpha", 1, false)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(d.ManagedFields) != 1 || d.ManagedFields[0].Manager != "alpha" || d.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managedFields after apply = %+v, want one Apply entry of alpha", d.ManagedFields)
	}
	if _, err := apply("alpha", 2, false); err != nil {
		t.Errorf("re-apply by the owner: %v", err)
	}
	_, err = apply("beta", 3, false)
	if !apierrors.IsConflict(err) {
		t.Fatalf("apply of an owned field by another manager: %v, want Conflict", err)
	}
	if got, want := err.Error(), `Apply failed with 1 conflict: conflict with "alpha": .spec.replicas`; got != want {
		t.Errorf("conflict = %q, want %q", got, want)
	}
	status, _ := err.(apierrors.APIStatus)
	if status == nil || status.Status().Details == nil || len(status.Status().Details.Causes) != 1 ||
		status.Status().Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict || status.Status().Details.Causes[0].Field != ".spec.replicas" {
		t.Errorf("conflict details = %+v, want one FieldManagerConflict cause on .spec.replicas", status)
	}
	if d, err = apply("beta", 3, true); err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas after forced apply = %d, want 3", *d.Spec.Replicas)
	}

	// An update through another path is recorded as an Update entry.
	d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26"
	if d, err = deployments.Update(e.ctx, d, metav1.UpdateOptions{FieldManager: "editor"}); err != nil {
		t.Fatal(err)
	}
	var managers []string
	for _, mf := range d.ManagedFields {
		managers = append(managers, mf.Manager+"/"+string(mf.Operation))
	}
	slices.Sort(managers)
	if got, want := strings.Join(managers, ","), "alpha/Apply,beta/Apply,editor/Update"; got != want {
		t.Errorf("managers = %s, want %s", got, want)
	}
	// Applying a configuration without the field drops it only when no one
	// else owns it; alpha's apply without replicas leaves them.
	cfg := appsv1ac.Deployment("web", e.ns).WithLabels(map[string]string{"extra": "yes"})
	d, err = deployments.Apply(e.ctx, cfg, metav1.ApplyOptions{FieldManager: "gamma"})
	if err != nil {
		t.Fatalf("partial apply: %v", err)
	}
	if d.Labels["extra"] != "yes" || d.Labels["app"] != "web" || *d.Spec.Replicas != 3 {
		t.Errorf("after a partial apply: labels %v replicas %d", d.Labels, *d.Spec.Replicas)
	}

	// Apply creates, also in core.
	cm, err := e.kube.CoreV1().ConfigMaps(e.ns).Apply(e.ctx, corev1ac.ConfigMap("applied", e.ns).WithData(map[string]string{"a": "1"}), metav1.ApplyOptions{FieldManager: "alpha"})
	if err != nil {
		t.Fatalf("apply of a new configmap: %v", err)
	}
	if cm.Data["a"] != "1" || cm.UID == "" {
		t.Errorf("applied configmap = %+v", cm)
	}
}
