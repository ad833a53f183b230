package pods

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
)

// start pulls the image and creates and starts one attempt of a
// container. Failures become the container's waiting reason and an Event.
func (w *worker) start(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt int, init bool) {
	rt := w.m.cfg.Runtime
	if wt, ok := w.waiting[c.Name]; ok && w.m.cfg.Clock.Now().Before(wt.until) {
		w.after(wt.until)
		return
	}
	img, err := w.pull(ctx, pod, c)
	if err != nil {
		return
	}
	cfg, err := w.containerConfig(ctx, pod, c, img, attempt, init)
	if err != nil {
		w.waiting[c.Name] = waiting{reason: "CreateContainerConfigError", message: err.Error()}
		w.event(pod, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		w.after(w.m.cfg.Clock.Now().Add(10 * w.m.retryUnit()))
		return
	}
	id, err := rt.CreateContainer(ctx, w.sandbox, cfg)
	if err != nil {
		w.waiting[c.Name] = waiting{reason: "CreateContainerError", message: err.Error()}
		w.event(pod, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		w.after(w.m.cfg.Clock.Now().Add(10 * w.m.retryUnit()))
		return
	}
	w.event(pod, corev1.EventTypeNormal, "Created", "Created container: "+c.Name)
	if err := rt.StartContainer(ctx, id); err != nil {
		w.waiting[c.Name] = waiting{reason: "RunContainerError", message: err.Error()}
		w.event(pod, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return
	}
	delete(w.waiting, c.Name)
	w.event(pod, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
	if !init {
		w.probes.ensure(ctx, pod, c, id)
	}
	if w.m.cfg.Metrics != nil && !w.reportedStart {
		w.reportedStart = true
		w.m.cfg.Metrics.started(pod, w.m.cfg.Clock.Now())
	}
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if err := w.runHook(ctx, pod, c, id, c.Lifecycle.PostStart); err != nil {
			w.event(pod, corev1.EventTypeWarning, "FailedPostStartHook", fmt.Sprintf("PostStartHook failed: %v", err))
			_ = rt.StopContainer(ctx, id, 0)
		}
	}
}

// retryUnit is the base of short retries (a tenth of the back-off base).
func (m *Manager) retryUnit() time.Duration {
	base := m.cfg.BackoffBase
	if base == 0 {
		return time.Second
	}
	return base / 10
}

// pull makes the container's image present, by its imagePullPolicy and
// with the pod's imagePullSecrets. An image already present costs one
// lookup: the pull secrets are read only when a pull is due.
func (w *worker) pull(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (runtime.Image, error) {
	rt := w.m.cfg.Runtime
	ref := normalizeImage(c.Image)
	policy := string(c.ImagePullPolicy)
	if policy == "" {
		policy = string(corev1.PullIfNotPresent)
	}
	if policy != string(corev1.PullAlways) {
		img, err := rt.EnsureImage(ctx, ref, string(corev1.PullNever), nil)
		if err == nil {
			delete(w.pullFails, c.Name)
			w.event(pod, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", c.Image))
			return img, nil
		}
		if policy == string(corev1.PullNever) || !errors.Is(err, runtime.ErrNotFound) {
			return runtime.Image{}, w.pullFailed(pod, c, policy, err)
		}
	}
	w.event(pod, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", c.Image))
	start := w.m.cfg.Clock.Now()
	img, err := rt.EnsureImage(ctx, ref, policy, w.pullAuth(ctx, pod))
	if err != nil {
		return runtime.Image{}, w.pullFailed(pod, c, policy, err)
	}
	delete(w.pullFails, c.Name)
	w.event(pod, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %v", c.Image, w.m.cfg.Clock.Now().Sub(start).Round(time.Millisecond)))
	return img, nil
}

// pullFailed records a failed pull: the container waits with
// ErrImagePull (ErrImageNeverPull) and a growing back-off.
func (w *worker) pullFailed(pod *corev1.Pod, c *corev1.Container, policy string, err error) error {
	n := w.pullFails[c.Name] + 1
	w.pullFails[c.Name] = n
	reason := "ErrImagePull"
	if policy == string(corev1.PullNever) {
		reason = "ErrImageNeverPull"
	}
	delay := w.m.backoff(&runtime.ContainerStatus{Attempt: n - 1})
	w.waiting[c.Name] = waiting{reason: reason, message: err.Error(), until: w.m.cfg.Clock.Now().Add(delay)}
	w.event(pod, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
	w.after(w.m.cfg.Clock.Now().Add(delay))
	return err
}

// normalizeImage turns a Kubernetes image reference into a full one:
// "nginx" → "docker.io/library/nginx:latest".
func normalizeImage(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash {
		name = "docker.io/library/" + name
	} else if !strings.ContainsAny(first, ".:") && first != "localhost" {
		name = "docker.io/" + name
	}
	if !hasDigest && !strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":") {
		name += ":latest"
	}
	if hasDigest {
		return name + "@" + digest
	}
	return name
}

// containerConfig turns a container spec into what the runtime needs.
func (w *worker) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, img runtime.Image, attempt int, init bool) (runtime.ContainerConfig, error) {
	env, err := w.env(ctx, pod, c)
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	vars := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		vars[k] = v
	}
	var mounts []runtime.Mount
	if w.m.cfg.Volumes != nil {
		if mounts, err = w.m.cfg.Volumes.Mounts(pod, c, w.volumes, env); err != nil {
			return runtime.ContainerConfig{}, err
		}
		mounts = append(mounts, w.podFiles...)
	}
	termLog, err := w.terminationLog(c, attempt)
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	if termLog != "" {
		mounts = append(mounts, runtime.Mount{HostPath: termLog, ContainerPath: terminationPath(c)})
	}
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	cfg := runtime.ContainerConfig{
		Name: c.Name, Attempt: attempt, Init: init, Image: img,
		Command: expandAll(c.Command, vars), Args: expandAll(c.Args, vars),
		Env: env, WorkingDir: c.WorkingDir, Mounts: mounts, Hostname: hostname,
		TTY: c.TTY, Stdin: c.Stdin, StdinOnce: c.StdinOnce,
		Resources:   resources(pod, c, w.m.podCgroup(pod.UID)),
		LogPath:     w.logPath(pod, c.Name, attempt),
		LogMaxBytes: w.m.cfg.LogMaxBytes, LogMaxFiles: w.m.cfg.LogMaxFiles,
		Labels: map[string]string{
			runtime.LabelPodUID: string(pod.UID), runtime.LabelPodNamespace: pod.Namespace,
			runtime.LabelPodName: pod.Name, runtime.LabelContainerName: c.Name,
			runtime.LabelAttempt: strconv.Itoa(attempt),
		},
	}
	if init {
		cfg.Labels[runtime.LabelInit] = "true"
	}
	applySecurity(&cfg, pod, c)
	return cfg, nil
}

// logPath follows Kubernetes' layout, which log collectors know:
// <dir>/<ns>_<pod>_<uid>/<container>/<attempt>.log.
func (w *worker) logPath(pod *corev1.Pod, container string, attempt int) string {
	return filepath.Join(w.m.cfg.LogDir, podLogDirName(pod), container, strconv.Itoa(attempt)+".log")
}

func terminationPath(c *corev1.Container) string {
	if c.TerminationMessagePath != "" {
		return c.TerminationMessagePath
	}
	return corev1.TerminationMessagePathDefault
}

// terminationLog creates the file a container may write its termination
// message to.
func (w *worker) terminationLog(c *corev1.Container, attempt int) (string, error) {
	if w.sandbox == nil || w.sandbox.Dir == "" {
		return "", nil
	}
	dir := filepath.Join(w.sandbox.Dir, "containers", c.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, strconv.Itoa(attempt)+"-termination-log")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		return "", err
	}
	return p, f.Close()
}

// resources maps requests and limits to cgroup settings as kubelet does,
// in the pod's cgroup.
func resources(pod *corev1.Pod, c *corev1.Container, podCgroup string) runtime.Resources {
	r := runtime.Resources{CPUPeriod: 100000, CgroupParent: podCgroup}
	req, lim := c.Resources.Requests, c.Resources.Limits
	cpuReq := req.Cpu()
	if _, ok := req[corev1.ResourceCPU]; !ok {
		if l, ok := lim[corev1.ResourceCPU]; ok {
			cpuReq = &l
		}
	}
	r.CPUShares = max(uint64(cpuReq.MilliValue()*1024/1000), 2)
	if l, ok := lim[corev1.ResourceCPU]; ok {
		r.CPUQuota = max(l.MilliValue()*100000/1000, 1000)
	}
	if l, ok := lim[corev1.ResourceMemory]; ok {
		r.MemoryLimit = l.Value()
	}
	return r
}

// applySecurity copies the security context (container over pod).
func applySecurity(cfg *runtime.ContainerConfig, pod *corev1.Pod, c *corev1.Container) {
	if psc := pod.Spec.SecurityContext; psc != nil {
		cfg.RunAsUser, cfg.RunAsGroup = psc.RunAsUser, psc.RunAsGroup
		cfg.SupplementalGroups = psc.SupplementalGroups
	}
	sc := c.SecurityContext
	if sc == nil {
		return
	}
	if sc.RunAsUser != nil {
		cfg.RunAsUser = sc.RunAsUser
	}
	if sc.RunAsGroup != nil {
		cfg.RunAsGroup = sc.RunAsGroup
	}
	cfg.ReadOnlyRootfs = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	cfg.Privileged = sc.Privileged != nil && *sc.Privileged
	cfg.NoNewPrivileges = sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	if caps := sc.Capabilities; caps != nil {
		for _, a := range caps.Add {
			cfg.CapAdd = append(cfg.CapAdd, string(a))
		}
		for _, d := range caps.Drop {
			cfg.CapDrop = append(cfg.CapDrop, string(d))
		}
	}
}
