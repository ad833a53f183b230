// Package layout says where a one-host Gantry cluster keeps its state:
// the data directory, its pid files, logs, store data and PKI, the admin
// kubeconfig and the binaries. The rules are those `make up` has always
// used, so a cluster started by one version of the tooling can be
// managed by another.
package layout

import (
	"os"
	"path/filepath"
	"strings"
)

// Layout is the set of paths of one cluster on this host.
type Layout struct {
	// StateDir holds everything else: store/, pki/, <daemon>.log and
	// <daemon>.pid.
	StateDir string
	// Kubeconfig is the admin kubeconfig.
	Kubeconfig string
	// BinDir holds the gantry-* binaries.
	BinDir string
}

// Env is what Resolve reads from the environment, so tests can supply it.
type Env struct {
	// DataDir is $GANTRY_DATA_DIR (or --data-dir); empty for the default.
	DataDir string
	// BinDir is $GANTRY_BIN_DIR (or --bin-dir); empty for the default.
	BinDir string
	// XDGDataHome is $XDG_DATA_HOME.
	XDGDataHome string
	// Home is $HOME.
	Home string
	// Root is whether the effective user is root.
	Root bool
	// Executable is the path of the running gantry binary.
	Executable string
}

// FromOS reads Env from the process environment.
func FromOS() Env {
	exe, err := os.Executable()
	if err == nil {
		if p, err := filepath.EvalSymlinks(exe); err == nil {
			exe = p
		}
	}
	return Env{
		DataDir:     os.Getenv("GANTRY_DATA_DIR"),
		BinDir:      os.Getenv("GANTRY_BIN_DIR"),
		XDGDataHome: os.Getenv("XDG_DATA_HOME"),
		Home:        os.Getenv("HOME"),
		Root:        os.Geteuid() == 0,
		Executable:  exe,
	}
}

// Resolve applies the rules: the state directory is DataDir if set, else
// /var/lib/gantry for root, else $XDG_DATA_HOME/gantry (default
// ~/.local/share/gantry). The admin kubeconfig is
// /etc/gantry/admin.kubeconfig for root without DataDir, else
// <state>/admin.kubeconfig. Binaries come from BinDir, else from the
// directory of the gantry executable.
func Resolve(env Env) Layout {
	var l Layout
	switch {
	case env.DataDir != "":
		l.StateDir = env.DataDir
	case env.Root:
		l.StateDir = "/var/lib/gantry"
	default:
		base := env.XDGDataHome
		if base == "" {
			base = filepath.Join(env.Home, ".local", "share")
		}
		l.StateDir = filepath.Join(base, "gantry")
	}
	if env.Root && env.DataDir == "" {
		l.Kubeconfig = "/etc/gantry/admin.kubeconfig"
	} else {
		l.Kubeconfig = filepath.Join(l.StateDir, "admin.kubeconfig")
	}
	l.BinDir = env.BinDir
	if l.BinDir == "" && env.Executable != "" {
		l.BinDir = filepath.Dir(env.Executable)
	}
	return l
}

// StoreDir is the store member's data directory.
func (l Layout) StoreDir() string { return filepath.Join(l.StateDir, "store") }

// PKIDir holds the cluster CA, the API server's certificate and the tokens.
func (l Layout) PKIDir() string { return filepath.Join(l.StateDir, "pki") }

// CAFile is the cluster CA certificate.
func (l Layout) CAFile() string { return filepath.Join(l.PKIDir(), "ca.crt") }

// CAKeyFile is the cluster CA key.
func (l Layout) CAKeyFile() string { return filepath.Join(l.PKIDir(), "ca.key") }

// TokensFile is the API server's token file.
func (l Layout) TokensFile() string { return filepath.Join(l.PKIDir(), "tokens.csv") }

// TokenFile is the copy of one client's token, e.g. "agent" -> pki/agent.token.
func (l Layout) TokenFile(client string) string {
	return filepath.Join(l.PKIDir(), client+".token")
}

// PIDFile is a daemon's pid file.
func (l Layout) PIDFile(name string) string { return filepath.Join(l.StateDir, name+".pid") }

// LogFile is a daemon's log.
func (l Layout) LogFile(name string) string { return filepath.Join(l.StateDir, name+".log") }

// Binary is the path of a gantry-* binary.
func (l Layout) Binary(name string) string { return filepath.Join(l.BinDir, name) }

// NodeName is this host's node name: the host name in lower case.
func NodeName() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", err
	}
	return strings.ToLower(h), nil
}
