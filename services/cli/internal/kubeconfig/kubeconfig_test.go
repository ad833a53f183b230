package kubeconfig

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRender(t *testing.T) {
	got, err := Render(Admin{Server: "https://127.0.0.1:6443", CAFile: "/var/lib/gantry/pki/ca.crt", Token: "0123abcd"})
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: v1
kind: Config
clusters:
- name: gantry
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: /var/lib/gantry/pki/ca.crt
users:
- name: admin
  user:
    token: 0123abcd
contexts:
- name: admin@gantry
  context:
    cluster: gantry
    user: admin
current-context: admin@gantry
`
	if string(got) != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
}

func TestRenderRejects(t *testing.T) {
	for _, a := range []Admin{
		{Server: "https://x", CAFile: "/ca.crt"},
		{Server: "https://x", CAFile: "/ca.crt", Token: "a\nb"},
		{Server: "https://x", CAFile: "/ca: #.crt", Token: "t"},
		{CAFile: "/ca.crt", Token: "t"},
	} {
		if _, err := Render(a); err == nil {
			t.Errorf("Render(%+v) succeeded, want an error", a)
		}
	}
}

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "admin.kubeconfig")
	a := Admin{Server: "https://127.0.0.1:6443", CAFile: "/ca.crt", Token: "t"}
	if err := Write(path, a); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v; want 0600", fi.Mode(), err)
	}
	got, _ := os.ReadFile(path)
	want, _ := Render(a)
	if string(got) != string(want) {
		t.Errorf("file = %q, want %q", got, want)
	}
}
