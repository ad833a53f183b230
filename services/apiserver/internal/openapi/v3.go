package openapi

import (
	"net/http"
	"reflect"

	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// buildV3 renders the routes of one group version as an OpenAPI 3.0
// document. Its components hold every schema the operations reach, so
// that the document stands alone, as kube-apiserver's per group version
// documents do.
func buildV3(routes []route, schemas *schemaSet) *spec3.OpenAPI {
	paths := map[string]*spec3.Path{}
	var roots []string
	for _, r := range routes {
		path := &spec3.Path{PathProps: spec3.PathProps{Parameters: v3Params(r.params)}}
		for _, o := range r.ops {
			op, refs := v3Operation(o, schemas)
			roots = append(roots, refs...)
			setV3Method(path, o.method, op)
		}
		paths[r.path] = path
	}
	return &spec3.OpenAPI{
		Version:    "3.0.0",
		Info:       &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "unversioned"}},
		Paths:      &spec3.Paths{Paths: paths},
		Components: &spec3.Components{Schemas: schemas.closure(roots)},
	}
}

func setV3Method(path *spec3.Path, method string, op *spec3.Operation) {
	switch method {
	case "get":
		path.Get = op
	case "put":
		path.Put = op
	case "post":
		path.Post = op
	case "patch":
		path.Patch = op
	case "delete":
		path.Delete = op
	}
}

// v3Operation renders o and returns the definitions it refers to.
func v3Operation(o operation, schemas *schemaSet) (*spec3.Operation, []string) {
	var refs []string
	content := func(t reflect.Type, mediaTypes []string) map[string]*spec3.MediaType {
		sc := schemas.schemaOf(t)
		if name, ok := definitionName(sc, schemas); ok {
			refs = append(refs, name)
		}
		out := map[string]*spec3.MediaType{}
		for _, mt := range mediaTypes {
			sc := sc
			out[mt] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: &sc}}
		}
		return out
	}
	op := &spec3.Operation{OperationProps: spec3.OperationProps{
		Tags:        []string{o.tag},
		Description: o.description,
		OperationId: o.id,
		Parameters:  v3Params(o.params),
		Responses:   &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{}}},
	}}
	if o.body != nil {
		op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{
			Content:  content(o.body, o.bodyTypes),
			Required: o.method != "delete",
		}}
	}
	responseContent := content(o.response, o.produces)
	for _, code := range o.codes {
		op.Responses.StatusCodeResponses[code] = &spec3.Response{ResponseProps: spec3.ResponseProps{
			Description: http.StatusText(code),
			Content:     responseContent,
		}}
	}
	if o.action != "" {
		op.AddExtension(extAction, o.action)
		op.AddExtension(extGVK, gvkMap(o.gvk))
	}
	return op, refs
}

func v3Params(params []param) []*spec3.Parameter {
	var out []*spec3.Parameter
	for _, p := range params {
		sc := typed(p.typ, "")
		sc.UniqueItems = true
		out = append(out, &spec3.Parameter{ParameterProps: spec3.ParameterProps{
			Name: p.name, In: p.in, Description: p.description, Required: p.required, Schema: &sc,
		}})
	}
	return out
}

// definitionName is the definition a $ref schema points at.
func definitionName(sc spec.Schema, schemas *schemaSet) (string, bool) {
	ref := sc.Ref.String()
	if ref == "" {
		return "", false
	}
	return ref[len(schemas.refPrefix):], true
}
