package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func testCertificateKey(t *testing.T) string {
	t.Helper()
	key, err := NewCertificateKey()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(key) {
		t.Fatalf("NewCertificateKey = %q, want 64 hex digits", key)
	}
	return key
}

func testCertFiles() map[string][]byte {
	return map[string][]byte{
		"ca.crt":     []byte("-----BEGIN CERTIFICATE-----\nthe CA\n-----END CERTIFICATE-----\n"),
		"ca.key":     []byte("-----BEGIN EC PRIVATE KEY-----\nthe CA key\n-----END EC PRIVATE KEY-----\n"),
		"tokens.csv": []byte("admintoken,admin,admin,system:masters\n"),
		"empty":      {},
	}
}

func TestSealOpenCerts(t *testing.T) {
	key := testCertificateKey(t)
	files := testCertFiles()
	sealed, err := sealCerts(key, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len(files) {
		t.Fatalf("sealed %d files, want %d", len(sealed), len(files))
	}
	for name, data := range files {
		if len(data) > 0 && bytes.Contains(sealed[name], data) {
			t.Errorf("sealed %s holds its plaintext", name)
		}
	}
	again, err := sealCerts(key, files)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again["ca.key"], sealed["ca.key"]) {
		t.Error("sealing twice gave the same ciphertext: the nonce is not fresh")
	}
	opened, err := openCerts(key, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if len(opened) != len(files) {
		t.Fatalf("opened %d files, want %d", len(opened), len(files))
	}
	for name, data := range files {
		if !bytes.Equal(opened[name], data) {
			t.Errorf("opened %s = %q, want %q", name, opened[name], data)
		}
	}

	t.Run("wrong key", func(t *testing.T) {
		_, err := openCerts(testCertificateKey(t), sealed)
		if err == nil || !strings.Contains(err.Error(), "wrong certificate key") ||
			!strings.Contains(err.Error(), "kube-system/gantry-certs") {
			t.Errorf("openCerts with another key: %v; want an error naming the Secret and the wrong key", err)
		}
	})
	t.Run("value under another name", func(t *testing.T) {
		moved := map[string][]byte{"ca.crt": sealed["ca.key"]}
		_, err := openCerts(key, moved)
		if err == nil || !strings.Contains(err.Error(), "cannot decrypt ca.crt") {
			t.Errorf("openCerts of ca.key's value as ca.crt: %v; want an error naming ca.crt", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		_, err := openCerts(key, map[string][]byte{"ca.key": sealed["ca.key"][:5]})
		if err == nil || !strings.Contains(err.Error(), "ca.key is too short") {
			t.Errorf("openCerts of a truncated value: %v", err)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		v := bytes.Clone(sealed["tokens.csv"])
		v[len(v)-1] ^= 1
		if _, err := openCerts(key, map[string][]byte{"tokens.csv": v}); err == nil {
			t.Error("openCerts of a changed value succeeded")
		}
	})
}

func TestCertificateKeyFormat(t *testing.T) {
	good := strings.Repeat("0a", 32)
	if _, err := certsAEAD(good); err != nil {
		t.Fatalf("certsAEAD(%q): %v", good, err)
	}
	if _, err := certsAEAD(strings.ToUpper(good)); err != nil {
		t.Errorf("upper-case hex rejected: %v", err)
	}
	for _, bad := range []string{
		"",
		good[:62],                // 31 bytes
		good + "0a",              // 33 bytes
		good[:63],                // odd length
		good[:62] + "zz",         // not hex
		strings.Repeat("0a", 16), // an AES-128 key
		" " + good,
	} {
		if _, err := certsAEAD(bad); err == nil || !strings.Contains(err.Error(), "64 hexadecimal digits") {
			t.Errorf("certsAEAD(%q) = %v; want an error asking for 64 hexadecimal digits", bad, err)
		}
		if _, err := sealCerts(bad, testCertFiles()); err == nil {
			t.Errorf("sealCerts with key %q succeeded", bad)
		}
		if _, err := openCerts(bad, nil); err == nil {
			t.Errorf("openCerts with key %q succeeded", bad)
		}
	}
}

// secretsServer stands in for the API server's Secrets in kube-system
// for an administrator with token admin-token; status, if set, answers
// every request.
type secretsServer struct {
	*httptest.Server
	mu      sync.Mutex
	secrets map[string]json.RawMessage
	version int
	calls   []string
	status  int
}

func newSecretsServer(t *testing.T) *secretsServer {
	s := &secretsServer{secrets: map[string]json.RawMessage{}}
	const coll = "/api/v1/namespaces/kube-system/secrets"
	fail := func(w http.ResponseWriter, code int, reason string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"kind":"Status","status":"Failure","message":"%s","reason":"%s","code":%d}`, reason, reason, code)
	}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		if s.status != 0 {
			fail(w, s.status, http.StatusText(s.status))
			return
		}
		if r.Header.Get("Authorization") != "Bearer admin-token" {
			fail(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		var in certsSecret
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				fail(w, http.StatusBadRequest, "BadRequest")
				return
			}
		}
		store := func(in certsSecret) {
			s.version++
			in.Metadata.ResourceVersion = strconv.Itoa(s.version)
			data, _ := json.Marshal(in)
			s.secrets[in.Metadata.Name] = data
			w.WriteHeader(http.StatusCreated)
			w.Write(data)
		}
		name, named := strings.CutPrefix(r.URL.Path, coll+"/")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == coll:
			if in.Metadata.Namespace != "kube-system" || in.Kind != "Secret" {
				fail(w, http.StatusBadRequest, "BadRequest")
				return
			}
			if _, ok := s.secrets[in.Metadata.Name]; ok {
				fail(w, http.StatusConflict, "AlreadyExists")
				return
			}
			store(in)
		case r.Method == http.MethodGet && named:
			data, ok := s.secrets[name]
			if !ok {
				fail(w, http.StatusNotFound, "NotFound")
				return
			}
			w.Write(data)
		case r.Method == http.MethodPut && named:
			var cur certsSecret
			data, ok := s.secrets[name]
			if !ok {
				fail(w, http.StatusNotFound, "NotFound")
				return
			}
			if err := json.Unmarshal(data, &cur); err != nil || in.Metadata.Name != name ||
				in.Metadata.ResourceVersion != cur.Metadata.ResourceVersion {
				fail(w, http.StatusConflict, "Conflict")
				return
			}
			store(in)
		default:
			fail(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *secretsServer) client(t *testing.T, token string) *Client {
	t.Helper()
	c, err := NewClient(s.URL, caPEMOf(s.Certificate()), token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// takeCalls returns the requests so far and forgets them.
func (s *secretsServer) takeCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := s.calls
	s.calls = nil
	return calls
}

func (s *secretsServer) setStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

func (s *secretsServer) stored(t *testing.T) certsSecret {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out certsSecret
	if err := json.Unmarshal(s.secrets[CertsSecretName], &out); err != nil {
		t.Fatalf("stored Secret: %v", err)
	}
	return out
}

func TestUploadDownloadCerts(t *testing.T) {
	ctx := context.Background()
	s := newSecretsServer(t)
	admin := s.client(t, "admin-token")
	key := testCertificateKey(t)

	if _, err := DownloadCerts(ctx, admin, key); err == nil || !strings.Contains(err.Error(), "does not exist") ||
		!strings.Contains(err.Error(), "--control-plane") {
		t.Errorf("DownloadCerts before any upload: %v; want an error saying how to make a new key", err)
	}

	files := testCertFiles()
	if err := UploadCerts(ctx, admin, key, files); err != nil {
		t.Fatal(err)
	}
	sec := s.stored(t)
	if sec.Type != "gantry.dev/certs" || sec.Metadata.Namespace != "kube-system" || sec.Metadata.Name != "gantry-certs" {
		t.Errorf("stored Secret %s %+v", sec.Type, sec.Metadata)
	}
	for name, data := range files {
		v, ok := sec.Data[name]
		if !ok {
			t.Errorf("stored Secret has no %s", name)
			continue
		}
		if len(data) > 0 && bytes.Contains(v, data) {
			t.Errorf("stored %s holds its plaintext", name)
		}
	}
	got, err := DownloadCerts(ctx, admin, key)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if !bytes.Equal(got[name], data) {
			t.Errorf("downloaded %s = %q, want %q", name, got[name], data)
		}
	}

	// A second upload (a new certificate key) replaces the Secret.
	key2 := testCertificateKey(t)
	files["ca.key"] = []byte("another CA key")
	s.takeCalls()
	if err := UploadCerts(ctx, admin, key2, files); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{"POST /api/v1/namespaces/kube-system/secrets",
		"GET /api/v1/namespaces/kube-system/secrets/gantry-certs",
		"PUT /api/v1/namespaces/kube-system/secrets/gantry-certs"}
	if calls := s.takeCalls(); !slices.Equal(calls, wantCalls) {
		t.Errorf("second upload called %q, want %q", calls, wantCalls)
	}
	got, err = DownloadCerts(ctx, admin, key2)
	if err != nil {
		t.Fatal(err)
	}
	if string(got["ca.key"]) != "another CA key" {
		t.Errorf("after the replacement ca.key = %q", got["ca.key"])
	}
	if _, err := DownloadCerts(ctx, admin, key); err == nil || !strings.Contains(err.Error(), "wrong certificate key") {
		t.Errorf("DownloadCerts with the replaced key: %v", err)
	}

	s.takeCalls()
	if _, err := DownloadCerts(ctx, admin, "not-a-key"); err == nil || !strings.Contains(err.Error(), "64 hexadecimal digits") {
		t.Errorf("DownloadCerts with a malformed key: %v", err)
	}
	if err := UploadCerts(ctx, admin, "not-a-key", files); err == nil || !strings.Contains(err.Error(), "64 hexadecimal digits") {
		t.Errorf("UploadCerts with a malformed key: %v", err)
	}
	if calls := s.takeCalls(); len(calls) != 0 {
		t.Errorf("a malformed key still called the API server: %q", calls)
	}

	if err := UploadCerts(ctx, s.client(t, "wrong"), key, files); err == nil || !IsCode(err, http.StatusUnauthorized) ||
		!strings.Contains(err.Error(), "write kube-system/gantry-certs") {
		t.Errorf("UploadCerts refused: %v", err)
	}
	s.setStatus(http.StatusForbidden)
	if _, err := DownloadCerts(ctx, admin, key2); err == nil || !IsCode(err, http.StatusForbidden) ||
		!strings.Contains(err.Error(), "read kube-system/gantry-certs") {
		t.Errorf("DownloadCerts forbidden: %v", err)
	}
}

func TestAPIServers(t *testing.T) {
	var (
		mu     sync.Mutex
		body   string
		status int
	)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/namespaces/default/endpoints/kubernetes" {
			http.NotFound(w, r)
			return
		}
		if status != 0 {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"kind":"Status","status":"Failure","message":"endpoints is forbidden","reason":"Forbidden","code":%d}`, status)
			return
		}
		fmt.Fprint(w, body)
	}))
	defer ts.Close()
	c, err := NewClient(ts.URL, caPEMOf(ts.Certificate()), "tok")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{name: "two addresses",
			body: `{"kind":"Endpoints","subsets":[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],"ports":[{"name":"https","port":6443,"protocol":"TCP"}]}]}`,
			want: []string{"https://10.0.0.1:6443", "https://10.0.0.2:6443"}},
		{name: "https among other ports",
			body: `{"subsets":[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"name":"metrics","port":8080},{"name":"https","port":6443}]}]}`,
			want: []string{"https://10.0.0.1:6443"}},
		{name: "IPv6 and a repeated address",
			body: `{"subsets":[{"addresses":[{"ip":"fd00::1"}],"ports":[{"name":"https","port":6443}]},{"addresses":[{"ip":"fd00::1"}],"ports":[{"name":"https","port":6443}]}]}`,
			want: []string{"https://[fd00::1]:6443"}},
		{name: "no port", body: `{"subsets":[{"addresses":[{"ip":"10.0.0.1"}]}]}`},
		{name: "empty subsets", body: `{"kind":"Endpoints","subsets":[]}`},
		{name: "no subsets", body: `{"kind":"Endpoints"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			body = tc.body
			mu.Unlock()
			got, err := APIServers(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("APIServers = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("forbidden", func(t *testing.T) {
		mu.Lock()
		status = http.StatusForbidden
		mu.Unlock()
		got, err := APIServers(ctx, c)
		if err == nil || !IsCode(err, http.StatusForbidden) || !strings.Contains(err.Error(), "default/kubernetes Endpoints") {
			t.Errorf("APIServers = %q, %v; want a 403 error naming the Endpoints", got, err)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		mu.Lock()
		status, body = 0, "<html>"
		mu.Unlock()
		if got, err := APIServers(ctx, c); err == nil {
			t.Errorf("APIServers of a non-JSON answer = %q", got)
		}
	})
}

func TestRemoveAPIServer(t *testing.T) {
	var (
		mu  sync.Mutex
		cur string
		put string
	)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/api/v1/namespaces/default/endpoints/kubernetes" {
			http.NotFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			fmt.Fprint(w, cur)
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			put = string(b)
			fmt.Fprint(w, put)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	defer ts.Close()
	c, err := NewClient(ts.URL, caPEMOf(ts.Certificate()), "tok")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		removed    bool
		want       string // the PUT body, decoded and re-encoded
	}{
		{name: "one of two",
			body:    `{"kind":"Endpoints","metadata":{"name":"kubernetes","resourceVersion":"7"},"subsets":[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],"ports":[{"name":"https","port":6443}]}]}`,
			removed: true,
			want:    `{"kind":"Endpoints","metadata":{"name":"kubernetes","resourceVersion":"7"},"subsets":[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"name":"https","port":6443}]}]}`},
		{name: "the last: the subset goes",
			body:    `{"kind":"Endpoints","metadata":{"name":"kubernetes"},"subsets":[{"addresses":[{"ip":"10.0.0.2"}],"ports":[{"name":"https","port":6443}]}]}`,
			removed: true,
			want:    `{"kind":"Endpoints","metadata":{"name":"kubernetes"},"subsets":null}`},
		{name: "not listed",
			body: `{"kind":"Endpoints","metadata":{"name":"kubernetes"},"subsets":[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"name":"https","port":6443}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			cur, put = tc.body, ""
			mu.Unlock()
			removed, err := RemoveAPIServer(context.Background(), c, "10.0.0.2")
			if err != nil || removed != tc.removed {
				t.Fatalf("RemoveAPIServer = %v, %v; want %v, nil", removed, err, tc.removed)
			}
			mu.Lock()
			got := put
			mu.Unlock()
			if tc.want == "" {
				if got != "" {
					t.Errorf("PUT %s, want none", got)
				}
				return
			}
			var g, w any
			if err := json.Unmarshal([]byte(got), &g); err != nil {
				t.Fatalf("PUT body %q: %v", got, err)
			}
			if err := json.Unmarshal([]byte(tc.want), &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("PUT %s\nwant %s", got, tc.want)
			}
		})
	}
}
