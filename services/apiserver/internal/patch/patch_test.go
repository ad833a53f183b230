package patch

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

type patchCase struct {
	name    string
	current runtime.Object
	typ     types.PatchType
	body    string
	opts    Options
	// On success, check looks at the result; on failure the error must be
	// a status with code and a message holding msg.
	check func(t *testing.T, obj runtime.Object, warnings []string)
	code  int32
	msg   string
}

func TestPatchDeployment(t *testing.T) {
	runPatchCases(t, []patchCase{
		{
			name: "strategic merge patch merges containers by name",
			typ:  types.StrategicMergePatchType,
			body: `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				want := map[string]string{"web": "nginx:1.27", "sidecar": "busybox:1.36"}
				if got := images(t, obj); !reflect.DeepEqual(got, want) {
					t.Fatalf("images = %v, want %v", got, want)
				}
				if ports := containers(t, obj)[0].Ports; len(ports) != 1 {
					t.Fatalf("web lost its ports: %v", ports)
				}
			},
		},
		{
			name: "strategic merge patch deletes a container with $patch: delete",
			typ:  types.StrategicMergePatchType,
			body: `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if got := images(t, obj); !reflect.DeepEqual(got, map[string]string{"web": "nginx:1.25"}) {
					t.Fatalf("images = %v", got)
				}
			},
		},
		{
			name: "strategic merge patch replaces a list with $patch: replace",
			typ:  types.StrategicMergePatchType,
			body: `{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"redis"},{"$patch":"replace"}]}}}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if got := images(t, obj); !reflect.DeepEqual(got, map[string]string{"only": "redis"}) {
					t.Fatalf("images = %v", got)
				}
			},
		},
		{
			name: "strategic merge patch that is not JSON",
			typ:  types.StrategicMergePatchType,
			body: `{"spec":`,
			code: 400,
		},
		{
			name: "strategic merge patch with an unknown field, strict",
			typ:  types.StrategicMergePatchType,
			body: `{"spec":{"replicaz":3}}`,
			opts: Options{FieldValidation: "Strict"},
			code: 422,
			msg:  `strict decoding error: unknown field "spec.replicaz"`,
		},
		{
			name: "json patch replaces the replicas",
			typ:  types.JSONPatchType,
			body: `[{"op":"replace","path":"/spec/replicas","value":5}]`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if r := *obj.(*appsv1.Deployment).Spec.Replicas; r != 5 {
					t.Fatalf("replicas = %d", r)
				}
			},
		},
		{
			name: "json patch whose test operation fails",
			typ:  types.JSONPatchType,
			body: `[{"op":"test","path":"/spec/replicas","value":9},{"op":"replace","path":"/spec/replicas","value":5}]`,
			code: 422,
			msg:  "the server rejected our request due to an error in our request",
		},
		{
			name: "json patch that is not a list of operations",
			typ:  types.JSONPatchType,
			body: `{"op":"replace"}`,
			code: 400,
		},
		{
			name: "json patch with too many operations",
			typ:  types.JSONPatchType,
			body: manyOps(MaxJSONPatchOperations + 1),
			code: 413,
			msg:  "The allowed maximum operations in a JSON patch is 10000, got 10001",
		},
		{
			name: "json patch operation with an unknown field warns",
			typ:  types.JSONPatchType,
			body: `[{"op":"replace","path":"/spec/replicas","value":4,"valeu":5}]`,
			check: func(t *testing.T, obj runtime.Object, warnings []string) {
				if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "json patch ") || !strings.Contains(warnings[0], "valeu") {
					t.Fatalf("warnings = %q", warnings)
				}
			},
		},
		{
			name: "merge patch removes a label set to null",
			typ:  types.MergePatchType,
			body: `{"metadata":{"labels":{"tier":null}}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if got := labelsOf(t, obj); !reflect.DeepEqual(got, map[string]string{"app": "web"}) {
					t.Fatalf("labels = %v", got)
				}
			},
		},
		{
			name: "merge patch that is not JSON",
			typ:  types.MergePatchType,
			body: `{"metadata":`,
			code: 400,
		},
		{
			name: "merge patch whose result does not decode",
			typ:  types.MergePatchType,
			body: `{"spec":{"replicas":"five"}}`,
			code: 422,
			msg:  "patch: Invalid value",
		},
		{
			name: "merge patch with an unknown field, strict",
			typ:  types.MergePatchType,
			body: `{"spec":{"replicaz":3}}`,
			opts: Options{FieldValidation: "Strict"},
			code: 422,
			msg:  `unknown field "spec.replicaz"`,
		},
		{
			name:  "merge patch with an unknown field, warn",
			typ:   types.MergePatchType,
			body:  `{"spec":{"replicaz":3,"replicas":3}}`,
			opts:  Options{FieldValidation: "Warn"},
			check: wantWarnings(`unknown field "spec.replicaz"`),
		},
		{
			name:  "merge patch with an unknown field warns by default",
			typ:   types.MergePatchType,
			body:  `{"spec":{"replicaz":3}}`,
			check: wantWarnings(`unknown field "spec.replicaz"`),
		},
		{
			name:  "merge patch with an unknown field, ignore",
			typ:   types.MergePatchType,
			body:  `{"spec":{"replicaz":3}}`,
			opts:  Options{FieldValidation: "Ignore"},
			check: wantWarnings(),
		},
		{
			name:  "merge patch with a duplicate field, warn",
			typ:   types.MergePatchType,
			body:  `{"metadata":{"labels":{"tier":"back","tier":"mid"}}}`,
			check: wantWarnings(`duplicate field "metadata.labels.tier"`),
		},
		{
			name: "patched name must match the URL",
			typ:  types.MergePatchType,
			body: `{"metadata":{"name":"other"}}`,
			opts: Options{Name: "web", Namespace: "default"},
			code: 400,
			msg:  "the name of the object (other) does not match the name on the URL (web)",
		},
		{
			name: "patched namespace must match the URL",
			typ:  types.MergePatchType,
			body: `{"metadata":{"namespace":"other"}}`,
			opts: Options{Name: "web", Namespace: "default"},
			code: 400,
			msg:  "does not match the namespace sent on the request",
		},
		{
			name: "unsupported patch type",
			typ:  "application/json",
			body: `{}`,
			code: 415,
			msg:  "accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
		},
		{
			name: "apply as CBOR is refused",
			typ:  types.ApplyCBORPatchType,
			body: "\xa0",
			opts: Options{FieldManager: "m"},
			code: 415,
		},
		{
			name: "force is for apply only",
			typ:  types.MergePatchType,
			body: `{}`,
			opts: Options{Force: true},
			code: 422,
			msg:  "force: Forbidden: may not be specified for non-apply patch",
		},
		{
			name: "unknown fieldValidation",
			typ:  types.MergePatchType,
			body: `{}`,
			opts: Options{FieldValidation: "Loud"},
			code: 422,
			msg:  "fieldValidation",
		},
		{
			name: "content type parameters are ignored",
			typ:  types.MergePatchType + "; charset=utf-8",
			body: `{"spec":{"replicas":1}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if r := *obj.(*appsv1.Deployment).Spec.Replicas; r != 1 {
					t.Fatalf("replicas = %d", r)
				}
			},
		},
	}, deployment)
}

func TestPatchPod(t *testing.T) {
	runPatchCases(t, []patchCase{
		{
			name: "strategic merge patch merges containers by name",
			typ:  types.StrategicMergePatchType,
			body: `{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37"},{"name":"log","image":"fluentbit"}]}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				want := map[string]string{"web": "nginx:1.25", "sidecar": "busybox:1.37", "log": "fluentbit"}
				if got := images(t, obj); !reflect.DeepEqual(got, want) {
					t.Fatalf("images = %v, want %v", got, want)
				}
			},
		},
		{
			name: "strategic merge patch deletes a container with $patch: delete",
			typ:  types.StrategicMergePatchType,
			body: `{"spec":{"containers":[{"name":"web","$patch":"delete"}]}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if got := images(t, obj); !reflect.DeepEqual(got, map[string]string{"sidecar": "busybox:1.36"}) {
					t.Fatalf("images = %v", got)
				}
			},
		},
		{
			name: "strategic merge patch removes a label set to null",
			typ:  types.StrategicMergePatchType,
			body: `{"metadata":{"labels":{"tier":null}}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if got := labelsOf(t, obj); !reflect.DeepEqual(got, map[string]string{"app": "web"}) {
					t.Fatalf("labels = %v", got)
				}
			},
		},
		{
			name: "strategic merge patch with an unknown field, warn",
			typ:  types.StrategicMergePatchType,
			body: `{"spec":{"containers":[{"name":"web","imag":"x"}]}}`,
			opts: Options{FieldValidation: "Warn"},
			check: func(t *testing.T, obj runtime.Object, warnings []string) {
				wantWarnings(`unknown field "spec.containers[0].imag"`)(t, obj, warnings)
			},
		},
		{
			name: "merge patch removes a label set to null",
			typ:  types.MergePatchType,
			body: `{"metadata":{"labels":{"tier":null}}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if got := labelsOf(t, obj); !reflect.DeepEqual(got, map[string]string{"app": "web"}) {
					t.Fatalf("labels = %v", got)
				}
			},
		},
		{
			name: "merge patch replaces the whole container list",
			typ:  types.MergePatchType,
			body: `{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if got := images(t, obj); !reflect.DeepEqual(got, map[string]string{"web": "nginx:1.27"}) {
					t.Fatalf("images = %v", got)
				}
			},
		},
		{
			name: "json patch adds a label",
			typ:  types.JSONPatchType,
			body: `[{"op":"test","path":"/metadata/labels/app","value":"web"},{"op":"add","path":"/metadata/labels/track","value":"canary"}]`,
			check: func(t *testing.T, obj runtime.Object, _ []string) {
				if got := labelsOf(t, obj)["track"]; got != "canary" {
					t.Fatalf("track = %q", got)
				}
			},
		},
		{
			name: "json patch whose test operation fails",
			typ:  types.JSONPatchType,
			body: `[{"op":"test","path":"/spec/containers/0/image","value":"nginx:1.0"},{"op":"remove","path":"/spec/containers/1"}]`,
			code: 422,
		},
		{
			name: "json patch removing a missing path",
			typ:  types.JSONPatchType,
			body: `[{"op":"remove","path":"/spec/nodeName"}]`,
			code: 422,
		},
		{
			name: "json patch that changes the kind",
			typ:  types.JSONPatchType,
			body: `[{"op":"replace","path":"/kind","value":"Service"}]`,
			code: 422,
		},
	}, func() runtime.Object { return pod() })
}

// runPatchCases runs each case on a fresh current object and checks that
// Patch left it as it was.
func runPatchCases[T runtime.Object](t *testing.T, cases []patchCase, current func() T) {
	p := newPatcher(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := current()
			before := cur.DeepCopyObject()
			obj, warnings, err := p.Patch(cur, tc.typ, []byte(tc.body), tc.opts)
			unchanged(t, before, cur)
			if tc.code != 0 {
				checkStatus(t, err, tc.code, tc.msg)
				return
			}
			if err != nil {
				t.Fatalf("Patch: %v", err)
			}
			if obj == runtime.Object(cur) {
				t.Fatal("Patch returned the current object")
			}
			if tc.check != nil {
				tc.check(t, obj, warnings)
			}
		})
	}
}

func wantWarnings(want ...string) func(*testing.T, runtime.Object, []string) {
	return func(t *testing.T, _ runtime.Object, got []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("warnings = %q, want %q", got, want)
		}
		for i := range want {
			if !strings.Contains(got[i], want[i]) {
				t.Fatalf("warnings = %q, want %q", got, want)
			}
		}
	}
}

func manyOps(n int) string {
	ops := make([]string, n)
	for i := range ops {
		ops[i] = fmt.Sprintf(`{"op":"add","path":"/metadata/annotations/a%d","value":"x"}`, i)
	}
	return "[" + strings.Join(ops, ",") + "]"
}

func TestPatchMissingObject(t *testing.T) {
	p := newPatcher(t)
	_, _, err := p.Patch(nil, types.MergePatchType, []byte(`{}`), Options{GVK: deploymentGVK, Name: "web"})
	checkStatus(t, err, 404, `deployments.apps "web" not found`)
}

func TestPatchResultKeepsKindAndRecordsManager(t *testing.T) {
	p := newPatcher(t)
	tests := []struct {
		typ  types.PatchType
		body string
	}{
		{types.JSONPatchType, `[{"op":"replace","path":"/spec/replicas","value":3}]`},
		{types.MergePatchType, `{"spec":{"replicas":3}}`},
		{types.StrategicMergePatchType, `{"spec":{"replicas":3}}`},
	}
	// As in Kubernetes, an existing object without managedFields is not
	// tracked by updates: start from one that was created with them.
	created := recorded(t, p, deployment(), nil, "creator", "")
	for _, tc := range tests {
		t.Run(string(tc.typ), func(t *testing.T) {
			obj, _, err := p.Patch(created, tc.typ, []byte(tc.body), Options{
				UserAgent: "kubectl/v1.31.0 (linux/amd64) kubernetes/abcdef",
			})
			if err != nil {
				t.Fatal(err)
			}
			if gvk := obj.GetObjectKind().GroupVersionKind(); gvk != deploymentGVK {
				t.Fatalf("kind = %v", gvk)
			}
			e := mustEntry(t, obj, "kubectl", metav1.ManagedFieldsOperationUpdate)
			if e.APIVersion != "apps/v1" || !owns(e, "f:replicas") {
				t.Fatalf("entry = %+v %s", e, e.FieldsV1.Raw)
			}
		})
	}
}

func TestPatchKeepsOtherManagers(t *testing.T) {
	p := newPatcher(t)
	created := recorded(t, p, deployment(), nil, "creator", "")
	obj, _, err := p.Patch(created, types.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}`),
		Options{FieldManager: "kubectl-patch"})
	if err != nil {
		t.Fatal(err)
	}
	if e := mustEntry(t, obj, "creator", metav1.ManagedFieldsOperationUpdate); !owns(e, "f:replicas") {
		t.Fatalf("creator lost spec.replicas: %s", e.FieldsV1.Raw)
	}
	if e := mustEntry(t, obj, "kubectl-patch", metav1.ManagedFieldsOperationUpdate); !owns(e, "f:image") || owns(e, "f:replicas") {
		t.Fatalf("kubectl-patch fields: %s", e.FieldsV1.Raw)
	}
}

func TestPatchDoesNotRaceOnSharedObject(t *testing.T) {
	p := newPatcher(t)
	shared := deployment()
	before := shared.DeepCopyObject()
	done := make(chan error)
	for i := 0; i < 4; i++ {
		go func(i int) {
			body := fmt.Sprintf(`{"spec":{"replicas":%d}}`, i)
			_, _, err := p.Patch(shared, types.StrategicMergePatchType, []byte(body), Options{})
			done <- err
		}(i)
	}
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	unchanged(t, before, shared)
}
