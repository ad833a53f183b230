package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/bootstrap"
	"github.com/gantry-dev/gantry/services/cli/internal/kubeconfig"
	"github.com/gantry-dev/gantry/services/cli/internal/layout"
)

func TestParseTokenFlags(t *testing.T) {
	env := layout.Env{DataDir: "/env/data"}
	o, err := parseTokenFlags(nil, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.ttl != 24*time.Hour || o.description != "" || o.joinCommand || o.env.DataDir != "/env/data" {
		t.Errorf("defaults = %+v", o)
	}
	o, err = parseTokenFlags([]string{"--ttl", "2h", "--description", "node 2", "--print-join-command", "--data-dir", "rel"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.ttl != 2*time.Hour || o.description != "node 2" || !o.joinCommand || !filepath.IsAbs(o.env.DataDir) {
		t.Errorf("flags = %+v", o)
	}
	for _, bad := range [][]string{{"--ttl", "-1h"}, {"--ttl", "soon"}, {"extra"}, {"--purge"}} {
		if _, err := parseTokenFlags(bad, env, &bytes.Buffer{}); err == nil {
			t.Errorf("parseTokenFlags(%q) accepted", bad)
		}
	}
}

func TestTokenUsage(t *testing.T) {
	for _, args := range [][]string{{"token"}, {"token", "list"}} {
		var out, errOut bytes.Buffer
		if code := Main(args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "gantry token create") {
			t.Errorf("Main(%q) = %d, stderr %q", args, code, errOut.String())
		}
	}
}

// TestTokenCreate runs token create against an API server stand-in
// with the admin kubeconfig gantry up writes.
func TestTokenCreate(t *testing.T) {
	var created map[string]any
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/namespaces/kube-system/secrets" || r.Header.Get("Authorization") != "Bearer admintoken" {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&created); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer ts.Close()
	dir := t.TempDir()
	l := layout.Resolve(layout.Env{DataDir: dir})
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.MkdirAll(l.PKIDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.CAFile(), caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := tokenCreate(ctx, l, tokenOptions{ttl: time.Hour}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "gantry up") {
		t.Errorf("without a kubeconfig: %v", err)
	}
	if err := kubeconfig.Write(l.Kubeconfig, kubeconfig.Admin{Server: ts.URL, CAFile: l.CAFile(), Token: "admintoken"}); err != nil {
		t.Fatal(err)
	}

	if err := tokenCreate(ctx, l, tokenOptions{ttl: time.Hour, description: "d"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}\n$`).MatchString(out.String()) {
		t.Errorf("printed %q, want a token", out.String())
	}
	if md, _ := created["metadata"].(map[string]any); md["name"] != "bootstrap-token-"+out.String()[:6] {
		t.Errorf("created %v", created["metadata"])
	}

	out.Reset()
	if err := tokenCreate(ctx, l, tokenOptions{ttl: time.Hour, joinCommand: true}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	hash := bootstrap.CAHash(ts.Certificate())
	re := regexp.MustCompile(`^gantry join --server ` + regexp.QuoteMeta(ts.URL) + ` --token [a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash ` + hash + "\n$")
	if !re.MatchString(out.String()) {
		t.Errorf("printed %q", out.String())
	}
	if !strings.Contains(errOut.String(), "loopback") {
		t.Errorf("no note about the loopback server address: %q", errOut.String())
	}
}

func TestParseAdminKubeconfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("CA"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := kubeconfig.Render(kubeconfig.Admin{Server: "https://127.0.0.1:6443", CAFile: "ca.crt", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseAdminKubeconfig(data, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.server != "https://127.0.0.1:6443" || string(got.caPEM) != "CA" || got.token != "tok" {
		t.Errorf("got %+v", got)
	}
	for _, tc := range []struct{ name, from, to, err string }{
		{"no context", "current-context: admin@gantry", "current-context: other", `no context "other"`},
		{"no token", "token: tok", "token: ''", "no token"},
		{"no server", "server: https://127.0.0.1:6443", "server: ''", "no server"},
		{"no CA", "certificate-authority: ca.crt", "certificate-authority: ''", "no certificate authority"},
		{"missing CA file", "certificate-authority: ca.crt", "certificate-authority: gone.crt", "gone.crt"},
		{"not YAML", "kind: Config", "kind: [", "admin kubeconfig"},
	} {
		_, err := parseAdminKubeconfig([]byte(strings.Replace(string(data), tc.from, tc.to, 1)), dir)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want error with %q", tc.name, err, tc.err)
		}
	}
}
