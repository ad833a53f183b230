package tokens

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// counter returns tokens t1, t2, ...
func counter() func() (string, error) {
	n := 0
	return func() (string, error) { n++; return fmt.Sprintf("t%d", n), nil }
}

func TestPlanNewFile(t *testing.T) {
	got, changed, err := Plan(nil, Clients("host1"), counter())
	if err != nil {
		t.Fatal(err)
	}
	want := `t1,admin,admin,"system:masters"
t2,system:node:host1,node-host1,"system:nodes"
t3,system:kube-scheduler,kube-scheduler,""
t4,system:kube-controller-manager,kube-controller-manager,""
t5,system:kube-proxy,kube-proxy,""
t6,system:gantry-ingress,gantry-ingress,""
`
	if !changed || string(got) != want {
		t.Errorf("Plan(empty) = %v\n%s\nwant true\n%s", changed, got, want)
	}
}

func TestPlanKeepsExisting(t *testing.T) {
	// An older file: admin and the node only, without a final newline.
	old := "aaa,admin,admin,\"system:masters\"\nbbb,system:node:host1,node-host1,\"system:nodes\""
	got, changed, err := Plan([]byte(old), Clients("host1"), counter())
	if err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Fatal("changed = false, want true")
	}
	if !strings.HasPrefix(string(got), old+"\n") {
		t.Errorf("existing lines changed:\n%s", got)
	}
	if tok, _ := Lookup(got, "system:node:host1"); tok != "bbb" {
		t.Errorf("node token = %q, want bbb", tok)
	}
	if tok, _ := Lookup(got, "system:gantry-ingress"); tok != "t4" {
		t.Errorf("ingress token = %q, want t4", tok)
	}
	again, changed, err := Plan(got, Clients("host1"), counter())
	if err != nil || changed || string(again) != string(got) {
		t.Errorf("second Plan: changed=%v err=%v\n%s", changed, err, again)
	}
}

func TestPlanNewNodeName(t *testing.T) {
	old, _, _ := Plan(nil, Clients("a"), counter())
	got, changed, err := Plan(old, Clients("b"), counter())
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	if _, ok := Lookup(got, "system:node:b"); !ok {
		t.Errorf("no line for node b:\n%s", got)
	}
	if tok, _ := First(got); tok != "t1" {
		t.Errorf("admin token = %q, want t1", tok)
	}
}

func TestLookupMatchesWholeField(t *testing.T) {
	data := []byte("x,system:node:ab,node-ab,\"system:nodes\"\n")
	if _, ok := Lookup(data, "system:node:a"); ok {
		t.Error("Lookup matched a prefix of the user")
	}
}

func TestEnsure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	changed, err := Ensure(dir, Clients("host1"))
	if err != nil || !changed {
		t.Fatalf("Ensure = %v, %v; want true, nil", changed, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "tokens.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Clients("host1") {
		want, _ := Lookup(data, c.User)
		if len(want) != 32 {
			t.Errorf("%s token %q is not 32 hex digits", c.User, want)
		}
		got, err := os.ReadFile(filepath.Join(dir, c.Name+".token"))
		if err != nil || string(got) != want+"\n" {
			t.Errorf("%s.token = %q, %v; want %q", c.Name, got, err, want+"\n")
		}
		fi, err := os.Stat(filepath.Join(dir, c.Name+".token"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s.token mode = %v, %v; want 0600", c.Name, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("pki mode = %v, %v; want 0700", fi.Mode(), err)
	}
	admin, err := AdminToken(filepath.Join(dir, "tokens.csv"))
	if err != nil || len(admin) != 32 {
		t.Errorf("AdminToken = %q, %v", admin, err)
	}
	changed, err = Ensure(dir, Clients("host1"))
	if err != nil || changed {
		t.Errorf("second Ensure = %v, %v; want false, nil", changed, err)
	}
	again, _ := os.ReadFile(filepath.Join(dir, "tokens.csv"))
	if string(again) != string(data) {
		t.Error("second Ensure rewrote tokens.csv")
	}
}
