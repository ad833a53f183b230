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
		if dir := os.Getenv("GANTRY_BIN_DIR"); dir != "" {
			bin, err := filepath.Abs(filepath.Join(dir, "gantry-store"))
			if err != nil {
				return Flavor{}, err
			}
			if _, err := os.Stat(bin); err != nil {
				return Flavor{}, fmt.Errorf("gantry flavor: GANTRY_BIN_DIR is set but has no gantry-store: %w", err)
			}
			return Flavor{Name: Gantry, Binary: bin}, nil
		}
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
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildGantry builds services/store/cmd/gantry-store into a temporary
// directory, once per process. RemoveBuilt deletes it.
func buildGantry() (string, error) {
	built.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			built.err = err
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("gantry flavor: building gantry-store needs the go command (or set GANTRY_BIN_DIR): %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "gantry-store-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		bin := filepath.Join(dir, "gantry-store")
		cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/gantry-store")
		cmd.Dir = filepath.Join(root, "services", "store")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("gantry flavor: go build ./cmd/gantry-store in %s failed: %w\n%s", cmd.Dir, err, out)
			return
		}
		built.bin = bin
	})
	return built.bin, built.err
}

// RemoveBuilt deletes the gantry-store binary built by this process, if any.
// Call it once no cluster needs it any more (from TestMain, or main).
func RemoveBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
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
