package apiserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

const (
	ctJSON     = "application/json"
	ctYAML     = "application/yaml"
	ctProtobuf = "application/vnd.kubernetes.protobuf"
)

// rawResponse is what a request answered.
type rawResponse struct {
	code        int
	contentType string
	header      http.Header
	body        []byte
}

// raw sends a request as the admin, with a body of the given content
// type. chunked sends the body without a Content-Length.
func (e *env) raw(method, path, contentType string, body []byte, chunked bool) rawResponse {
	e.t.Helper()
	c, err := e.cp.HTTPClient()
	if err != nil {
		e.t.Fatal(err)
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
		if chunked {
			r = io.MultiReader(r)
		}
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.cp.Servers[0].URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.cp.AdminToken)
	req.Header.Set("Accept", ctJSON)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the response: %v", method, path, err)
	}
	return rawResponse{code: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), header: resp.Header, body: out}
}

func protobufOf(t *testing.T, obj runtime.Object) []byte {
	t.Helper()
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	var buf bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(obj, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBadInput sends malformed and invalid requests: each gets a 4xx
// Status, never a 500, and the server keeps serving.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "bad")
	cms := "/api/v1/namespaces/" + e.ns + "/configmaps"
	deploys := "/apis/apps/v1/namespaces/" + e.ns + "/deployments"
	for _, name := range []string{"exists", "victim"} {
		if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cm := func(name string, extra string) []byte {
		return []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q}%s}`, name, extra))
	}
	huge := cm("huge", `,"data":{"a":"`+strings.Repeat("x", 3<<20)+`"}`)
	deep := cm("deep", `,"data":{"a":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`)
	svc := protobufOf(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "pb"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}})
	yamlBomb := `apiVersion: v1
kind: ConfigMap
metadata:
  name: bomb
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		chunked     bool
		want        int
	}{
		{"malformed json", "POST", cms, ctJSON, []byte(`{"apiVersion":"v1","kind":"ConfigMap",`), false, 400},
		// Kubernetes decodes null as an empty ConfigMap, which has no name.
		{"json null", "POST", cms, ctJSON, []byte(`null`), false, 422},
		{"json array", "POST", cms, ctJSON, []byte(`[]`), false, 400},
		{"json string", "POST", cms, ctJSON, []byte(`"configmap"`), false, 400},
		{"empty body", "POST", cms, ctJSON, []byte{}, false, 400},
		{"wrong type of a field", "POST", cms, ctJSON, cm("typed", `,"data":{"a":1}`), false, 400},
		{"deeply nested", "POST", cms, ctJSON, deep, false, 400},
		{"malformed yaml", "POST", cms, ctYAML, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: [\n"), false, 400},
		{"yaml with tabs", "POST", cms, ctYAML, []byte("apiVersion: v1\n\tkind: ConfigMap\n"), false, 400},
		{"yaml alias bomb", "POST", cms, ctYAML, []byte(yamlBomb), false, 400},
		{"garbage protobuf", "POST", cms, ctProtobuf, []byte("\x00\x01\x02 not protobuf"), false, 400},
		{"truncated protobuf", "POST", cms, ctProtobuf, append([]byte("k8s\x00"), 0x0a, 0xff, 0xff, 0x01), false, 400},
		{"protobuf of another kind", "POST", cms, ctProtobuf, svc, false, 400},
		{"json of another kind", "POST", cms, ctJSON, []byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80}]}}`), false, 400},
		{"another group", "POST", cms, ctJSON, []byte(`{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"g"}}`), false, 400},
		{"deployment as core v1", "POST", deploys, ctJSON, []byte(`{"apiVersion":"v1","kind":"Deployment","metadata":{"name":"d"}}`), false, 400},
		{"body over 3 MiB", "POST", cms, ctJSON, huge, false, 413},
		{"chunked body over 3 MiB", "POST", cms, ctJSON, huge, true, 413},
		{"patch over 3 MiB", "PATCH", cms + "/exists", "application/merge-patch+json", huge, false, 413},
		{"invalid name", "POST", cms, ctJSON, cm("Bad_Name", ""), false, 422},
		{"name too long", "POST", cms, ctJSON, cm(strings.Repeat("a", 254), ""), false, 422},
		{"name with a slash", "POST", cms, ctJSON, cm("a/b", ""), false, 422},
		{"name dot", "POST", cms, ctJSON, cm(".", ""), false, 422},
		{"no name", "POST", cms, ctJSON, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`), false, 422},
		{"invalid data key", "POST", cms, ctJSON, cm("keys", `,"data":{"no/slash":"x"}`), false, 422},
		{"invalid label", "POST", cms, ctJSON, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"l","labels":{"a":"-bad-"}}}`), false, 422},
		{"invalid deployment", "POST", deploys, ctJSON, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":-1}}`), false, 422},
		{"unknown field strict", "POST", cms + "?fieldValidation=Strict", ctJSON, cm("strict", `,"foo":1`), false, 400},
		{"duplicate field strict", "POST", cms + "?fieldValidation=Strict", ctJSON, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d1","name":"d2"}}`), false, 400},
		{"bad fieldValidation", "POST", cms + "?fieldValidation=Sometimes", ctJSON, cm("fv", ""), false, 422},
		{"resourceVersion on create", "POST", cms, ctJSON, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"rv","resourceVersion":"5"}}`), false, 400},
		{"namespace mismatch", "POST", cms, ctJSON, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n","namespace":"other"}}`), false, 400},
		{"name mismatch on put", "PUT", cms + "/exists", ctJSON, cm("different", ""), false, 400},
		{"unsupported content type", "POST", cms, "text/plain", cm("text", ""), false, 415},
		{"unsupported patch type", "PATCH", cms + "/exists", ctJSON, []byte(`{}`), false, 415},
		{"malformed merge patch", "PATCH", cms + "/exists", "application/merge-patch+json", []byte(`{"data":`), false, 400},
		{"malformed json patch", "PATCH", cms + "/exists", "application/json-patch+json", []byte(`{"op":"add"}`), false, 400},
		{"json patch to a missing path", "PATCH", cms + "/exists", "application/json-patch+json", []byte(`[{"op":"replace","path":"/data/missing/deeper","value":"x"}]`), false, 422},
		{"patch of a missing object", "PATCH", cms + "/missing", "application/merge-patch+json", []byte(`{}`), false, 404},
		{"invalid label selector", "GET", cms + "?labelSelector=a+in+(", "", nil, false, 400},
		{"unsupported field selector", "GET", cms + "?fieldSelector=data.a%3Db", "", nil, false, 400},
		{"invalid resourceVersion", "GET", cms + "?resourceVersion=abc", "", nil, false, 400},
		{"invalid limit", "GET", cms + "?limit=many", "", nil, false, 400},
		{"garbage continue", "GET", cms + "?limit=1&continue=not-a-token", "", nil, false, 400},
		{"invalid watch timeout", "GET", cms + "?watch=true&timeoutSeconds=soon", "", nil, false, 400},
		{"post to a name", "POST", cms + "/exists", ctJSON, cm("exists", ""), false, 405},
		{"unknown resource", "GET", "/api/v1/namespaces/" + e.ns + "/widgets", "", nil, false, 404},
		{"unknown group", "GET", "/apis/widgets.example.com/v1/widgets", "", nil, false, 404},
		{"malformed delete options", "DELETE", cms + "/victim", ctJSON, []byte(`{"gracePeriodSeconds":`), false, 400},
		{"delete options of another kind", "DELETE", cms + "/victim", ctJSON, []byte(`{"kind":"ConfigMap","apiVersion":"v1"}`), false, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			resp := e.raw(tt.method, tt.path, tt.contentType, tt.body, tt.chunked)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("answered after %v", d)
			}
			if resp.code != tt.want {
				t.Errorf("%s %s = %d, want %d; body %.300s", tt.method, tt.path, resp.code, tt.want, resp.body)
			}
			if resp.code < 400 {
				return
			}
			var st metav1.Status
			if err := json.Unmarshal(resp.body, &st); err != nil || !strings.HasPrefix(resp.contentType, ctJSON) {
				t.Fatalf("answer is %q %.200q, want a JSON Status (%v)", resp.contentType, resp.body, err)
			}
			if st.Kind != "Status" || st.Status != metav1.StatusFailure || int(st.Code) != resp.code || st.Message == "" {
				t.Errorf("Status = %+v, want kind Status, status Failure, code %d and a message", st, resp.code)
			}
		})
	}

	t.Run("unknown field warns by default", func(t *testing.T) {
		resp := e.raw("POST", cms, ctJSON, cm("warned", `,"foo":1,"data":{"a":"1"}`), false)
		if resp.code != 201 {
			t.Fatalf("POST with an unknown field = %d %s, want 201", resp.code, resp.body)
		}
		if got, want := resp.header.Get("Warning"), `299 - "unknown field \"foo\""`; got != want {
			t.Errorf("Warning = %q, want %q", got, want)
		}
	})
	t.Run("protobuf", func(t *testing.T) {
		body := protobufOf(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pb"}, Data: map[string]string{"a": "1"}})
		if resp := e.raw("POST", cms, ctProtobuf, body, false); resp.code != 201 {
			t.Errorf("POST of a protobuf ConfigMap = %d %s, want 201", resp.code, resp.body)
		}
	})
	t.Run("server still serves", func(t *testing.T) {
		if err := e.cp.WaitReady(e.ctx, e.cp.Servers[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Get(e.ctx, "exists", metav1.GetOptions{}); err != nil {
			t.Errorf("get after the bad requests: %v", err)
		}
	})
}
