package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func validControllerRevision() *appsv1.ControllerRevision {
	return &appsv1.ControllerRevision{
		ObjectMeta: objectMeta("web-6b7f9c8d4"),
		Data:       runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"web"}}}}}`)},
		Revision:   1,
	}
}

func TestValidateCreateControllerRevision(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.ControllerRevision)
		want   []want
	}{
		{name: "valid revision passes", mutate: func(*appsv1.ControllerRevision) {}},
		{name: "revision 0 passes", mutate: func(cr *appsv1.ControllerRevision) { cr.Revision = 0 }},
		{name: "no data", mutate: func(cr *appsv1.ControllerRevision) { cr.Data = runtime.RawExtension{} },
			want: []want{required("data", "data is mandatory")}},
		{name: "null data", mutate: func(cr *appsv1.ControllerRevision) { cr.Data.Raw = []byte("null") },
			want: []want{required("data", "data is mandatory")}},
		{name: "negative revision", mutate: func(cr *appsv1.ControllerRevision) { cr.Revision = -1 },
			want: []want{invalid("revision", "must be greater than or equal to 0")}},
		{name: "bad name", mutate: func(cr *appsv1.ControllerRevision) { cr.Name = "Web_1" },
			want: []want{invalid("metadata.name", "a lowercase RFC 1123 subdomain")}},
		{name: "no namespace", mutate: func(cr *appsv1.ControllerRevision) { cr.Namespace = "" },
			want: []want{required("metadata.namespace", "")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := validControllerRevision()
			tc.mutate(cr)
			expectErrors(t, ValidateCreate(cr), tc.want...)
		})
	}
}

func TestValidateUpdateControllerRevision(t *testing.T) {
	old := validControllerRevision()
	old.ObjectMeta = stored(old.ObjectMeta)
	tests := []struct {
		name   string
		mutate func(*appsv1.ControllerRevision)
		want   []want
	}{
		{name: "renumbered (a rollback) passes", mutate: func(cr *appsv1.ControllerRevision) { cr.Revision = 4 }},
		{name: "relabelled passes", mutate: func(cr *appsv1.ControllerRevision) { cr.Labels = map[string]string{"a": "b"} }},
		{name: "the same data re-encoded passes", mutate: func(cr *appsv1.ControllerRevision) {
			cr.Data.Raw = []byte(`{ "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "$patch": "replace"}} }`)
		}},
		{name: "data changed", mutate: func(cr *appsv1.ControllerRevision) {
			cr.Data.Raw = []byte(`{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"api"}}}}}`)
		}, want: []want{invalid("data", "field is immutable")}},
		{name: "data removed", mutate: func(cr *appsv1.ControllerRevision) { cr.Data = runtime.RawExtension{} },
			want: []want{required("data", "data is mandatory"), invalid("data", "field is immutable")}},
		{name: "negative revision", mutate: func(cr *appsv1.ControllerRevision) { cr.Revision = -2 },
			want: []want{invalid("revision", "must be greater than or equal to 0")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := old.DeepCopy()
			tc.mutate(cr)
			expectErrors(t, ValidateUpdate(cr, old), tc.want...)
		})
	}
}
