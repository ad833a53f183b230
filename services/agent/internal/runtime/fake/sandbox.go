package fake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// CreateSandbox records the pod's sandbox (and makes its directory under
// Config.Root); an existing one is returned as it is. There are no
// namespaces: NetNS and IPCNS are empty.
func (r *Runtime) CreateSandbox(ctx context.Context, cfg runtime.SandboxConfig) (*runtime.Sandbox, error) {
	if cfg.PodUID == "" {
		return nil, errors.New("create sandbox: no pod UID")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkOpen(); err != nil {
		return nil, err
	}
	if sb, ok := r.sandboxes[cfg.PodUID]; ok {
		return copySandbox(sb), nil
	}
	sb := &runtime.Sandbox{
		PodUID: cfg.PodUID, Namespace: cfg.Namespace, Name: cfg.Name,
		HostNetwork: cfg.HostNetwork, HostIPC: cfg.HostIPC, HostPID: cfg.HostPID,
	}
	if r.cfg.Root != "" {
		sb.Dir = filepath.Join(r.cfg.Root, cfg.PodUID)
		if err := os.MkdirAll(sb.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("create sandbox of pod %s/%s: %w", cfg.Namespace, cfg.Name, err)
		}
	}
	r.sandboxes[cfg.PodUID] = sb
	return copySandbox(sb), nil
}

// RemoveSandbox forgets the pod's sandbox and removes its directory; its
// containers must have been removed.
func (r *Runtime) RemoveSandbox(ctx context.Context, podUID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[podUID]
	if !ok {
		return nil
	}
	var left []string
	for _, c := range r.containers {
		if c.status.PodUID == podUID {
			left = append(left, c.status.Name)
		}
	}
	if len(left) > 0 {
		slices.Sort(left)
		return fmt.Errorf("remove sandbox of pod %s/%s: containers %s remain", sb.Namespace, sb.Name, strings.Join(left, ", "))
	}
	if sb.Dir != "" {
		if err := os.RemoveAll(sb.Dir); err != nil {
			return fmt.Errorf("remove sandbox of pod %s/%s: %w", sb.Namespace, sb.Name, err)
		}
	}
	delete(r.sandboxes, podUID)
	return nil
}

// ListSandboxes lists the sandboxes, by pod UID.
func (r *Runtime) ListSandboxes(ctx context.Context) ([]*runtime.Sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*runtime.Sandbox, 0, len(r.sandboxes))
	for _, sb := range r.sandboxes {
		out = append(out, copySandbox(sb))
	}
	slices.SortFunc(out, func(a, b *runtime.Sandbox) int { return strings.Compare(a.PodUID, b.PodUID) })
	return out, nil
}

func copySandbox(sb *runtime.Sandbox) *runtime.Sandbox {
	c := *sb
	return &c
}
