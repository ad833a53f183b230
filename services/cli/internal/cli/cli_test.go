package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/layout"
)

func TestParseFlags(t *testing.T) {
	env := layout.Env{BinDir: "/env/bin", DataDir: "/env/data", Root: true}
	o, err := parseFlags("up", nil, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.env.BinDir != "/env/bin" || o.env.DataDir != "/env/data" || o.timeout != 60*time.Second {
		t.Errorf("defaults = %+v", o)
	}
	o, err = parseFlags("down", []string{"--bin-dir", "/flag/bin", "--purge", "--grace", "5s"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.env.BinDir != "/flag/bin" || o.env.DataDir != "/env/data" || !o.purge || o.grace != 5*time.Second {
		t.Errorf("flags = %+v", o)
	}
	if _, err := parseFlags("status", []string{"--purge"}, env, &bytes.Buffer{}); err == nil {
		t.Error("status accepted --purge")
	}
	if _, err := parseFlags("up", []string{"extra"}, env, &bytes.Buffer{}); err == nil {
		t.Error("up accepted an argument")
	}
	o, err = parseFlags("status", []string{"--data-dir", "rel"}, env, &bytes.Buffer{})
	if err != nil || !strings.HasPrefix(o.env.DataDir, "/") {
		t.Errorf("relative --data-dir = %q, %v; want it made absolute", o.env.DataDir, err)
	}
}

func TestMainUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "gantry up") || !strings.Contains(errOut.String(), "gantry token create") {
		t.Errorf("Main() = %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Errorf("Main(frobnicate) = %d, stderr %q", code, errOut.String())
	}
}

func TestKubectlEnv(t *testing.T) {
	got := kubectlEnv([]string{"HOME=/root", "KUBECONFIG=/elsewhere", "KUBECONFIGX=1"}, "/state/admin.kubeconfig")
	want := []string{"HOME=/root", "KUBECONFIGX=1", "KUBECONFIG=/state/admin.kubeconfig"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("kubectlEnv = %q, want %q", got, want)
	}
}
