package patch

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

const appliedDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels:
    app: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
`

func applyOpts(manager string) Options {
	return Options{GVK: deploymentGVK, Name: "web", Namespace: "default", FieldManager: manager}
}

func apply(t *testing.T, p *Patcher, current runtime.Object, body string, opts Options) (runtime.Object, []string, error) {
	t.Helper()
	var before runtime.Object
	if current != nil {
		before = current.DeepCopyObject()
	}
	obj, warnings, err := p.Patch(current, types.ApplyYAMLPatchType, []byte(body), opts)
	if current != nil {
		unchanged(t, before, current)
	}
	return obj, warnings, err
}

// stored stands for what the registry does with a created object.
func stored(obj runtime.Object) runtime.Object {
	d := obj.DeepCopyObject().(*appsv1.Deployment)
	d.UID = "d-1"
	d.ResourceVersion = "1"
	return d
}

func TestApplyCreates(t *testing.T) {
	p := newPatcher(t)
	obj, warnings, err := apply(t, p, nil, appliedDeployment, applyOpts("kubectl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings = %q", warnings)
	}
	d := obj.(*appsv1.Deployment)
	if d.Name != "web" || d.Namespace != "default" || *d.Spec.Replicas != 3 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.25" {
		t.Fatalf("created %+v", d)
	}
	if gvk := d.GroupVersionKind(); gvk != deploymentGVK {
		t.Fatalf("kind = %v", gvk)
	}
	if len(d.ManagedFields) != 1 {
		t.Fatalf("managedFields = %+v", d.ManagedFields)
	}
	e := mustEntry(t, obj, "kubectl", metav1.ManagedFieldsOperationApply)
	if e.APIVersion != "apps/v1" || e.FieldsType != "FieldsV1" || e.Time == nil || !owns(e, "f:replicas") || !owns(e, `k:{\"name\":\"web\"}`) {
		t.Fatalf("entry = %+v %s", e, e.FieldsV1.Raw)
	}
}

func TestApplyCreateTakesNamespaceFromURL(t *testing.T) {
	p := newPatcher(t)
	body := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n"
	obj, _, err := apply(t, p, nil, body, Options{
		GVK: schemaGVK("", "v1", "ConfigMap"), Name: "cfg", Namespace: "team", FieldManager: "m",
	})
	if err != nil {
		t.Fatal(err)
	}
	if ns := namespaceOf(t, obj); ns != "team" {
		t.Fatalf("namespace = %q", ns)
	}
}

func TestApplyCreateWipesSystemFields(t *testing.T) {
	p := newPatcher(t)
	body := appliedDeployment + "status:\n  replicas: 9\n"
	body = replaceOnce(body, "  name: web\n", "  name: web\n  creationTimestamp: \"2020-01-01T00:00:00Z\"\n")
	obj, _, err := apply(t, p, nil, body, applyOpts("kubectl"))
	if err != nil {
		t.Fatal(err)
	}
	d := obj.(*appsv1.Deployment)
	if !d.CreationTimestamp.IsZero() {
		t.Fatalf("creationTimestamp kept: %v", d.CreationTimestamp)
	}
	// The status is reset by the strategy, so the applier does not own it.
	if owns(mustEntry(t, obj, "kubectl", metav1.ManagedFieldsOperationApply), "f:status") {
		t.Fatal("the applier owns status")
	}
}

func TestApplyWithUIDToMissingObject(t *testing.T) {
	p := newPatcher(t)
	body := replaceOnce(appliedDeployment, "  name: web\n", "  name: web\n  uid: \"1234\"\n")
	_, _, err := apply(t, p, nil, body, applyOpts("kubectl"))
	checkStatus(t, err, 409, "uid mismatch: the provided object specified uid 1234, and no existing object was found")
}

func TestApplyRequiresFieldManager(t *testing.T) {
	p := newPatcher(t)
	_, _, err := apply(t, p, nil, appliedDeployment, applyOpts(""))
	checkStatus(t, err, 422, "fieldManager: Required value: is required for apply patch")
}

func TestApplyConflict(t *testing.T) {
	p := newPatcher(t)
	// kubectl apply without --server-side: a create, then a strategic merge
	// patch, both by kubectl-client-side-apply.
	created := recorded(t, p, deployment(), nil, "kubectl-client-side-apply", "")
	current, _, err := p.Patch(stored(created), types.StrategicMergePatchType, []byte(`{"spec":{"replicas":2}}`),
		Options{FieldManager: "kubectl-client-side-apply"})
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = apply(t, p, current, appliedDeployment, applyOpts("kubectl"))
	if !apierrors.IsConflict(err) {
		t.Fatalf("want a conflict, got %v", err)
	}
	const want = `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`
	checkStatus(t, err, 409, want)
	status := err.(apierrors.APIStatus).Status()
	if status.Message != want {
		t.Fatalf("message = %q, want %q", status.Message, want)
	}
	if status.Reason != metav1.StatusReasonConflict || len(status.Details.Causes) != 1 ||
		status.Details.Causes[0].Field != ".spec.replicas" || status.Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict {
		t.Fatalf("status = %+v", status)
	}

	// Applying the value the field has is no conflict.
	same := replaceOnce(appliedDeployment, "replicas: 3", "replicas: 2")
	if _, _, err := apply(t, p, current, same, applyOpts("kubectl")); err != nil {
		t.Fatalf("apply of the same value: %v", err)
	}
}

func TestApplyForce(t *testing.T) {
	p := newPatcher(t)
	created := recorded(t, p, deployment(), nil, "kubectl-client-side-apply", "")
	opts := applyOpts("kubectl")
	opts.Force = true
	obj, _, err := apply(t, p, stored(created), appliedDeployment, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := *obj.(*appsv1.Deployment).Spec.Replicas; r != 3 {
		t.Fatalf("replicas = %d", r)
	}
	if !owns(mustEntry(t, obj, "kubectl", metav1.ManagedFieldsOperationApply), "f:replicas") {
		t.Fatal("kubectl does not own spec.replicas")
	}
	if owns(mustEntry(t, obj, "kubectl-client-side-apply", metav1.ManagedFieldsOperationUpdate), "f:replicas") {
		t.Fatal("kubectl-client-side-apply still owns spec.replicas")
	}
	// Fields the applier left alone stay as they were.
	if got := labelsOf(t, obj); !reflect.DeepEqual(got, map[string]string{"app": "web", "tier": "front"}) {
		t.Fatalf("labels = %v", got)
	}
}

func TestApplyRemovesWhatTheManagerNoLongerApplies(t *testing.T) {
	p := newPatcher(t)
	withLabel := replaceOnce(appliedDeployment, "    app: web\nspec:", "    app: web\n    team: a\nspec:")
	first, _, err := apply(t, p, nil, withLabel, applyOpts("ci"))
	if err != nil {
		t.Fatal(err)
	}
	obj, _, err := apply(t, p, stored(first), appliedDeployment, applyOpts("ci"))
	if err != nil {
		t.Fatal(err)
	}
	if got := labelsOf(t, obj); !reflect.DeepEqual(got, map[string]string{"app": "web"}) {
		t.Fatalf("labels = %v", got)
	}
}

func TestApplyBadRequests(t *testing.T) {
	tests := []struct {
		name string
		body string
		opts Options
		msg  string
	}{
		{"not YAML", "a: [", applyOpts("m"), "error decoding YAML"},
		{"another version", replaceOnce(appliedDeployment, "apps/v1", "apps/v1beta1"), applyOpts("m"), ""},
		{"another kind", replaceOnce(appliedDeployment, "kind: Deployment", "kind: StatefulSet"), applyOpts("m"), ""},
		{"managedFields set", replaceOnce(appliedDeployment, "  name: web\n", "  name: web\n  managedFields: [{manager: x}]\n"), applyOpts("m"), "metadata.managedFields must be nil"},
		{"unknown field", replaceOnce(appliedDeployment, "replicas: 3", "replicaz: 3"), applyOpts("m"), ".spec.replicaz: field not declared in schema"},
		{"another name", appliedDeployment, Options{GVK: deploymentGVK, Name: "api", Namespace: "default", FieldManager: "m"}, "does not match the name on the URL (api)"},
		{"duplicate key, strict", replaceOnce(appliedDeployment, "replicas: 3", "replicas: 3\n  replicas: 4"),
			Options{GVK: deploymentGVK, FieldManager: "m", FieldValidation: "Strict"}, "error strict decoding YAML"},
	}
	p := newPatcher(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := apply(t, p, nil, tc.body, tc.opts)
			checkStatus(t, err, 400, tc.msg)
		})
	}
}

func TestApplyDuplicateKeyWarns(t *testing.T) {
	p := newPatcher(t)
	body := replaceOnce(appliedDeployment, "replicas: 3", "replicas: 3\n  replicas: 4")
	obj, warnings, err := apply(t, p, nil, body, applyOpts("m"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !contains(warnings[0], `"replicas" already set in map`) {
		t.Fatalf("warnings = %q", warnings)
	}
	if r := *obj.(*appsv1.Deployment).Spec.Replicas; r != 4 {
		t.Fatalf("replicas = %d", r)
	}
}

func TestApplyJSONBody(t *testing.T) {
	p := newPatcher(t)
	body := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-0"},"spec":{"containers":[{"name":"log","image":"fluentbit"}]}}`
	obj, _, err := apply(t, p, pod(), body, Options{GVK: podGVK, Name: "web-0", Namespace: "default", FieldManager: "m"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"web": "nginx:1.25", "sidecar": "busybox:1.36", "log": "fluentbit"}
	if got := images(t, obj); !reflect.DeepEqual(got, want) {
		t.Fatalf("images = %v, want %v", got, want)
	}
	// The pod had no managedFields: what was there is now owned by
	// before-first-apply, as in Kubernetes.
	if !owns(mustEntry(t, obj, "before-first-apply", metav1.ManagedFieldsOperationUpdate), `k:{\"name\":\"sidecar\"}`) {
		t.Fatal("before-first-apply does not own the sidecar")
	}
}
