package openapi

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

func defineAll(v3 bool, values ...interface{}) *schemaSet {
	s := newSchemaSet(v3, api.Scheme)
	for _, v := range values {
		s.define(reflect.TypeOf(v))
	}
	return s
}

func TestDefinitionNames(t *testing.T) {
	s := defineAll(true, corev1.Pod{})
	for _, name := range []string{
		"io.k8s.api.core.v1.Pod",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Time",
		"io.k8s.apimachinery.pkg.api.resource.Quantity",
		"io.k8s.apimachinery.pkg.util.intstr.IntOrString",
	} {
		if _, ok := s.defs[name]; !ok {
			t.Errorf("no definition %s", name)
		}
	}
	type local struct{}
	if got := modelName(reflect.TypeOf(local{})); got != "com.github.gantry_dev.gantry.services.apiserver.internal.openapi.local" {
		t.Errorf("name of a type without OpenAPIModelName: %s", got)
	}
}

func TestSpecialTypes(t *testing.T) {
	v3 := defineAll(true, resource.Quantity{}, intstr.IntOrString{}, metav1.Time{}, metav1.MicroTime{}, runtime.RawExtension{})
	v2 := defineAll(false, resource.Quantity{}, intstr.IntOrString{}, metav1.Time{}, metav1.MicroTime{}, runtime.RawExtension{})
	cases := []struct {
		name    string
		v3Types []string // the oneOf types in v3, or the type
		v2Type  string
		format  string
	}{
		{name: "io.k8s.apimachinery.pkg.api.resource.Quantity", v3Types: []string{"string", "number"}, v2Type: "string"},
		{name: "io.k8s.apimachinery.pkg.util.intstr.IntOrString", v3Types: []string{"integer", "string"}, v2Type: "string", format: "int-or-string"},
		{name: "io.k8s.apimachinery.pkg.apis.meta.v1.Time", v3Types: []string{"string"}, v2Type: "string", format: "date-time"},
		{name: "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime", v3Types: []string{"string"}, v2Type: "string", format: "date-time"},
		{name: "io.k8s.apimachinery.pkg.runtime.RawExtension", v3Types: []string{"object"}, v2Type: "object"},
	}
	for _, c := range cases {
		d3, d2 := v3.defs[c.name], v2.defs[c.name]
		var got []string
		if len(d3.OneOf) > 0 {
			for _, o := range d3.OneOf {
				got = append(got, o.Type[0])
			}
		} else {
			got = d3.Type
		}
		if !equalStrings(got, c.v3Types) || d3.Format != c.format {
			t.Errorf("v3 %s: types %v format %q", c.name, got, d3.Format)
		}
		if len(d2.Type) != 1 || d2.Type[0] != c.v2Type || d2.Format != c.format || len(d2.OneOf) > 0 {
			t.Errorf("v2 %s: %v format %q", c.name, d2.Type, d2.Format)
		}
	}
}

func TestFieldShapes(t *testing.T) {
	s := defineAll(true, corev1.Secret{}, networkingv1.Ingress{}, corev1.Pod{})
	prop := func(def, name string) spec.Schema {
		t.Helper()
		p, ok := s.defs[def].Properties[name]
		if !ok {
			t.Fatalf("%s has no property %s", def, name)
		}
		return p
	}

	data := prop("io.k8s.api.core.v1.Secret", "data") // map[string][]byte
	if data.Type[0] != "object" || data.AdditionalProperties.Schema.Type[0] != "string" || data.AdditionalProperties.Schema.Format != "byte" {
		t.Errorf("Secret.data: %+v", data.SchemaProps)
	}
	labels := prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels")
	if labels.AdditionalProperties.Schema.Type[0] != "string" {
		t.Errorf("labels: %+v", labels.SchemaProps)
	}
	created := prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp")
	if len(created.AllOf) != 1 || created.AllOf[0].Ref.String() != "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time" || created.Description == "" {
		t.Errorf("creationTimestamp is not a described allOf $ref to Time: %+v", created.SchemaProps)
	}
	v2Meta := defineAll(false, metav1.ObjectMeta{}).defs["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
	if v2Created := v2Meta.Properties["creationTimestamp"]; v2Created.Ref.String() != "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time" {
		t.Error("v2 creationTimestamp is not a $ref to Time")
	}
	// IngressRule embeds IngressRuleValue without a JSON name: inlined.
	rule := s.defs["io.k8s.api.networking.v1.IngressRule"]
	if _, ok := rule.Properties["http"]; !ok {
		t.Errorf("IngressRule lacks the embedded http field: %v", rule.Properties)
	}
	// TypeMeta is inline and optional.
	pod := s.defs["io.k8s.api.core.v1.Pod"]
	if _, ok := pod.Properties["apiVersion"]; !ok || len(pod.Required) != 0 {
		t.Errorf("Pod: apiVersion missing or something required: %v", pod.Required)
	}
	// Pointers are written as their element.
	if p := prop("io.k8s.api.core.v1.PodSpec", "terminationGracePeriodSeconds"); p.Type[0] != "integer" || p.Format != "int64" {
		t.Errorf("*int64: %+v", p.SchemaProps)
	}
	// Fields without omitempty are required, unless marked +optional.
	container := s.defs["io.k8s.api.core.v1.Container"]
	if !equalStrings(container.Required, []string{"name"}) {
		t.Errorf("Container required %v, want [name]", container.Required)
	}
	if grpc := s.defs["io.k8s.api.core.v1.GRPCAction"]; !equalStrings(grpc.Required, []string{"port"}) {
		t.Errorf("GRPCAction required %v, want [port]", grpc.Required)
	}
	ports := prop("io.k8s.api.core.v1.Container", "ports")
	if key, _ := ports.Extensions.GetString(extPatchMergeKey); key != "containerPort" {
		t.Errorf("Container.ports merge key %q", key)
	}
	if pod.Description == "" || prop("io.k8s.api.core.v1.Pod", "spec").Description == "" {
		t.Error("descriptions from SwaggerDoc are missing")
	}
}

func TestGVKExtensionsComeFromTheScheme(t *testing.T) {
	s := defineAll(true, corev1.Pod{}, corev1.PodList{}, metav1.Status{})
	if !hasGVK(s.defs["io.k8s.api.core.v1.Pod"].Extensions, corev1.SchemeGroupVersion.WithKind("Pod")) {
		t.Error("Pod lacks its GVK")
	}
	if !hasGVK(s.defs["io.k8s.api.core.v1.PodList"].Extensions, corev1.SchemeGroupVersion.WithKind("PodList")) {
		t.Error("PodList lacks its GVK")
	}
	if _, ok := s.defs["io.k8s.api.core.v1.PodSpec"].Extensions[extGVK]; ok {
		t.Error("PodSpec, not a kind, has a GVK")
	}
}
