// Package cgroups keeps the pods' cgroups on a cgroupfs host. A pod's
// containers run in <Parent>/pod<uid>/<container id> of every hierarchy
// (runc makes the directories when it starts a container and removes the
// container's own when it deletes it); the pod's directory is the
// agent's to remove once the pod is gone from the node.
//
// Removal is rmdir only, deepest first: a cgroup that still has tasks
// (or a child cgroup that does) stays, and Remove says which one and how
// many tasks it holds. Nothing here kills or moves tasks.
//
// Hierarchies are the directories under Root (/sys/fs/cgroup): one per
// cgroup v1 controller, plus "unified" on a hybrid host; on a pure cgroup
// v2 host Root itself is the one hierarchy. Symbolic links (cpu ->
// cpu,cpuacct) name a hierarchy twice and are skipped.
package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Defaults of Config.
const (
	DefaultRoot   = "/sys/fs/cgroup"
	DefaultParent = "/gantry"
	// podPrefix starts the name of a pod's cgroup: pod<uid>.
	podPrefix = "pod"
)

// Config of Pods.
type Config struct {
	// Root is where the cgroup hierarchies are mounted (DefaultRoot).
	Root string
	// Parent is the cgroup the pods' cgroups are made under (DefaultParent):
	// an absolute, clean path other than "/".
	Parent string
	// Retries is how many more times Remove tries a busy cgroup (a
	// cgroup's last task may take a moment to leave it): 4 unless set;
	// negative: none.
	Retries int
	Log     *slog.Logger
}

// Pods are the pods' cgroups under one parent.
type Pods struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and returns the pods' cgroups under cfg.Parent.
func New(cfg Config) (*Pods, error) {
	if cfg.Root == "" {
		cfg.Root = DefaultRoot
	}
	if cfg.Parent == "" {
		cfg.Parent = DefaultParent
	}
	if err := ValidateParent(cfg.Parent); err != nil {
		return nil, err
	}
	if cfg.Retries == 0 {
		cfg.Retries = 4
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Pods{cfg: cfg, log: cfg.Log.With("component", "cgroups", "parent", cfg.Parent)}, nil
}

// ValidateParent checks a cgroup parent: absolute, clean, not the root
// cgroup.
func ValidateParent(parent string) error {
	switch {
	case !strings.HasPrefix(parent, "/"):
		return fmt.Errorf("cgroup parent %q: not an absolute path", parent)
	case parent == "/":
		return fmt.Errorf("cgroup parent %q: the root cgroup cannot hold the pods' cgroups", parent)
	case path.Clean(parent) != parent:
		return fmt.Errorf("cgroup parent %q: not a clean path (want %q)", parent, path.Clean(parent))
	}
	return nil
}

// Parent is the cgroup the pods' cgroups are under.
func (p *Pods) Parent() string { return p.cfg.Parent }

// PodCgroup is the cgroup path of a pod: <Parent>/pod<uid>.
func (p *Pods) PodCgroup(uid string) string { return path.Join(p.cfg.Parent, podPrefix+uid) }

// validUID tells whether uid can name a pod's cgroup: letters, digits and
// dashes (Kubernetes UIDs are UUIDs), so that it never leaves Parent.
func validUID(uid string) bool {
	if uid == "" || len(uid) > 128 {
		return false
	}
	for _, r := range uid {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// hierarchies lists the mounted hierarchies' directories.
func (p *Pods) hierarchies() ([]string, error) {
	root := p.cfg.Root
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return []string{root}, nil // cgroup v2 only
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("cgroup hierarchies: %w", err)
	}
	var hs []string
	for _, e := range entries {
		if e.IsDir() { // not the symbolic links to co-mounted controllers
			hs = append(hs, filepath.Join(root, e.Name()))
		}
	}
	return hs, nil
}

// Remove removes a pod's cgroup from every hierarchy, and the empty
// cgroups left under it. A cgroup that is already gone is no error; one
// that still has tasks stays and is named in the error.
func (p *Pods) Remove(uid string) error {
	if !validUID(uid) {
		return fmt.Errorf("remove pod cgroup: invalid pod uid %q", uid)
	}
	hs, err := p.hierarchies()
	if err != nil {
		return fmt.Errorf("remove cgroup %s: %w", p.PodCgroup(uid), err)
	}
	var errs []error
	removed := 0
	for _, h := range hs {
		dir := filepath.Join(h, p.PodCgroup(uid))
		ok, err := p.removeTree(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("cgroup %s in %s: %w", p.PodCgroup(uid), filepath.Base(h), err))
		}
		if ok {
			removed++
		}
	}
	if removed > 0 {
		p.log.Debug("removed pod cgroup", "cgroup", p.PodCgroup(uid), "hierarchies", removed)
	}
	return errors.Join(errs...)
}

// removeTree removes dir's child cgroups, deepest first, then dir, and
// tells whether dir was there and is gone now.
func (p *Pods) removeTree(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			if _, err := p.removeTree(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return false, errors.Join(errs...)
	}
	if err := p.rmdir(dir); err != nil {
		return false, err
	}
	return true, nil
}

// rmdir removes one cgroup directory, trying again while it is busy.
func (p *Pods) rmdir(dir string) error {
	delay := 10 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || attempt >= p.cfg.Retries {
			return p.busyError(dir, err)
		}
		time.Sleep(delay)
		delay *= 2
	}
}

// busyError explains why dir could not be removed, with the tasks still
// in it when it has them.
func (p *Pods) busyError(dir string, err error) error {
	if n := tasks(dir); n > 0 {
		return fmt.Errorf("rmdir %s: %w (%d tasks still in it)", dir, err, n)
	}
	return fmt.Errorf("rmdir %s: %w", dir, err)
}

// tasks counts the processes of a cgroup (0 when it cannot tell).
func tasks(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return 0
	}
	return len(strings.Fields(string(b)))
}

// List returns the uids of the pods that have a cgroup under Parent in
// any hierarchy, sorted. Other entries of Parent are not pods' and are
// left alone.
func (p *Pods) List() ([]string, error) {
	hs, err := p.hierarchies()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var errs []error
	for _, h := range hs {
		entries, err := os.ReadDir(filepath.Join(h, p.cfg.Parent))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("pod cgroups: %w", err))
			continue
		}
		for _, e := range entries {
			uid, ok := strings.CutPrefix(e.Name(), podPrefix)
			if ok && e.IsDir() && validUID(uid) {
				seen[uid] = true
			}
		}
	}
	uids := make([]string, 0, len(seen))
	for uid := range seen {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	return uids, errors.Join(errs...)
}
