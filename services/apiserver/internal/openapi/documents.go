package openapi

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	openapiv3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// document is one served OpenAPI document: its JSON, built at start, and
// its protobuf form, built from the JSON on first request.
type document struct {
	json  []byte
	etag  string // hash of the JSON; also names the protobuf form
	proto lazyBytes
}

func newDocument(v interface{}, toProto func([]byte) ([]byte, error)) (*document, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := &document{json: data, etag: hash(data)}
	d.proto.build = func() ([]byte, error) { return toProto(data) }
	return d, nil
}

// hash is the ETag kube-apiserver gives a document: its SHA-512 in upper
// case hex. Documents are deterministic, so it is stable across restarts.
func hash(data []byte) string {
	return fmt.Sprintf("%X", sha512.Sum512(data))
}

// lazyBytes builds a byte slice once, when first asked.
type lazyBytes struct {
	once  sync.Once
	build func() ([]byte, error)
	data  []byte
	err   error
}

func (l *lazyBytes) get() ([]byte, error) {
	l.once.Do(func() { l.data, l.err = l.build() })
	return l.data, l.err
}

// v2ToProto and v3ToProto convert a JSON document to the gnostic protobuf
// messages that client-go decodes (discovery's OpenAPISchema) and that
// kube-apiserver serves.
func v2ToProto(data []byte) ([]byte, error) {
	doc, err := openapiv2.ParseDocument(data)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(doc)
}

func v3ToProto(data []byte) ([]byte, error) {
	doc, err := openapiv3.ParseDocument(data)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(doc)
}

// documentSet is everything the handler serves.
type documentSet struct {
	v2    *document
	v3    map[string]*document // by index key: "api/v1", "apis/apps/v1"
	index []byte               // /openapi/v3
	etag  string               // of the index
}

// v3Index is the body of /openapi/v3, as client-go's openapi client reads
// it (k8s.io/kube-openapi/pkg/handler3.OpenAPIV3Discovery).
type v3Index struct {
	Paths map[string]v3IndexEntry `json:"paths"`
}

type v3IndexEntry struct {
	ServerRelativeURL string `json:"serverRelativeURL"`
}

// buildDocuments renders the OpenAPI v3 document of every group version
// the resources belong to, their index, and the single v2 document.
func buildDocuments(resources []*api.Resource, scheme *runtime.Scheme) (*documentSet, error) {
	set := &documentSet{v3: map[string]*document{}}
	index := v3Index{Paths: map[string]v3IndexEntry{}}
	v3Schemas := newSchemaSet(true, scheme)
	var all []route
	for _, gv := range groupVersions(resources) {
		routes, err := groupVersionRoutes(gv, inGroupVersion(resources, gv))
		if err != nil {
			return nil, err
		}
		all = append(all, routes...)
		doc, err := newDocument(buildV3(routes, v3Schemas), v3ToProto)
		if err != nil {
			return nil, fmt.Errorf("openapi: encoding %s: %w", gv, err)
		}
		key := indexKey(gv)
		set.v3[key] = doc
		index.Paths[key] = v3IndexEntry{ServerRelativeURL: v3URL(key, doc.etag)}
	}
	v2, err := newDocument(buildV2(all, newSchemaSet(false, scheme)), v2ToProto)
	if err != nil {
		return nil, fmt.Errorf("openapi: encoding v2: %w", err)
	}
	set.v2 = v2
	if set.index, err = json.Marshal(index); err != nil {
		return nil, err
	}
	set.etag = hash(set.index)
	return set, nil
}

// indexKey names a group version in the v3 index: "api/v1" or
// "apis/apps/v1", the form client-go's openapi3 root looks up.
func indexKey(gv schema.GroupVersion) string {
	return strings.TrimPrefix(apiPrefix(gv), "/")
}

func v3URL(key, etag string) string {
	return (&url.URL{Path: "/openapi/v3/" + key, RawQuery: url.Values{"hash": {etag}}.Encode()}).String()
}

// groupVersions lists the group versions of the resources, sorted.
func groupVersions(resources []*api.Resource) []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for _, r := range resources {
		if gv := r.GroupVersion(); !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return indexKey(out[i]) < indexKey(out[j]) })
	return out
}

func inGroupVersion(resources []*api.Resource, gv schema.GroupVersion) []*api.Resource {
	var out []*api.Resource
	for _, r := range resources {
		if r.GroupVersion() == gv {
			out = append(out, r)
		}
	}
	return out
}
