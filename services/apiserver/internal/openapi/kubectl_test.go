package openapi

// These tests read the served documents the way kubectl 1.27-1.33 does,
// through client-go's openapi, openapi3 and discovery clients over HTTP,
// and repeat the checks of the kubectl code that consumes them:
// cli-runtime's query param verifiers (v3 and v2), kubectl explain's
// GVK lookup, apply's strategic merge patch from OpenAPI v3, and the
// client-side schema validation kubectl falls back to for lists.

import (
	"encoding/json"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/openapi3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/util/proto/validation"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

var deploymentGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")

// v3Root is what kubectl builds: openapi3.NewRoot over a memory-cached
// client from the discovery client.
func v3Root(t *testing.T) (openapi3.Root, openapi.Client) {
	t.Helper()
	client := cached.NewClient(discoveryClient(t, testServer(t)).OpenAPIV3())
	return openapi3.NewRoot(client), client
}

func TestOpenAPI3RootReadsEveryGroupVersion(t *testing.T) {
	root, _ := v3Root(t)
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(gvs) != len(servedGroupVersions()) {
		t.Fatalf("root lists %v, want %v", gvs, servedGroupVersions())
	}
	for _, gv := range gvs {
		if _, err := root.GVSpec(gv); err != nil {
			t.Errorf("GVSpec(%s): %v", gv, err)
		}
	}
}

func TestAppsV1Deployment(t *testing.T) {
	root, _ := v3Root(t)
	doc, err := root.GVSpec(appsv1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	deployment, ok := doc.Components.Schemas["io.k8s.api.apps.v1.Deployment"]
	if !ok {
		t.Fatal("no io.k8s.api.apps.v1.Deployment")
	}
	if !hasGVK(deployment.Extensions, deploymentGVK) {
		t.Errorf("Deployment lacks its GVK extension: %v", deployment.Extensions)
	}
	if !hasGVK(doc.Components.Schemas["io.k8s.api.apps.v1.DeploymentList"].Extensions, appsv1.SchemeGroupVersion.WithKind("DeploymentList")) {
		t.Error("DeploymentList lacks its GVK extension")
	}

	containers := property(t, doc, deployment, "spec.template.spec.containers")
	if key, _ := containers.Extensions.GetString(extPatchMergeKey); key != "name" {
		t.Errorf("containers patch merge key %q, want name", key)
	}
	if strategy, _ := containers.Extensions.GetString(extPatchStrategy); strategy != "merge" {
		t.Errorf("containers patch strategy %q, want merge", strategy)
	}
	spec := resolve(t, doc, property(t, doc, deployment, "spec"))
	if !equalStrings(spec.Required, []string{"selector", "template"}) {
		t.Errorf("DeploymentSpec required %v", spec.Required)
	}
	replicas := property(t, doc, deployment, "spec.replicas")
	if replicas.Type[0] != "integer" || replicas.Format != "int32" {
		t.Errorf("spec.replicas is %v/%s", replicas.Type, replicas.Format)
	}

	item := doc.Paths.Paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
	if item == nil || item.Patch == nil {
		t.Fatal("no PATCH on deployments/{name}")
	}
	if !hasParam(item.Patch, "fieldValidation") {
		t.Error("PATCH deployments does not list fieldValidation")
	}
	if action, _ := item.Patch.Extensions.GetString(extAction); action != "patch" || !hasGVK(item.Patch.Extensions, deploymentGVK) {
		t.Errorf("PATCH deployments extensions %v", item.Patch.Extensions)
	}
	if _, ok := item.Patch.RequestBody.Content["application/strategic-merge-patch+json"]; !ok {
		t.Error("PATCH deployments does not accept strategic merge patches")
	}
	scale := doc.Paths.Paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
	if scale == nil || !hasGVK(scale.Get.Extensions, schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}) {
		t.Error("deployments/scale is missing or not about autoscaling/v1 Scale")
	}
	if _, ok := doc.Components.Schemas["io.k8s.api.autoscaling.v1.Scale"]; !ok {
		t.Error("apps/v1 lacks io.k8s.api.autoscaling.v1.Scale")
	}
}

func hasParam(op *spec3.Operation, name string) bool {
	for _, p := range op.Parameters {
		if p.Name == name {
			return true
		}
	}
	return false
}

// supportsQueryParamV3 repeats cli-runtime's check
// (pkg/resource/query_param_verifier_v3.go): the first PATCH operation
// carrying the GVK, in map order, decides.
func supportsQueryParamV3(doc *spec3.OpenAPI, gvk schema.GroupVersionKind, param string) bool {
	for _, path := range doc.Paths.Paths {
		op := path.Patch
		if op == nil || !hasGVK(op.Extensions, gvk) {
			continue
		}
		for _, p := range op.Parameters {
			if p.Name == param {
				return true
			}
		}
		return false
	}
	return false
}

func TestEveryKindSupportsFieldValidation(t *testing.T) {
	root, _ := v3Root(t)
	for _, r := range api.Resources {
		doc, err := root.GVSpec(r.GroupVersion())
		if err != nil {
			t.Fatal(err)
		}
		if doc == nil || doc.Paths == nil {
			t.Fatalf("%s: invalid OpenAPI V3 document", r)
		}
		// Every PATCH must pass, since map order picks which one is seen.
		for path, item := range doc.Paths.Paths {
			if item.Patch != nil && !hasParam(item.Patch, "fieldValidation") {
				t.Errorf("PATCH %s lacks fieldValidation", path)
			}
		}
		if !supportsQueryParamV3(doc, r.GVK(), "fieldValidation") {
			t.Errorf("%s: fieldValidation not found for %s", r, r.GVK())
		}
	}
}

// TestExplainFindsEveryKind repeats kubectl explain's template lookup
// (pkg/explain/v2/templates/plaintext.tmpl) on the generic JSON form:
// the GVK of an operation on the resource's list or item path must equal
// an entry of exactly one schema's GVK list.
func TestExplainFindsEveryKind(t *testing.T) {
	root, _ := v3Root(t)
	for _, r := range api.Resources {
		doc, err := root.GVSpecAsMap(r.GroupVersion())
		if err != nil {
			t.Fatal(err)
		}
		paths := doc["paths"].(map[string]interface{})
		prefix := apiPrefix(r.GroupVersion())
		var gvk interface{}
		for _, p := range []string{
			prefix + "/" + r.Resource, prefix + "/" + r.Resource + "/{name}",
			prefix + "/namespaces/{namespace}/" + r.Resource, prefix + "/namespaces/{namespace}/" + r.Resource + "/{name}",
		} {
			item, _ := paths[p].(map[string]interface{})
			for _, method := range []string{"get", "post", "put", "patch", "delete"} {
				if op, ok := item[method].(map[string]interface{}); ok && gvk == nil {
					gvk = op[extGVK]
				}
			}
		}
		if gvk == nil {
			t.Errorf("%s: explain finds no GVK on its paths", r)
			continue
		}
		matches := 0
		for _, s := range doc["components"].(map[string]interface{})["schemas"].(map[string]interface{}) {
			list, _ := s.(map[string]interface{})[extGVK].([]interface{})
			for _, entry := range list {
				if reflect.DeepEqual(entry, gvk) {
					matches++
				}
			}
		}
		if matches != 1 {
			t.Errorf("%s: GVK %v is on %d schemas, want 1", r, gvk, matches)
		}
	}
}

// TestStrategicMergePatchFromV3 computes a patch as kubectl apply does
// with OpenAPI v3 (pkg/cmd/apply/patcher.go) and compares it with the
// patch computed from the Go struct.
func TestStrategicMergePatchFromV3(t *testing.T) {
	root, _ := v3Root(t)
	doc, err := root.GVSpec(appsv1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	var kind *spec.Schema
	for _, s := range doc.Components.Schemas {
		if hasGVK(s.Extensions, deploymentGVK) {
			kind = s
		}
	}
	if kind == nil {
		t.Fatal("no schema with the Deployment GVK")
	}
	fromV3 := strategicpatch.PatchMetaFromOpenAPIV3{Schema: kind, SchemaList: doc.Components.Schemas}
	fromStruct, err := strategicpatch.NewPatchMetaFromStruct(&appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}

	original := deployment(corev1.Container{Name: "web", Image: "nginx:1"}, corev1.Container{Name: "log", Image: "busybox"})
	modified := deployment(corev1.Container{Name: "web", Image: "nginx:2", Env: []corev1.EnvVar{{Name: "A", Value: "1"}}})
	current := deployment(corev1.Container{Name: "web", Image: "nginx:1"}, corev1.Container{Name: "log", Image: "busybox"},
		corev1.Container{Name: "sidecar", Image: "envoy"})
	got, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, fromV3, false)
	if err != nil {
		t.Fatalf("patch from OpenAPI v3: %v", err)
	}
	want, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, fromStruct, false)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("patch from OpenAPI v3\n%s\ndiffers from the struct's\n%s", got, want)
	}
}

func deployment(containers ...corev1.Container) []byte {
	d := appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: containers},
			},
		},
	}
	data, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return data
}

// TestV2ForKubectl reads /openapi/v2 as protobuf through the discovery
// client, parses it as kubectl does (kube-openapi's util/proto), and
// validates objects as kubectl's client-side validation does.
func TestV2ForKubectl(t *testing.T) {
	document, err := discoveryClient(t, testServer(t)).OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	models, err := proto.NewOpenAPIData(document)
	if err != nil {
		t.Fatalf("NewOpenAPIData: %v", err)
	}
	for _, r := range api.Resources {
		if lookupResource(models, r.GVK()) == nil {
			t.Errorf("v2 has no model for %s", r.GVK())
		}
	}
	patchHasFieldValidation := false
	for _, item := range document.GetPaths().GetPath() {
		op := item.GetValue().GetPatch()
		if op == nil {
			continue
		}
		for _, p := range op.GetParameters() {
			if p.GetParameter().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == "fieldValidation" {
				patchHasFieldValidation = true
			}
		}
	}
	if !patchHasFieldValidation {
		t.Error("no v2 PATCH lists fieldValidation")
	}

	model := lookupResource(models, deploymentGVK)
	var valid map[string]interface{}
	if err := json.Unmarshal(deployment(corev1.Container{
		Name: "web", Image: "nginx",
		Ports:     []corev1.ContainerPort{{ContainerPort: 80}},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}},
	}), &valid); err != nil {
		t.Fatal(err)
	}
	valid["spec"].(map[string]interface{})["strategy"] = map[string]interface{}{
		"rollingUpdate": map[string]interface{}{"maxSurge": 1, "maxUnavailable": "25%"},
	}
	if errs := validation.ValidateModel(valid, model, "Deployment"); len(errs) > 0 {
		t.Errorf("a valid Deployment fails validation: %v", errs)
	}
	valid["spec"].(map[string]interface{})["replicaz"] = 3
	if errs := validation.ValidateModel(valid, model, "Deployment"); len(errs) == 0 {
		t.Error("an unknown field passes validation")
	}
}

// lookupResource finds the model of a kind as kubectl's
// pkg/util/openapi does: by the YAML-decoded GVK list extension of the
// v2 definitions.
func lookupResource(models proto.Models, gvk schema.GroupVersionKind) proto.Schema {
	for _, name := range models.ListModels() {
		model := models.LookupModel(name)
		list, _ := model.GetExtensions()[extGVK].([]interface{})
		for _, entry := range list {
			m, ok := entry.(map[interface{}]interface{})
			if ok && m["group"] == gvk.Group && m["version"] == gvk.Version && m["kind"] == gvk.Kind {
				return model
			}
		}
	}
	return nil
}
