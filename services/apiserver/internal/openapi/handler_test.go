package openapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"testing"

	openapiv3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/spec3"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

func TestIndexListsEveryGroupVersion(t *testing.T) {
	srv := testServer(t)
	resp, body := get(t, srv.URL+"/openapi/v3", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi/v3: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var index v3Index
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, gv := range servedGroupVersions() {
		want = append(want, indexKey(gv))
	}
	for key := range index.Paths {
		got = append(got, key)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !equalStrings(got, want) {
		t.Fatalf("index keys %v, want %v", got, want)
	}
	for key, entry := range index.Paths {
		u, err := url.Parse(entry.ServerRelativeURL)
		if err != nil || u.Path != "/openapi/v3/"+key || u.Query().Get("hash") == "" {
			t.Fatalf("%s: bad serverRelativeURL %q", key, entry.ServerRelativeURL)
		}
		resp, body := get(t, srv.URL+entry.ServerRelativeURL, map[string]string{"Accept": "application/json"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", entry.ServerRelativeURL, resp.StatusCode)
		}
		if etag := resp.Header.Get("ETag"); etag != strconv.Quote(u.Query().Get("hash")) {
			t.Errorf("%s: ETag %s does not match the index hash", key, etag)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, immutable" {
			t.Errorf("%s: Cache-Control %q", key, cc)
		}
		if resp.Header.Get("Expires") == "" {
			t.Errorf("%s: no Expires", key)
		}
		var doc spec3.OpenAPI
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if doc.Version != "3.0.0" || doc.Paths == nil || len(doc.Components.Schemas) == 0 {
			t.Errorf("%s: incomplete document", key)
		}
	}
}

func TestDocumentHTTPBehaviour(t *testing.T) {
	srv := testServer(t)
	h := testHandler(t)
	current := v3URL("apis/apps/v1", h.docs.v3["apis/apps/v1"].etag)

	resp, _ := get(t, srv.URL+"/openapi/v3/apis/apps/v1?hash=STALE", nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != current {
		t.Errorf("stale hash: %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), current)
	}

	resp, _ = get(t, srv.URL+"/openapi/v3/apis/apps/v1", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "" {
		t.Errorf("no hash: %d Cache-Control %q; want 200 and no caching", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	etag := resp.Header.Get("ETag")
	resp, _ = get(t, srv.URL+"/openapi/v3/apis/apps/v1", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}

	for _, path := range []string{"/openapi/v3/apis/apps/v2", "/openapi/v3/apis/apps", "/openapi/v3/", "/openapi/v4"} {
		if resp, _ := get(t, srv.URL+path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := get(t, srv.URL+"/openapi/v3/api/v1", map[string]string{"Accept": "text/html"}); resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("Accept text/html: %d, want 406", resp.StatusCode)
	}
	post, err := http.Post(srv.URL+"/openapi/v3", "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", post.StatusCode)
	}
}

func TestV3Protobuf(t *testing.T) {
	srv := testServer(t)
	for _, accept := range []string{mediaV3Proto, mediaV3ProtoLegacy} {
		resp, body := get(t, srv.URL+"/openapi/v3/apis/apps/v1", map[string]string{"Accept": accept})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != mediaV3Proto {
			t.Fatalf("Accept %s: %d %s", accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var doc openapiv3.Document
		if err := proto.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.GetComponents().GetSchemas() == nil || doc.GetPaths() == nil {
			t.Fatal("protobuf document has no schemas or paths")
		}
	}
}

func TestAcceptNegotiation(t *testing.T) {
	cases := map[string]string{
		"":                      mediaJSON,
		"*/*":                   mediaJSON,
		"application/json, */*": mediaJSON,
		"application/*":         mediaJSON,
		mediaV2ProtoLegacy:      mediaV2Proto,
		"application/json;q=0.5, " + mediaV2ProtoLegacy: mediaV2Proto,
		"text/html;q=0, application/json":               mediaJSON,
	}
	for accept, want := range cases {
		got, ok := negotiate(accept, v2Offers)
		if !ok || got.contentType != want {
			t.Errorf("Accept %q: got %q (%v), want %q", accept, got.contentType, ok, want)
		}
	}
	if _, ok := negotiate("text/html", v2Offers); ok {
		t.Error("text/html was accepted")
	}
}

func TestDocumentsAreDeterministic(t *testing.T) {
	a, err := buildDocuments(api.Resources, api.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildDocuments(api.Resources, api.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.index, b.index) || a.v2.etag != b.v2.etag {
		t.Fatal("two builds of the same resources differ")
	}
}

func TestUnknownSubresourceIsAnError(t *testing.T) {
	r := *api.Resources[0]
	r.Subresources = []string{"frobnicate"}
	if _, err := New([]*api.Resource{&r}, api.Scheme); err == nil {
		t.Fatal("a subresource without known operations was accepted")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
