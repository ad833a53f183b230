package extender

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeExtender is an httptest server answering one verb with a canned
// reply, recording the requests.
type fakeExtender struct {
	srv *httptest.Server
	mu  sync.Mutex
	// paths and bodies of the requests received.
	paths  []string
	bodies [][]byte
}

// newFakeExtender serves reply (a JSON string) with status code.
func newFakeExtender(t *testing.T, status int, reply string) *fakeExtender {
	t.Helper()
	f := &fakeExtender{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.paths = append(f.paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, reply)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeExtender) prefix() string { return f.srv.URL + "/scheduler" }

// request returns the only request's body decoded into a map of raw
// values, failing unless there was exactly one.
func (f *fakeExtender) request(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) != 1 {
		t.Fatalf("the extender got %d requests, want 1", len(f.bodies))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(f.bodies[0], &m); err != nil {
		t.Fatalf("request body %s: %v", f.bodies[0], err)
	}
	return m
}

func (f *fakeExtender) numRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func newExtender(t *testing.T, cfg Config) *Extender {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-web"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}
}

func testNodes(names ...string) []*corev1.Node {
	var out []*corev1.Node
	for _, n := range names {
		out = append(out, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"zone": "a"}}})
	}
	return out
}

func names(nodes []*corev1.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

func keys(m map[string]json.RawMessage) []string {
	return slices.Sorted(maps.Keys(m))
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name             string
		nodeCacheCapable bool
		reply            string
		// wantKeys are the request's top-level JSON keys.
		wantKeys         []string
		wantNodesNull    bool
		wantNames        []string
		wantFeasible     []string
		wantFailed       map[string]string
		wantUnresolvable map[string]string
	}{
		{
			name: "nodes in, nodes out",
			reply: `{"Nodes": {"items": [{"metadata": {"name": "n3"}}, {"metadata": {"name": "n1"}}]},
				"NodeNames": null,
				"FailedNodes": {"n2": "no gpu left"},
				"FailedAndUnresolvableNodes": null, "Error": ""}`,
			wantKeys:         []string{"NodeNames", "Nodes", "Pod"},
			wantFeasible:     []string{"n3", "n1"},
			wantFailed:       map[string]string{"n2": "no gpu left"},
			wantUnresolvable: map[string]string{},
		},
		{
			name:             "nodeCacheCapable sends names only",
			nodeCacheCapable: true,
			reply: `{"NodeNames": ["n2"],
				"FailedNodes": {"n1": "busy", "n3": "busy"},
				"FailedAndUnresolvableNodes": {"n3": "wrong rack"}}`,
			wantKeys:         []string{"NodeNames", "Nodes", "Pod"},
			wantNodesNull:    true,
			wantNames:        []string{"n1", "n2", "n3"},
			wantFeasible:     []string{"n2"},
			wantFailed:       map[string]string{"n1": "busy"},
			wantUnresolvable: map[string]string{"n3": "wrong rack"},
		},
		{
			name:             "lower-case keys of the old scheduler API are understood",
			nodeCacheCapable: true,
			reply:            `{"nodenames": ["n1", "n3"], "failedNodes": {"n2": "busy"}, "error": ""}`,
			wantKeys:         []string{"NodeNames", "Nodes", "Pod"},
			wantNodesNull:    true,
			wantNames:        []string{"n1", "n2", "n3"},
			wantFeasible:     []string{"n1", "n3"},
			wantFailed:       map[string]string{"n2": "busy"},
			wantUnresolvable: map[string]string{},
		},
		{
			name:             "nodes the extender was not sent are dropped from the failed ones",
			reply:            `{"Nodes": {"items": []}, "FailedNodes": {"n1": "x", "elsewhere": "y"}}`,
			wantKeys:         []string{"NodeNames", "Nodes", "Pod"},
			wantFeasible:     []string{},
			wantFailed:       map[string]string{"n1": "x"},
			wantUnresolvable: map[string]string{},
		},
		{
			name:             "a reply without nodes means none fits",
			reply:            `{}`,
			wantKeys:         []string{"NodeNames", "Nodes", "Pod"},
			wantFeasible:     []string{},
			wantFailed:       map[string]string{},
			wantUnresolvable: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeExtender(t, http.StatusOK, tt.reply)
			e := newExtender(t, Config{URLPrefix: f.prefix(), FilterVerb: "filter", NodeCacheCapable: tt.nodeCacheCapable})
			nodes := testNodes("n1", "n2", "n3")

			feasible, failed, unresolvable, err := e.Filter(context.Background(), testPod(), nodes)
			if err != nil {
				t.Fatalf("Filter: %v", err)
			}

			req := f.request(t)
			if got := keys(req); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("request keys = %v, want %v", got, tt.wantKeys)
			}
			if got := f.paths[0]; got != "POST /scheduler/filter application/json" {
				t.Errorf("request = %q, want a POST of JSON to /scheduler/filter", got)
			}
			var pod corev1.Pod
			if err := json.Unmarshal(req["Pod"], &pod); err != nil || pod.Name != "web" {
				t.Errorf("request Pod = %s (%v), want the pod", req["Pod"], err)
			}
			if tt.wantNodesNull {
				if string(req["Nodes"]) != "null" {
					t.Errorf("request Nodes = %s, want null", req["Nodes"])
				}
				var got []string
				if err := json.Unmarshal(req["NodeNames"], &got); err != nil || !slices.Equal(got, tt.wantNames) {
					t.Errorf("request NodeNames = %s, want %v", req["NodeNames"], tt.wantNames)
				}
			} else {
				if string(req["NodeNames"]) != "null" {
					t.Errorf("request NodeNames = %s, want null", req["NodeNames"])
				}
				var list corev1.NodeList
				if err := json.Unmarshal(req["Nodes"], &list); err != nil || len(list.Items) != 3 || list.Items[0].Labels["zone"] != "a" {
					t.Errorf("request Nodes = %s, want the three whole nodes", req["Nodes"])
				}
			}

			if got := names(feasible); !slices.Equal(got, tt.wantFeasible) && !(len(got) == 0 && len(tt.wantFeasible) == 0) {
				t.Errorf("feasible = %v, want %v", got, tt.wantFeasible)
			}
			for _, n := range feasible {
				if !slices.Contains(nodes, n) {
					t.Errorf("feasible node %s is not one of the nodes passed in", n.Name)
				}
			}
			if !reflect.DeepEqual(failed, tt.wantFailed) {
				t.Errorf("failed = %v, want %v", failed, tt.wantFailed)
			}
			if !reflect.DeepEqual(unresolvable, tt.wantUnresolvable) {
				t.Errorf("failedAndUnresolvable = %v, want %v", unresolvable, tt.wantUnresolvable)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		reply    string
		wantIs   error
		wantText string
	}{
		{name: "error field", status: http.StatusOK, reply: `{"Error": "quota service down"}`, wantIs: ErrReported, wantText: "quota service down"},
		{name: "unknown node", status: http.StatusOK, reply: `{"Nodes": {"items": [{"metadata": {"name": "n9"}}]}}`, wantIs: ErrUnknownNode, wantText: `"n9"`},
		{name: "http status", status: http.StatusInternalServerError, reply: `oops`, wantText: "500 Internal Server Error: oops"},
		{name: "not JSON", status: http.StatusOK, reply: `<html>`, wantText: "decoding the response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeExtender(t, tt.status, tt.reply)
			e := newExtender(t, Config{URLPrefix: f.prefix(), FilterVerb: "filter"})
			_, _, _, err := e.Filter(context.Background(), testPod(), testNodes("n1"))
			checkErr(t, err, f.prefix()+"/filter", tt.wantIs, tt.wantText)
		})
	}
}

// checkErr checks err is an *Error naming url, wrapping wantIs (if set)
// and saying wantText.
func checkErr(t *testing.T, err error, url string, wantIs error, wantText string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", wantText)
	}
	var e *Error
	if !errors.As(err, &e) || e.URL != url {
		t.Errorf("error %v: want an *Error for %s", err, url)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name the URL %s", err, url)
	}
	if wantIs != nil && !errors.Is(err, wantIs) {
		t.Errorf("error %v is not %v", err, wantIs)
	}
	if !strings.Contains(err.Error(), wantText) {
		t.Errorf("error %q does not say %q", err, wantText)
	}
}

func TestNoVerbs(t *testing.T) {
	f := newFakeExtender(t, http.StatusOK, `{}`)
	e := newExtender(t, Config{URLPrefix: f.prefix()})
	nodes := testNodes("n1", "n2")

	feasible, failed, unresolvable, err := e.Filter(context.Background(), testPod(), nodes)
	if err != nil || !slices.Equal(feasible, nodes) || len(failed) != 0 || len(unresolvable) != 0 {
		t.Errorf("Filter without filterVerb = %v, %v, %v, %v; want every node", names(feasible), failed, unresolvable, err)
	}
	scores, weight, err := e.Prioritize(context.Background(), testPod(), nodes)
	if err != nil || weight != 0 || !reflect.DeepEqual(scores, map[string]int64{"n1": 0, "n2": 0}) {
		t.Errorf("Prioritize without prioritizeVerb = %v, %d, %v; want zeros with weight 0", scores, weight, err)
	}
	if e.IsBinder() {
		t.Errorf("IsBinder() without bindVerb = true")
	}
	if err := e.Bind(context.Background(), testPod(), "n1"); err == nil {
		t.Errorf("Bind without bindVerb: no error")
	}
	if n := f.numRequests(); n != 0 {
		t.Errorf("the extender got %d requests, want none", n)
	}
}

func TestPrioritize(t *testing.T) {
	f := newFakeExtender(t, http.StatusOK, `[
		{"Host": "n1", "Score": 7},
		{"Host": "n2", "Score": 15},
		{"Host": "n3", "Score": -2},
		{"Host": "other", "Score": 9}]`)
	e := newExtender(t, Config{URLPrefix: f.prefix() + "/", PrioritizeVerb: "prioritize", Weight: 3})

	scores, weight, err := e.Prioritize(context.Background(), testPod(), testNodes("n1", "n2", "n3", "n4"))
	if err != nil {
		t.Fatalf("Prioritize: %v", err)
	}
	if want := map[string]int64{"n1": 7, "n2": 10, "n3": 0}; !reflect.DeepEqual(scores, want) {
		t.Errorf("scores = %v, want %v (clamped to [0, 10], unknown hosts dropped)", scores, want)
	}
	if weight != 3 {
		t.Errorf("weight = %d, want 3", weight)
	}
	if got := f.paths[0]; got != "POST /scheduler/prioritize application/json" {
		t.Errorf("request = %q, want a POST to /scheduler/prioritize", got)
	}
	if got := ScaleScore(scores["n1"], weight); got != 7*3*10 {
		t.Errorf("ScaleScore(7, 3) = %d, want %d", got, 7*3*10)
	}
}

func TestBind(t *testing.T) {
	tests := []struct {
		name   string
		reply  string
		wantIs error
	}{
		{name: "bound", reply: `{"Error": ""}`},
		{name: "refused", reply: `{"Error": "node is draining"}`, wantIs: ErrReported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeExtender(t, http.StatusOK, tt.reply)
			e := newExtender(t, Config{URLPrefix: f.prefix(), BindVerb: "bind"})
			if !e.IsBinder() {
				t.Fatalf("IsBinder() = false")
			}
			err := e.Bind(context.Background(), testPod(), "n1")
			if tt.wantIs == nil && err != nil {
				t.Fatalf("Bind: %v", err)
			}
			if tt.wantIs != nil {
				checkErr(t, err, f.prefix()+"/bind", tt.wantIs, "node is draining")
			}
			req := f.request(t)
			want := map[string]string{"PodName": `"web"`, "PodNamespace": `"shop"`, "PodUID": `"uid-web"`, "Node": `"n1"`}
			got := map[string]string{}
			for k, v := range req {
				got[k] = string(v)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("request = %v, want %v", got, want)
			}
		})
	}
}

// slowExtender answers only when the request is given up (or the test
// ends).
func slowExtender(t *testing.T) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices the client leaving once the body is read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first
	return srv
}

func TestTimeout(t *testing.T) {
	srv := slowExtender(t)
	tests := []struct {
		name    string
		timeout time.Duration // the extender's httpTimeout
		ctx     time.Duration // the caller's deadline
	}{
		{name: "httpTimeout", timeout: 50 * time.Millisecond, ctx: time.Minute},
		{name: "context deadline", timeout: time.Minute, ctx: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExtender(t, Config{URLPrefix: srv.URL, FilterVerb: "filter", HTTPTimeout: Duration{tt.timeout}})
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctx)
			defer cancel()
			start := time.Now()
			_, _, _, err := e.Filter(ctx, testPod(), testNodes("n1"))
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("Filter took %v", took)
			}
			var timeout interface{ Timeout() bool }
			if !errors.As(err, &timeout) || !timeout.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v: want a timeout", err)
			}
			checkErr(t, err, srv.URL+"/filter", nil, "")
		})
	}
}

func TestResponseTooLarge(t *testing.T) {
	f := newFakeExtender(t, http.StatusOK, `["`+strings.Repeat("x", 2048)+`"]`)
	e := newExtender(t, Config{URLPrefix: f.prefix(), PrioritizeVerb: "prioritize", Weight: 1})
	e.maxResponse = 1024
	_, _, err := e.Prioritize(context.Background(), testPod(), testNodes("n1"))
	checkErr(t, err, f.prefix()+"/prioritize", ErrResponseTooLarge, "over 1024 bytes")
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	e := newExtender(t, Config{URLPrefix: url, FilterVerb: "filter"})
	_, _, _, err := e.Filter(context.Background(), testPod(), testNodes("n1"))
	checkErr(t, err, url+"/filter", nil, "connection refused")
}

func TestIsInterested(t *testing.T) {
	gpu := corev1.ResourceName("example.com/gpu")
	withRequest := func(where string, name corev1.ResourceName) *corev1.Pod {
		p := testPod()
		rl := corev1.ResourceList{name: resource.MustParse("1")}
		switch where {
		case "request":
			p.Spec.Containers[0].Resources.Requests = rl
		case "limit":
			p.Spec.Containers[0].Resources.Limits = rl
		case "init":
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: rl}}}
		}
		return p
	}
	tests := []struct {
		name    string
		managed []ManagedResource
		pod     *corev1.Pod
		want    bool
	}{
		{name: "no managed resources: every pod", pod: testPod(), want: true},
		{name: "pod without the resource", managed: []ManagedResource{{Name: string(gpu)}}, pod: withRequest("request", corev1.ResourceCPU), want: false},
		{name: "requested", managed: []ManagedResource{{Name: string(gpu)}}, pod: withRequest("request", gpu), want: true},
		{name: "limited", managed: []ManagedResource{{Name: string(gpu)}}, pod: withRequest("limit", gpu), want: true},
		{name: "by an init container", managed: []ManagedResource{{Name: string(gpu)}}, pod: withRequest("init", gpu), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExtender(t, Config{URLPrefix: "http://127.0.0.1:1", ManagedResources: tt.managed})
			if got := e.IsInterested(tt.pod); got != tt.want {
				t.Errorf("IsInterested() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	e := newExtender(t, Config{
		URLPrefix: "http://127.0.0.1:1/x",
		Ignorable: true,
		ManagedResources: []ManagedResource{
			{Name: "example.com/a", IgnoredByScheduler: true},
			{Name: "example.com/b"},
		},
	})
	if e.Name() != "http://127.0.0.1:1/x" {
		t.Errorf("Name() = %q, want the urlPrefix", e.Name())
	}
	if !e.IsIgnorable() {
		t.Errorf("IsIgnorable() = false")
	}
	if got := e.IgnoredResources(); !slices.Equal(got, []corev1.ResourceName{"example.com/a"}) {
		t.Errorf("IgnoredResources() = %v", got)
	}
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"NodeNames": ["n1"]}`)
	}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tls     *TLSConfig
		wantErr string
	}{
		{name: "the server's CA", tls: &TLSConfig{CAFile: caFile}},
		{name: "the server's CA inline", tls: &TLSConfig{CAData: caPEM}},
		{name: "insecure", tls: &TLSConfig{Insecure: true}},
		{name: "no CA: system roots", wantErr: (x509.UnknownAuthorityError{}).Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExtender(t, Config{URLPrefix: srv.URL, EnableHTTPS: true, TLSConfig: tt.tls, FilterVerb: "filter", NodeCacheCapable: true})
			feasible, _, _, err := e.Filter(context.Background(), testPod(), testNodes("n1", "n2"))
			if tt.wantErr != "" {
				checkErr(t, err, srv.URL+"/filter", nil, tt.wantErr)
				return
			}
			if err != nil || !slices.Equal(names(feasible), []string{"n1"}) {
				t.Errorf("Filter = %v, %v; want [n1]", names(feasible), err)
			}
		})
	}
}

func TestNewTLSErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tls     *TLSConfig
		wantErr string
	}{
		{name: "missing CA file", tls: &TLSConfig{CAFile: filepath.Join(t.TempDir(), "none.pem")}, wantErr: "no such file"},
		{name: "CA without certificates", tls: &TLSConfig{CAFile: bad}, wantErr: "no PEM certificate"},
		{name: "bad client certificate", tls: &TLSConfig{CertFile: bad, KeyFile: bad}, wantErr: "client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{URLPrefix: "https://extender.example", TLSConfig: tt.tls})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New() error = %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}
