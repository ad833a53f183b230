package cli

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/layout"
)

const (
	testPin1 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testPin2 = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func TestParseHostFlagsInit(t *testing.T) {
	env := layout.Env{DataDir: "/env/data", BinDir: "/env/bin"}
	o, err := parseHostFlags("init", nil, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.init.TokenTTL != 24*time.Hour || o.init.AdvertiseAddress != "" || o.init.SharedMachine ||
		o.env.DataDir != "/env/data" || o.env.BinDir != "/env/bin" || o.timeout != 2*time.Minute || o.nodeName != "" {
		t.Errorf("defaults = %+v", o)
	}
	o, err = parseHostFlags("init", []string{"--advertise-address", "10.0.0.1", "--token-ttl", "0", "--shared-machine",
		"--node-name", "CP1", "--data-dir", "rel/data", "--bin-dir", "rel/bin", "--timeout", "5m"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	if o.init.AdvertiseAddress != "10.0.0.1" || o.init.TokenTTL != 0 || !o.init.SharedMachine || o.nodeName != "cp1" ||
		o.env.DataDir != filepath.Join(wd, "rel/data") || o.env.BinDir != filepath.Join(wd, "rel/bin") || o.timeout != 5*time.Minute {
		t.Errorf("flags = %+v", o)
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--token-ttl", "-1h"}, "--token-ttl -1h0m0s"},
		{[]string{"--token-ttl", "soon"}, "soon"},
		{[]string{"extra"}, "unexpected arguments"},
		// join's flags are not init's.
		{[]string{"--server", "https://10.0.0.1:6443"}, "not defined: -server"},
		{[]string{"--control-plane"}, "not defined: -control-plane"},
	} {
		var stderr bytes.Buffer
		_, err := parseHostFlags("init", tc.args, env, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("parseHostFlags(init, %q) = %v; want an error with %q", tc.args, err, tc.err)
		}
	}
}

func TestParseHostFlagsJoin(t *testing.T) {
	env := layout.Env{}
	base := []string{"--server", "https://10.0.0.1:6443", "--token", "abcdef.0123456789abcdef",
		"--discovery-token-ca-cert-hash", testPin1}
	o, err := parseHostFlags("join", append(slices.Clone(base), "--discovery-token-ca-cert-hash", testPin2,
		"--advertise-address", "10.0.0.5", "--shared-machine", "--data-dir", "d"), env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	j := o.join
	if j.Server != "https://10.0.0.1:6443" || j.Token != "abcdef.0123456789abcdef" || j.AdvertiseAddress != "10.0.0.5" ||
		!j.SharedMachine || j.ControlPlane || j.CertificateKey != "" {
		t.Errorf("join options = %+v", j)
	}
	if want := []string{testPin1, testPin2}; !slices.Equal(j.CAPins, want) {
		t.Errorf("pins = %q, want %q", j.CAPins, want)
	}
	if !filepath.IsAbs(o.env.DataDir) || filepath.Base(o.env.DataDir) != "d" {
		t.Errorf("--data-dir d became %q, want an absolute path", o.env.DataDir)
	}

	key := strings.Repeat("ab", 32)
	o, err = parseHostFlags("join", append(slices.Clone(base), "--control-plane", "--certificate-key", key), env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.join.ControlPlane || o.join.CertificateKey != key || !slices.Equal(o.join.CAPins, []string{testPin1}) {
		t.Errorf("control-plane join options = %+v", o.join)
	}

	for _, tc := range []struct {
		name    string
		args    []string
		err     string
		missing []string
	}{
		{name: "nothing", args: nil, err: "missing",
			missing: []string{"--server", "--token", "--discovery-token-ca-cert-hash"}},
		{name: "no server", args: base[2:], err: "missing", missing: []string{"--server"}},
		{name: "no token", args: append(slices.Clone(base[:2]), base[4:]...), err: "missing", missing: []string{"--token"}},
		{name: "no pin", args: base[:4], err: "missing", missing: []string{"--discovery-token-ca-cert-hash"}},
		{name: "certificate key without control plane", args: append(slices.Clone(base), "--certificate-key", key),
			err: "--certificate-key is for --control-plane"},
		{name: "extra argument", args: append(slices.Clone(base), "now"), err: "unexpected arguments"},
		{name: "init's flag", args: append(slices.Clone(base), "--token-ttl", "1h"), err: "not defined: -token-ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseHostFlags("join", tc.args, env, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("parseHostFlags(join, %q) = %v; want an error with %q", tc.args, err, tc.err)
			}
			for _, f := range []string{"--server", "--token", "--discovery-token-ca-cert-hash"} {
				listed := slices.Contains(missingFlags(err.Error()), f)
				if want := slices.Contains(tc.missing, f); listed != want {
					t.Errorf("error %q lists %s: %v, want %v", err, f, listed, want)
				}
			}
		})
	}
}

// missingFlags returns the flags of a "missing A, B (...)" error.
func missingFlags(msg string) []string {
	_, rest, ok := strings.Cut(msg, "missing ")
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(rest, " (")
	return strings.Split(rest, ", ")
}

func TestParseTokenFlagsControlPlane(t *testing.T) {
	if _, err := parseTokenFlags([]string{"--control-plane"}, layout.Env{}, &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "--print-join-command") {
		t.Errorf("--control-plane alone: %v; want an error asking for --print-join-command", err)
	}
	o, err := parseTokenFlags([]string{"--print-join-command", "--control-plane"}, layout.Env{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.joinCommand || !o.controlPlane {
		t.Errorf("flags = %+v", o)
	}
}
