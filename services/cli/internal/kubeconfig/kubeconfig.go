// Package kubeconfig writes the admin kubeconfig of a one-host cluster.
package kubeconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-dev/gantry/services/cli/internal/fsutil"
)

// Admin is what the admin kubeconfig points at.
type Admin struct {
	Server string // https://127.0.0.1:6443
	CAFile string // the cluster CA certificate
	Token  string // the admin's bearer token
}

// Render returns the kubeconfig: one cluster "gantry", one user "admin"
// with a bearer token, and the context admin@gantry as current.
func Render(a Admin) ([]byte, error) {
	for _, f := range []struct{ name, v string }{{"server", a.Server}, {"CA file", a.CAFile}, {"token", a.Token}} {
		if f.v == "" {
			return nil, fmt.Errorf("kubeconfig: no %s", f.name)
		}
		if strings.ContainsAny(f.v, "\n\r\"'#:") && f.name != "server" {
			return nil, fmt.Errorf("kubeconfig: %s %q has characters YAML would misread", f.name, f.v)
		}
	}
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: gantry
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: admin@gantry
  context:
    cluster: gantry
    user: admin
current-context: admin@gantry
`, a.Server, a.CAFile, a.Token), nil
}

// Write renders a into path, readable by the user only, making its
// directory if needed.
func Write(path string, a Admin) error {
	data, err := Render(a)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return fsutil.ReplaceFile(path, data)
}
