package openapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

var (
	sharedOnce    sync.Once
	sharedHandler *Handler
	sharedErr     error
)

// testHandler builds the documents of api.Resources once for all tests.
func testHandler(t *testing.T) *Handler {
	t.Helper()
	sharedOnce.Do(func() { sharedHandler, sharedErr = NewHandler() })
	if sharedErr != nil {
		t.Fatalf("NewHandler: %v", sharedErr)
	}
	return sharedHandler
}

// testServer serves the handler under /openapi/ as the server's root mux
// mounts it, and answers everything else 404.
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/openapi/", testHandler(t))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// discoveryClient is client-go's discovery client over srv: the source of
// kubectl's OpenAPI v2 and v3 clients.
func discoveryClient(t *testing.T, srv *httptest.Server) *discovery.DiscoveryClient {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func servedGroupVersions() []schema.GroupVersion { return api.GroupVersions() }

// resolve follows a $ref (direct or through a single allOf) in a v3
// document.
func resolve(t *testing.T, doc *spec3.OpenAPI, s *spec.Schema) *spec.Schema {
	t.Helper()
	if len(s.AllOf) == 1 {
		s = &s.AllOf[0]
	}
	ref := s.Ref.String()
	if ref == "" {
		return s
	}
	target, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	if !ok {
		t.Fatalf("dangling $ref %s", ref)
	}
	return target
}

// property walks dotted field names from a schema, following $refs and
// array items.
func property(t *testing.T, doc *spec3.OpenAPI, s *spec.Schema, path string) *spec.Schema {
	t.Helper()
	for _, name := range strings.Split(path, ".") {
		s = resolve(t, doc, s)
		if s.Items != nil && s.Items.Schema != nil {
			s = resolve(t, doc, s.Items.Schema)
		}
		p, ok := s.Properties[name]
		if !ok {
			t.Fatalf("no property %q on the way to %s", name, path)
		}
		s = &p
	}
	return s
}

// hasGVK reports whether an x-kubernetes-group-version-kind extension, a
// list on schemas or a single object on operations, names gvk.
func hasGVK(ext spec.Extensions, gvk schema.GroupVersionKind) bool {
	var list []map[string]string
	if err := ext.GetObject(extGVK, &list); err != nil {
		var one map[string]string
		if err := ext.GetObject(extGVK, &one); err != nil {
			return false
		}
		list = append(list, one)
	}
	for _, m := range list {
		if m["group"] == gvk.Group && m["version"] == gvk.Version && m["kind"] == gvk.Kind {
			return true
		}
	}
	return false
}
