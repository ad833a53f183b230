package openapi

import (
	"net/http"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// buildV2 renders every route as one Swagger 2.0 document, the form
// /openapi/v2 serves, with every definition the operations reach.
func buildV2(routes []route, schemas *schemaSet) *spec.Swagger {
	paths := map[string]spec.PathItem{}
	var roots []string
	for _, r := range routes {
		item := spec.PathItem{PathItemProps: spec.PathItemProps{Parameters: v2Params(r.params)}}
		for _, o := range r.ops {
			op, refs := v2Operation(o, schemas)
			roots = append(roots, refs...)
			setV2Method(&item, o.method, op)
		}
		paths[r.path] = item
	}
	defs := spec.Definitions{}
	for name, def := range schemas.closure(roots) {
		defs[name] = *def
	}
	return &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "unversioned"}},
		Paths:       &spec.Paths{Paths: paths},
		Definitions: defs,
	}}
}

func setV2Method(item *spec.PathItem, method string, op *spec.Operation) {
	switch method {
	case "get":
		item.Get = op
	case "put":
		item.Put = op
	case "post":
		item.Post = op
	case "patch":
		item.Patch = op
	case "delete":
		item.Delete = op
	}
}

// v2Operation renders o and returns the definitions it refers to.
func v2Operation(o operation, schemas *schemaSet) (*spec.Operation, []string) {
	var refs []string
	schemaOf := func(sc spec.Schema) *spec.Schema {
		if name, ok := definitionName(sc, schemas); ok {
			refs = append(refs, name)
		}
		return &sc
	}
	op := &spec.Operation{OperationProps: spec.OperationProps{
		Tags:        []string{o.tag},
		Description: o.description,
		ID:          o.id,
		Schemes:     []string{"https"},
		Consumes:    o.bodyTypes,
		Produces:    o.produces,
		Parameters:  v2Params(o.params),
		Responses:   &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{}}},
	}}
	if o.body != nil {
		body := spec.Parameter{ParamProps: spec.ParamProps{
			Name: "body", In: "body", Required: o.method != "delete", Schema: schemaOf(schemas.schemaOf(o.body)),
		}}
		op.Parameters = append([]spec.Parameter{body}, op.Parameters...)
	}
	response := schemaOf(schemas.schemaOf(o.response))
	for _, code := range o.codes {
		op.Responses.StatusCodeResponses[code] = spec.Response{ResponseProps: spec.ResponseProps{
			Description: http.StatusText(code),
			Schema:      response,
		}}
	}
	op.Responses.StatusCodeResponses[http.StatusUnauthorized] = spec.Response{
		ResponseProps: spec.ResponseProps{Description: http.StatusText(http.StatusUnauthorized)},
	}
	if o.action != "" {
		op.AddExtension(extAction, o.action)
		op.AddExtension(extGVK, gvkMap(o.gvk))
	}
	return op, refs
}

func v2Params(params []param) []spec.Parameter {
	var out []spec.Parameter
	for _, p := range params {
		sp := spec.Parameter{
			ParamProps:   spec.ParamProps{Name: p.name, In: p.in, Description: p.description, Required: p.required},
			SimpleSchema: spec.SimpleSchema{Type: p.typ},
		}
		sp.UniqueItems = true
		out = append(out, sp)
	}
	return out
}
