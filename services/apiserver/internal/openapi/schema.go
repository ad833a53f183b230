package openapi

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Vendor extensions that Kubernetes clients read.
const (
	extGVK           = "x-kubernetes-group-version-kind"
	extAction        = "x-kubernetes-action"
	extPatchStrategy = "x-kubernetes-patch-strategy"
	extPatchMergeKey = "x-kubernetes-patch-merge-key"
)

// Interfaces that apimachinery and k8s.io/api types implement to steer
// their OpenAPI schemas; openapi-gen honours the same ones.
type (
	modelNamer   interface{ OpenAPIModelName() string }
	swaggerDoc   interface{ SwaggerDoc() map[string]string }
	schemaTyper  interface{ OpenAPISchemaType() []string }
	formatTyper  interface{ OpenAPISchemaFormat() string }
	v3OneOfTyper interface{ OpenAPIV3OneOfTypes() []string }
)

// typeDocs describes the apimachinery types that have no SwaggerDoc
// method; kubectl explain shows these for every field of such a type.
var typeDocs = map[string]string{
	"io.k8s.apimachinery.pkg.api.resource.Quantity": "Quantity is a fixed-point representation of a number, " +
		"written as a string with an optional suffix (\"500m\", \"128Mi\", \"1e3\") or as a plain number.",
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString is a type that can hold an int32 or a string.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Time":       "Time is a timestamp, written in RFC 3339 form with second precision.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":  "MicroTime is a timestamp, written in RFC 3339 form with microsecond precision.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Duration":   "Duration is a time.Duration, written as a string such as \"1h2m3s\".",
	"io.k8s.apimachinery.pkg.runtime.RawExtension":    "RawExtension holds an embedded object of any kind, written as a JSON object.",
}

// schemaSet turns Go types into named schemas by reflection, the way
// openapi-gen does for Kubernetes: one definition per struct type (or type
// with a custom OpenAPI type), referenced by $ref from the fields that use
// it; every other type is written inline.
type schemaSet struct {
	refPrefix string // "#/components/schemas/" (v3) or "#/definitions/" (v2)
	v3        bool
	gvks      map[reflect.Type][]schema.GroupVersionKind
	defs      map[string]*spec.Schema
	names     map[reflect.Type]string
}

func newSchemaSet(v3 bool, scheme *runtime.Scheme) *schemaSet {
	prefix := "#/definitions/"
	if v3 {
		prefix = "#/components/schemas/"
	}
	return &schemaSet{
		refPrefix: prefix,
		v3:        v3,
		gvks:      kindsByType(scheme),
		defs:      map[string]*spec.Schema{},
		names:     map[reflect.Type]string{},
	}
}

// kindsByType lists, for every Go type the scheme knows, the external
// group/version/kinds it is registered as, sorted.
func kindsByType(scheme *runtime.Scheme) map[reflect.Type][]schema.GroupVersionKind {
	out := map[reflect.Type][]schema.GroupVersionKind{}
	for gvk, t := range scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		out[t] = append(out[t], gvk)
	}
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool { return gvkLess(list[i], list[j]) })
	}
	return out
}

func gvkLess(a, b schema.GroupVersionKind) bool {
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Version != b.Version {
		return a.Version < b.Version
	}
	return a.Kind < b.Kind
}

// gvkMap is the JSON form of one group/version/kind in an extension. The
// group key is always present, "" for the core group: kubectl compares
// these maps for equality.
func gvkMap(gvk schema.GroupVersionKind) map[string]interface{} {
	return map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// schemaOf is the schema of a value of type t where it is used: a $ref for
// named definitions, an inline schema otherwise.
func (s *schemaSet) schemaOf(t reflect.Type) spec.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isDefinition(t) {
		return refSchema(s.refPrefix + s.define(t))
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return typed("string", "byte") // []byte is base64 in JSON
		}
		items := s.schemaOf(t.Elem())
		out := typed("array", "")
		out.Items = &spec.SchemaOrArray{Schema: &items}
		return out
	case reflect.Map:
		values := s.schemaOf(t.Elem())
		out := typed("object", "")
		out.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: &values}
		return out
	case reflect.Interface:
		return typed("object", "")
	}
	return primitive(t)
}

// isDefinition reports whether values of t are written as a $ref to a
// named definition: structs and the apimachinery types with a custom
// OpenAPI type (Quantity, IntOrString, Time, ...).
func isDefinition(t reflect.Type) bool {
	if t.Name() == "" || t.PkgPath() == "" {
		return false
	}
	return t.Kind() == reflect.Struct || implements(t, (*schemaTyper)(nil))
}

// primitive maps Go scalar kinds to OpenAPI types and formats as
// kube-openapi's common.OpenAPITypeFormat does.
func primitive(t reflect.Type) spec.Schema {
	switch t.Kind() {
	case reflect.String:
		return typed("string", "")
	case reflect.Bool:
		return typed("boolean", "")
	case reflect.Int8, reflect.Uint8:
		return typed("integer", "byte")
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16:
		return typed("integer", "int32")
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return typed("integer", "int64")
	case reflect.Float32:
		return typed("number", "float")
	case reflect.Float64:
		return typed("number", "double")
	}
	panic(fmt.Sprintf("openapi: no schema for Go type %s", t))
}

func typed(typ, format string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}, Format: format}}
}

func refSchema(ref string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(ref)}}
}

// define builds the definition for t once and returns its name.
func (s *schemaSet) define(t reflect.Type) string {
	if name, ok := s.names[t]; ok {
		return name
	}
	name := modelName(t)
	if _, taken := s.defs[name]; taken {
		panic(fmt.Sprintf("openapi: two Go types named %s", name))
	}
	s.names[t] = name
	def := &spec.Schema{}
	s.defs[name] = def // before recursing, so cycles end in a $ref
	if implements(t, (*schemaTyper)(nil)) {
		*def = s.customSchema(t)
	} else {
		*def = s.structSchema(t, name)
	}
	def.Description = docOf(t)[""]
	if def.Description == "" {
		def.Description = typeDocs[name]
	}
	if gvks := s.gvks[t]; len(gvks) > 0 {
		list := make([]interface{}, len(gvks))
		for i, gvk := range gvks {
			list[i] = gvkMap(gvk)
		}
		def.AddExtension(extGVK, list)
	}
	return name
}

// customSchema is the schema of a type that declares its own OpenAPI type.
// OpenAPI v3 documents use OpenAPIV3OneOfTypes where a type has it, as
// kube-apiserver does: Quantity is string or number, IntOrString integer or
// string.
func (s *schemaSet) customSchema(t reflect.Type) spec.Schema {
	v := reflect.New(t).Elem().Interface()
	format := ""
	if f, ok := v.(formatTyper); ok {
		format = f.OpenAPISchemaFormat()
	}
	if o, ok := v.(v3OneOfTyper); ok && s.v3 {
		out := spec.Schema{SchemaProps: spec.SchemaProps{Format: format}}
		for _, typ := range o.OpenAPIV3OneOfTypes() {
			out.OneOf = append(out.OneOf, typed(typ, ""))
		}
		return out
	}
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: v.(schemaTyper).OpenAPISchemaType(), Format: format}}
}

// structSchema is the object schema of a struct: its JSON fields, with
// embedded structs flattened as encoding/json does.
func (s *schemaSet) structSchema(t reflect.Type, name string) spec.Schema {
	out := typed("object", "")
	for _, f := range jsonFields(t) {
		prop := s.withDescription(s.schemaOf(f.typ), f.doc)
		if f.patchStrategy != "" {
			prop.AddExtension(extPatchStrategy, f.patchStrategy)
		}
		if f.patchMergeKey != "" {
			prop.AddExtension(extPatchMergeKey, f.patchMergeKey)
		}
		out.SetProperty(f.name, prop)
		if f.required && !optionalWithoutOmitempty[name+"."+f.name] {
			out.Required = append(out.Required, f.name)
		}
	}
	return out
}

// withDescription describes a property. In v3 a described $ref is
// wrapped in a one-element allOf, as kube-apiserver writes it, so that
// kubectl explain shows both the field's and the type's description.
func (s *schemaSet) withDescription(prop spec.Schema, description string) spec.Schema {
	if s.v3 && description != "" && prop.Ref.String() != "" {
		prop = spec.Schema{SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{prop}}}
	}
	prop.Description = description
	return prop
}

// field is one JSON field of a struct.
type field struct {
	name          string
	typ           reflect.Type
	doc           string
	required      bool
	patchStrategy string
	patchMergeKey string
}

// jsonFields lists the fields encoding/json writes for t, in declaration
// order, descending into embedded structs that have no JSON name (and
// those tagged ",inline", as Kubernetes spells it).
func jsonFields(t reflect.Type) []field {
	docs := docOf(t)
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			out = append(out, jsonFields(derefType(sf.Type))...)
			continue
		}
		if !sf.IsExported() || strings.Contains(","+opts+",", ",inline,") {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{
			name:          name,
			typ:           sf.Type,
			doc:           docs[name],
			required:      !strings.Contains(","+opts+",", ",omitempty,"),
			patchStrategy: sf.Tag.Get("patchStrategy"),
			patchMergeKey: sf.Tag.Get("patchMergeKey"),
		})
	}
	return out
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// docOf returns the field descriptions k8s.io/api types carry in their
// generated SwaggerDoc method ("" describes the type itself), or nil.
func docOf(t reflect.Type) map[string]string {
	if d, ok := reflect.New(t).Elem().Interface().(swaggerDoc); ok {
		return d.SwaggerDoc()
	}
	return nil
}

// modelName is the definition name Kubernetes gives t:
// "io.k8s.api.apps.v1.Deployment". Generated types say it themselves;
// for others the package path is reversed at the domain as
// kube-openapi's friendly names are.
func modelName(t reflect.Type) string {
	if n, ok := reflect.New(t).Elem().Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	parts := strings.Split(t.PkgPath(), "/")
	if strings.Contains(parts[0], ".") {
		domain := strings.Split(parts[0], ".")
		for i, j := 0, len(domain)-1; i < j; i, j = i+1, j-1 {
			domain[i], domain[j] = domain[j], domain[i]
		}
		parts[0] = strings.Join(domain, ".")
	}
	return strings.ReplaceAll(strings.Join(parts, "."), "-", "_") + "." + t.Name()
}

func implements(t reflect.Type, iface interface{}) bool {
	it := reflect.TypeOf(iface).Elem()
	return t.Implements(it) || reflect.PointerTo(t).Implements(it)
}

// closure returns the definitions reachable from the named roots.
func (s *schemaSet) closure(roots []string) map[string]*spec.Schema {
	out := map[string]*spec.Schema{}
	var visit func(sc *spec.Schema)
	add := func(name string) {
		if _, done := out[name]; done {
			return
		}
		def, ok := s.defs[name]
		if !ok {
			panic(fmt.Sprintf("openapi: reference to undefined %s", name))
		}
		out[name] = def
		visit(def)
	}
	visit = func(sc *spec.Schema) {
		if sc == nil {
			return
		}
		if ref := sc.Ref.String(); ref != "" {
			add(strings.TrimPrefix(ref, s.refPrefix))
		}
		for _, p := range sc.Properties {
			visit(&p)
		}
		if sc.Items != nil {
			visit(sc.Items.Schema)
		}
		if sc.AdditionalProperties != nil {
			visit(sc.AdditionalProperties.Schema)
		}
		for i := range sc.AllOf {
			visit(&sc.AllOf[i])
		}
	}
	for _, r := range roots {
		add(r)
	}
	return out
}
