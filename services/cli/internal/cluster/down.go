package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/services/cli/internal/proc"
	"github.com/gantry-dev/gantry/services/cli/internal/steps"
)

// Down stops the cluster's daemons in the reverse order of Up, removes
// the Service rules and DNS device (gantry-proxy --cleanup) and the pods
// and pod networking (gantry-agent --cleanup: the containers of its
// containerd namespace, the pods' mounts and network) they leave, and
// with purge also the state directory and the admin kubeconfig. It goes
// on after a failed step and returns all errors.
func (c *Cluster) Down(purge bool) error {
	p := steps.New(c.out)
	var errs []error
	do := func(fn func() (string, error)) { errs = append(errs, p.Do(fn)) }
	stop := func(name string) { do(func() (string, error) { return c.stop(name) }) }

	if purge && c.cfg != nil && c.cfg.Role == RoleControlPlane {
		// Leaving the cluster for good. The API server stops first: a
		// clean stop withdraws its address from the kubernetes Endpoints
		// through this host's store member, which leaves next.
		stop("gantry-apiserver")
		do(c.leaveCluster)
	}
	stop("gantry-ingress")
	stop("gantry-proxy")
	do(func() (string, error) { return c.cleanup("gantry-proxy", []string{"--cleanup"}) })
	stop("gantry-agent")
	// While containerd still runs: the agent's cleanup stops the pods'
	// containers through it.
	do(func() (string, error) { return c.cleanup("gantry-agent", c.agentCleanupArgs(c.containerdSocket())) })
	if c.cfg != nil && c.cfg.SharedMachine {
		do(c.removeCgroupParent)
	}
	stop("gantry-controllers")
	stop("gantry-scheduler")
	stop("gantry-apiserver")
	stop("gantry-store")
	// Only a containerd we started (its pid file is ours).
	stop(containerdName)
	if err := errors.Join(errs...); err != nil {
		if purge {
			return fmt.Errorf("%w\nnot purging %s: something above failed", err, c.l.StateDir)
		}
		return err
	}
	if purge {
		return p.Do(c.purge)
	}
	return nil
}

// stop stops a daemon by its pid file: SIGTERM, then SIGKILL after the
// grace period. Only a process running the daemon's binary is signalled.
func (c *Cluster) stop(name string) (string, error) {
	st := c.status(name)
	if !st.Running {
		return fmt.Sprintf("%s: %s", name, st.Reason), nil
	}
	killed, err := proc.Stop(st.PID, c.grace)
	if err != nil {
		return fmt.Sprintf("stop %s (pid %d)", name, st.PID), err
	}
	if err := os.Remove(c.l.PIDFile(name)); err != nil && !os.IsNotExist(err) {
		return fmt.Sprintf("stopped %s (pid %d)", name, st.PID), err
	}
	if killed {
		return fmt.Sprintf("stopped %s (pid %d) with SIGKILL: it did not exit within %s of SIGTERM", name, st.PID, c.grace), nil
	}
	return fmt.Sprintf("stopped %s (pid %d)", name, st.PID), nil
}

// cleanup runs `<binary> args...` with its output appended to the
// daemon's log; without the binary or without root it is skipped.
func (c *Cluster) cleanup(name string, args []string) (string, error) {
	bin := c.l.Binary(name)
	what := fmt.Sprintf("%s %s", name, args[0])
	if _, err := os.Stat(bin); err != nil {
		return fmt.Sprintf("%s skipped: %s not found", what, bin), nil
	}
	if os.Geteuid() != 0 {
		// Host networking needs root; without it there is none to remove.
		return what + " skipped: not root", nil
	}
	if err := os.MkdirAll(c.l.StateDir, 0o755); err != nil {
		return what, err
	}
	logPath := c.l.LogFile(name)
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return what, err
	}
	defer log.Close()
	fmt.Fprintf(log, "\n=== %s: running %s %v\n", time.Now().Format("2006-01-02T15:04:05-07:00"), bin, args)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return what, c.daemonError(name, 0, fmt.Sprintf("%s failed: %v", args[0], err), "")
	}
	return what + " done", nil
}

// purge removes the state directory and the admin kubeconfig.
func (c *Cluster) purge() (string, error) {
	dir := filepath.Clean(c.l.StateDir)
	if !filepath.IsAbs(dir) || dir == "/" {
		return "purge", fmt.Errorf("refusing to remove %q", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return "removed " + dir, err
	}
	if err := os.Remove(c.l.Kubeconfig); err != nil && !os.IsNotExist(err) {
		return "removed " + c.l.Kubeconfig, err
	}
	return fmt.Sprintf("removed %s and %s", dir, c.l.Kubeconfig), nil
}
