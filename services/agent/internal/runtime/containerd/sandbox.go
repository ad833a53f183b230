package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// Names inside a pod's directory.
const (
	sandboxFile = "sandbox.json"
	nsDir       = "ns"
	shmDir      = "shm"
)

// sandboxRecord is sandbox.json.
type sandboxRecord struct {
	runtime.SandboxConfig
	NetNS string `json:",omitempty"`
	IPCNS string `json:",omitempty"`
}

func (r *Runtime) podDir(uid string) string { return filepath.Join(podsDir(r.cfg.StateDir), uid) }

// CreateSandbox prepares a pod's directory and namespaces. It is
// idempotent, and repairs a sandbox whose namespaces were lost (by a
// reboot) or half made (by a crash).
func (r *Runtime) CreateSandbox(ctx context.Context, cfg runtime.SandboxConfig) (*runtime.Sandbox, error) {
	if err := validPodUID(cfg.PodUID); err != nil {
		return nil, err
	}
	defer r.locks.Lock("pod/" + cfg.PodUID)()

	dir := r.podDir(cfg.PodUID)
	if rec, err := readSandbox(dir); err == nil && rec.PodUID == cfg.PodUID && r.sandboxIntact(dir, rec) {
		return r.sandbox(dir, rec), nil
	}
	sb, err := r.createSandbox(dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("sandbox of pod %s/%s (%s): %w", cfg.Namespace, cfg.Name, cfg.PodUID, err)
	}
	r.log.Info("created sandbox", "pod", cfg.Namespace+"/"+cfg.Name, "uid", cfg.PodUID, "netns", sb.NetNS)
	return sb, nil
}

func (r *Runtime) createSandbox(dir string, cfg runtime.SandboxConfig) (_ *runtime.Sandbox, err error) {
	if err := os.MkdirAll(filepath.Join(dir, nsDir), 0o755); err != nil {
		return nil, err
	}
	rec := sandboxRecord{SandboxConfig: cfg}
	defer func() {
		if err != nil {
			r.releaseSandbox(dir)
		}
	}()
	if !cfg.HostNetwork {
		rec.NetNS = filepath.Join(dir, nsDir, "net")
		if err := repin(rec.NetNS, netNS); err != nil {
			return nil, err
		}
	}
	if !cfg.HostIPC {
		rec.IPCNS = filepath.Join(dir, nsDir, "ipc")
		if err := repin(rec.IPCNS, ipcNS); err != nil {
			return nil, err
		}
		shm := filepath.Join(dir, shmDir)
		if err := os.MkdirAll(shm, 0o755); err != nil {
			return nil, err
		}
		if !isMountPoint(shm) {
			opts := "mode=1777,size=" + strconv.FormatInt(r.cfg.ShmSize, 10)
			if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
				return nil, fmt.Errorf("mount %s: %w", shm, err)
			}
		}
	}
	if err := writeSandbox(dir, rec); err != nil {
		return nil, err
	}
	return r.sandbox(dir, rec), nil
}

// repin pins a new namespace at path unless one is pinned there already.
func repin(path string, kind nsKind) error {
	if isNamespaceFile(path) {
		return nil
	}
	if err := unpin(path); err != nil {
		return err
	}
	return pinNewNamespace(path, kind)
}

// sandboxIntact tells whether the namespaces and shm of rec are in place.
func (r *Runtime) sandboxIntact(dir string, rec sandboxRecord) bool {
	if rec.NetNS != "" && !isNamespaceFile(rec.NetNS) {
		return false
	}
	if rec.IPCNS != "" && (!isNamespaceFile(rec.IPCNS) || !isMountPoint(filepath.Join(dir, shmDir))) {
		return false
	}
	return true
}

func (r *Runtime) sandbox(dir string, rec sandboxRecord) *runtime.Sandbox {
	return &runtime.Sandbox{
		PodUID:      rec.PodUID,
		Namespace:   rec.Namespace,
		Name:        rec.Name,
		NetNS:       rec.NetNS,
		IPCNS:       rec.IPCNS,
		Dir:         dir,
		HostNetwork: rec.HostNetwork,
		HostIPC:     rec.HostIPC,
		HostPID:     rec.HostPID,
	}
}

// RemoveSandbox unmounts a pod's namespaces and shm and removes its
// directory. It refuses while other things (volumes) are still mounted
// below the directory, rather than delete through them.
func (r *Runtime) RemoveSandbox(ctx context.Context, podUID string) error {
	if err := validPodUID(podUID); err != nil {
		return err
	}
	defer r.locks.Lock("pod/" + podUID)()
	dir := r.podDir(podUID)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := r.releaseSandbox(dir); err != nil {
		return fmt.Errorf("remove sandbox of pod %s: %w", podUID, err)
	}
	r.log.Info("removed sandbox", "uid", podUID)
	return nil
}

// releaseSandbox undoes createSandbox.
func (r *Runtime) releaseSandbox(dir string) error {
	var errs []error
	for _, p := range []string{filepath.Join(dir, nsDir, "net"), filepath.Join(dir, nsDir, "ipc"), filepath.Join(dir, shmDir)} {
		if err := unpin(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	mounts, err := mountinfo.GetMounts(below(dir))
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		var mps []string
		for _, m := range mounts {
			mps = append(mps, m.Mountpoint)
		}
		sort.Strings(mps)
		return fmt.Errorf("still mounted below %s: %s", dir, strings.Join(mps, ", "))
	}
	return os.RemoveAll(dir)
}

// ListSandboxes reads the sandboxes back from the pods directory.
func (r *Runtime) ListSandboxes(ctx context.Context) ([]*runtime.Sandbox, error) {
	entries, err := os.ReadDir(podsDir(r.cfg.StateDir))
	if err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	var out []*runtime.Sandbox
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(podsDir(r.cfg.StateDir), e.Name())
		rec, err := readSandbox(dir)
		if err != nil {
			// Being created, or left half made by a crash: CreateSandbox
			// or RemoveSandbox will deal with it.
			r.log.Debug("skip pod directory", "dir", dir, "err", err)
			continue
		}
		out = append(out, r.sandbox(dir, rec))
	}
	return out, nil
}

func readSandbox(dir string) (sandboxRecord, error) {
	var rec sandboxRecord
	b, err := os.ReadFile(filepath.Join(dir, sandboxFile))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w", filepath.Join(dir, sandboxFile), err)
	}
	return rec, nil
}

// writeSandbox writes sandbox.json atomically.
func writeSandbox(dir string, rec sandboxRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+sandboxFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, sandboxFile))
}

// validPodUID keeps a pod UID from escaping the pods directory.
func validPodUID(uid string) error {
	if uid == "" || uid == "." || uid == ".." || strings.ContainsAny(uid, "/\x00") || len(uid) > 253 {
		return fmt.Errorf("invalid pod UID %q", uid)
	}
	return nil
}

// below selects the mounts at or below dir.
func below(dir string) mountinfo.FilterFunc {
	return func(m *mountinfo.Info) (skip, stop bool) {
		return m.Mountpoint != dir && !strings.HasPrefix(m.Mountpoint, dir+"/"), false
	}
}
