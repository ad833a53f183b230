package openapi

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// param is one path or query parameter of an operation.
type param struct {
	name        string
	in          string // "path" or "query"
	typ         string // "string", "boolean" or "integer"
	description string
	required    bool
}

func pathParam(name, description string) param {
	return param{name: name, in: "path", typ: "string", description: description, required: true}
}

var (
	namespaceParam = pathParam("namespace", "object name and auth scope, such as for teams and projects")
	prettyParam    = param{name: "pretty", in: "query", typ: "string", description: "If 'true', then the output is pretty printed."}
)

// Query parameters of each verb, read off the option structs the server
// decodes them into, as kube-apiserver derives them. PATCH (and create
// and update) list fieldValidation: kubectl looks for it on PATCH to know
// the server validates fields itself.
var (
	listParams        = optionParams(metav1.ListOptions{})
	createParams      = optionParams(metav1.CreateOptions{})
	updateParams      = optionParams(metav1.UpdateOptions{})
	patchParams       = optionParams(metav1.PatchOptions{})
	deleteParams      = optionParams(metav1.DeleteOptions{})
	logParams         = optionParams(corev1.PodLogOptions{})
	execParams        = optionParams(corev1.PodExecOptions{})
	attachParams      = optionParams(corev1.PodAttachOptions{})
	portForwardParams = optionParams(corev1.PodPortForwardOptions{})
)

// optionParams lists the scalar fields of an options struct as query
// parameters, described by the struct's SwaggerDoc. Fields that cannot be
// given in a query (preconditions, kind, apiVersion) are left out.
func optionParams(options interface{}) []param {
	var out []param
	for _, f := range jsonFields(reflect.TypeOf(options)) {
		if f.name == "kind" || f.name == "apiVersion" {
			continue
		}
		typ, ok := queryType(f.typ)
		if !ok {
			continue
		}
		out = append(out, param{name: f.name, in: "query", typ: typ, description: f.doc})
	}
	return out
}

// queryType is the OpenAPI type of a query parameter of Go type t; a
// slice is the parameter repeated.
func queryType(t reflect.Type) (string, bool) {
	t = derefType(t)
	if implements(t, (*schemaTyper)(nil)) {
		return reflect.New(t).Elem().Interface().(schemaTyper).OpenAPISchemaType()[0], true
	}
	switch t.Kind() {
	case reflect.Slice:
		return queryType(t.Elem())
	case reflect.Struct, reflect.Map, reflect.Interface, reflect.Array:
		return "", false
	}
	return primitive(t).Type[0], true
}
