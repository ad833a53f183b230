package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Flavor names.
const (
	Gantry = "gantry"
	Etcd   = "etcd"
)

// FlavorEnv names the environment variable that selects the flavor tests run
// against; unset means Gantry.
const FlavorEnv = "GANTRY_STORE_FLAVOR"

// etcdBinary is where Debian's etcd-server package installs etcd.
const etcdBinary = "/usr/bin/etcd"

// A Flavor is a store implementation that accepts etcd's command-line flags.
type Flavor struct {
	Name   string // Gantry or Etcd
	Binary string // absolute path of the executable
}

// FlavorFromEnv returns the flavor named by $GANTRY_STORE_FLAVOR.
func FlavorFromEnv() (Flavor, error) {
	name := os.Getenv(FlavorEnv)
	if name == "" {
		name = Gantry
	}
	return LookupFlavor(name)
}

// LookupFlavor locates the binary of the named flavor. gantry-store comes
// from $GANTRY_BIN_DIR when set and is otherwise built once per process from
// services/store; etcd is Debian's /usr/bin/etcd.
func LookupFlavor(name string) (Flavor, error) {
	switch name {
	case Etcd:
		if _, err := os.Stat(etcdBinary); err != nil {
			return Flavor{}, fmt.Errorf("etcd flavor needs %s (Debian package etcd-server): %w", etcdBinary, err)
		}
		return Flavor{Name: Etcd, Binary: etcdBinary}, nil
	case Gantry:
		bin, err := buildGantry()
		if err != nil {
			return Flavor{}, err
		}
		return Flavor{Name: Gantry, Binary: bin}, nil
	default:
		return Flavor{}, fmt.Errorf("unknown store flavor %q (want %q or %q)", name, Gantry, Etcd)
	}
}

var built struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string
}

// Binary returns the path of a Gantry daemon: $GANTRY_BIN_DIR/<name> when
// that variable is set, otherwise services/<service>/cmd/<name> built once
// per process into a temporary directory (RemoveBuilt deletes it).
func Binary(service, name string) (string, error) {
	if dir := os.Getenv("GANTRY_BIN_DIR"); dir != "" {
		bin, err := filepath.Abs(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("GANTRY_BIN_DIR is set but has no %s: %w", name, err)
		}
		return bin, nil
	}
	built.mu.Lock()
	defer built.mu.Unlock()
	if bin, ok := built.bins[name]; ok {
		return bin, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building %s needs the go command (or set GANTRY_BIN_DIR): %w", name, err)
	}
	if built.dir == "" {
		if built.dir, err = os.MkdirTemp("", "gantry-bin-"); err != nil {
			return "", err
		}
		built.bins = map[string]string{}
	}
	bin := filepath.Join(built.dir, name)
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = filepath.Join(root, "services", service)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s in %s failed: %w\n%s", name, cmd.Dir, err, out)
	}
	built.bins[name] = bin
	return bin, nil
}

func buildGantry() (string, error) { return Binary("store", "gantry-store") }

// RemoveBuilt deletes the binaries built by this process, if any. Call it
// once nothing needs them any more (from TestMain, or main).
func RemoveBuilt() {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
		built.dir, built.bins = "", nil
	}
}

// repoRoot walks up from the working directory to the directory holding
// go.work.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("gantry flavor: no go.work above the working directory; set GANTRY_BIN_DIR to a directory holding gantry-store")
		}
		dir = parent
	}
}
