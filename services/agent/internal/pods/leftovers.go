package pods

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// What a pod leaves on the host outside the runtime: its cgroup
// (Config.Cgroups) and its log directory (Config.LogDir). A worker
// removes both when it releases its pod; SweepLeftovers removes those of
// pods that went while no worker was there to (an agent that was down,
// a removal that failed).

// legacyCgroupParent is where containers go without Config.Cgroups.
const legacyCgroupParent = "/gantry"

// podCgroup is the cgroup a pod's containers go under.
func (m *Manager) podCgroup(uid types.UID) string {
	if m.cfg.Cgroups == nil {
		return legacyCgroupParent + "/pod" + string(uid)
	}
	return m.cfg.Cgroups.PodCgroup(string(uid))
}

// podLogDirName is a pod's directory under Config.LogDir:
// <namespace>_<name>_<uid>, as Kubernetes lays it out.
func podLogDirName(pod *corev1.Pod) string {
	return pod.Namespace + "_" + pod.Name + "_" + string(pod.UID)
}

// logDirUID returns the pod uid a log directory's name ends in, if the
// name has the layout of podLogDirName (namespaces and names have no
// underscore).
func logDirUID(name string) (types.UID, bool) {
	parts := strings.Split(name, "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", false
	}
	return types.UID(parts[2]), true
}

// removeLeftovers removes a released pod's cgroup and log directory.
func (m *Manager) removeLeftovers(pod *corev1.Pod) error {
	if m.cfg.Cgroups != nil {
		if err := m.cfg.Cgroups.Remove(string(pod.UID)); err != nil {
			return fmt.Errorf("pod cgroup: %w", err)
		}
	}
	if m.cfg.LogDir != "" {
		if err := os.RemoveAll(filepath.Join(m.cfg.LogDir, podLogDirName(pod))); err != nil {
			return fmt.Errorf("pod log directory: %w", err)
		}
	}
	return nil
}

// SweepLeftovers removes the cgroups under the pods' cgroup parent and
// the directories under LogDir of pods that have no worker and nothing
// in the runtime (no container, no sandbox). It does nothing before
// CollectOrphans has been called: until the pod informer has synced, a
// pod without a worker may still exist. It goes on after a failed
// removal and returns every error.
func (m *Manager) SweepLeftovers(ctx context.Context) error {
	m.mu.Lock()
	synced := m.synced
	m.mu.Unlock()
	if !synced || (m.cfg.Cgroups == nil && m.cfg.LogDir == "") {
		return nil
	}
	// What is on the host first, then what is in use: a pod that
	// appears in between has no leftovers yet to be listed.
	var cgroups []string
	var logDirs []fs.DirEntry
	var errs []error
	if m.cfg.Cgroups != nil {
		uids, err := m.cfg.Cgroups.List()
		if err != nil {
			errs = append(errs, fmt.Errorf("listing pod cgroups: %w", err))
		}
		cgroups = uids
	}
	if m.cfg.LogDir != "" {
		entries, err := os.ReadDir(m.cfg.LogDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("listing pod log directories: %w", err))
		}
		logDirs = entries
	}
	inRuntime, err := m.runtimePods(ctx)
	if err != nil {
		// Without the runtime's view nothing can be told an orphan.
		return errors.Join(append(errs, err)...)
	}
	orphan := func(uid types.UID) bool { return !inRuntime[uid] && !m.known(uid) }
	removedCgroups, removedLogs := 0, 0
	for _, uid := range cgroups {
		if !orphan(types.UID(uid)) {
			continue
		}
		if err := m.cfg.Cgroups.Remove(uid); err != nil {
			errs = append(errs, fmt.Errorf("cgroup of pod %s: %w", uid, err))
			continue
		}
		removedCgroups++
	}
	for _, e := range logDirs {
		uid, ok := logDirUID(e.Name())
		if !ok || !e.IsDir() || !orphan(uid) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(m.cfg.LogDir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("log directory of pod %s: %w", uid, err))
			continue
		}
		removedLogs++
	}
	if removedCgroups > 0 || removedLogs > 0 {
		m.log.Info("removed leftovers of pods gone from the node", "cgroups", removedCgroups, "logDirs", removedLogs)
	}
	return errors.Join(errs...)
}

// runtimePods are the pods the runtime has a container or sandbox of.
func (m *Manager) runtimePods(ctx context.Context) (map[types.UID]bool, error) {
	cs, err := m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	sbs, err := m.cfg.Runtime.ListSandboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sandboxes: %w", err)
	}
	in := map[types.UID]bool{}
	for _, c := range cs {
		in[types.UID(c.PodUID)] = true
	}
	for _, sb := range sbs {
		in[types.UID(sb.PodUID)] = true
	}
	return in, nil
}

// housekeep sweeps leftovers every HousekeepingPeriod until ctx ends.
func (m *Manager) housekeep(ctx context.Context) {
	t := time.NewTicker(m.cfg.HousekeepingPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := m.SweepLeftovers(ctx); err != nil {
			m.log.Warn("removing leftovers of pods gone from the node", "err", err)
		}
	}
}
