package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cap"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// defaultPath is PATH for images that set none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultCapabilities are the capabilities of an unprivileged container,
// the set Docker and containerd's CRI give.
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// processArgs applies Kubernetes' rules: Command replaces the image's
// entrypoint (and then the image's cmd is ignored), Args replace the
// image's cmd.
func processArgs(img ocispec.ImageConfig, command, args []string) ([]string, error) {
	var out []string
	switch {
	case len(command) > 0:
		out = append(append(out, command...), args...)
	case len(args) > 0:
		out = append(append(out, img.Entrypoint...), args...)
	default:
		out = append(append(out, img.Entrypoint...), img.Cmd...)
	}
	if len(out) == 0 {
		return nil, errors.New("no command: the image has no entrypoint or cmd and the container sets none")
	}
	return out, nil
}

// capabilities returns the default set with drop taken out and add put
// in, Kubernetes names ("NET_ADMIN") or Linux ones ("CAP_NET_ADMIN");
// "ALL" drops or adds every capability.
func capabilities(add, drop []string) []string {
	norm := func(c string) string {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "ALL" || strings.HasPrefix(c, "CAP_") {
			return c
		}
		return "CAP_" + c
	}
	caps := slices.Clone(defaultCapabilities)
	for _, d := range drop {
		if d = norm(d); d == "ALL" {
			caps = nil
			break
		}
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == d })
	}
	for _, a := range add {
		if a = norm(a); a == "ALL" {
			if all, err := cap.Current(); err == nil {
				caps = append(caps, all...)
			} else {
				caps = append(caps, cap.Known()...)
			}
			continue
		}
		caps = append(caps, a)
	}
	slices.Sort(caps)
	return slices.Compact(caps)
}

// specOpts builds a container's OCI spec from the image and its config.
func (r *Runtime) specOpts(sb *runtime.Sandbox, cfg runtime.ContainerConfig, img ocispec.Image, id string) ([]oci.SpecOpts, error) {
	args, err := processArgs(img.Config, cfg.Command, cfg.Args)
	if err != nil {
		return nil, err
	}
	env := slices.Clone(img.Config.Env)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append([]string{defaultPath}, env...)
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = sb.Name
	}
	if !sb.HostNetwork {
		env = append(env, "HOSTNAME="+hostname)
	}
	env = append(env, cfg.Env...)
	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = img.Config.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}

	opts := []oci.SpecOpts{
		oci.WithDefaultUnixDevices,
		oci.WithProcessArgs(args...),
		oci.WithEnv(env),
		oci.WithProcessCwd(cwd),
		withoutRlimits,
	}
	opts = append(opts, namespaceOpts(sb, hostname)...)
	mounts, err := containerMounts(sb, cfg.Mounts)
	if err != nil {
		return nil, err
	}
	opts = append(opts, withMounts(mounts))
	opts = append(opts, userOpts(cfg, img.Config.User)...)
	if cfg.ReadOnlyRootfs {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if cfg.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithHostDevices, oci.WithAllDevicesAllowed)
	} else {
		opts = append(opts, oci.WithCapabilities(capabilities(cfg.CapAdd, cfg.CapDrop)))
	}
	opts = append(opts, withNoNewPrivileges(cfg.NoNewPrivileges && !cfg.Privileged))
	opts = append(opts, r.resourceOpts(cfg.Resources, id)...)
	if cfg.TTY {
		opts = append(opts, oci.WithTTY)
	}
	return opts, nil
}

// namespaceOpts joins the pod's namespaces, or the host's.
func namespaceOpts(sb *runtime.Sandbox, hostname string) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if sb.HostNetwork {
		// Host network means the host's name too.
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		opts = append(opts,
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.NetNS}),
			oci.WithHostname(hostname))
	}
	if sb.HostIPC {
		opts = append(opts, oci.WithHostNamespace(specs.IPCNamespace))
	} else {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace, Path: sb.IPCNS}))
	}
	if sb.HostPID {
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	}
	return opts
}

// containerMounts returns the pod's /dev/shm and the configured bind
// mounts, parents before children.
func containerMounts(sb *runtime.Sandbox, ms []runtime.Mount) ([]specs.Mount, error) {
	shm := "/dev/shm"
	if !sb.HostIPC {
		shm = filepath.Join(sb.Dir, shmDir)
	}
	out := []specs.Mount{{Destination: "/dev/shm", Type: "bind", Source: shm,
		Options: []string{"rbind", "rprivate", "rw", "nosuid", "nodev", "noexec"}}}
	for _, m := range ms {
		if !path.IsAbs(m.ContainerPath) {
			return nil, fmt.Errorf("mount %s: container path %q is not absolute", m.HostPath, m.ContainerPath)
		}
		if !filepath.IsAbs(m.HostPath) {
			return nil, fmt.Errorf("mount %s: host path is not absolute", m.HostPath)
		}
		prop := m.Propagation
		switch prop {
		case "":
			prop = "rprivate"
		case "rprivate", "rslave", "rshared":
		default:
			return nil, fmt.Errorf("mount %s: unknown propagation %q", m.ContainerPath, m.Propagation)
		}
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		out = append(out, specs.Mount{Destination: path.Clean(m.ContainerPath), Type: "bind",
			Source: m.HostPath, Options: []string{"rbind", prop, mode}})
	}
	sort.SliceStable(out, func(i, j int) bool { return depth(out[i].Destination) < depth(out[j].Destination) })
	return out, nil
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(path.Clean(p), "/")
}

// withMounts adds mounts, dropping the default ones they replace, and
// makes the root propagation fit rshared/rslave mounts.
func withMounts(mounts []specs.Mount) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		replaced := map[string]bool{}
		for _, m := range mounts {
			replaced[m.Destination] = true
		}
		s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return replaced[path.Clean(m.Destination)] })
		s.Mounts = append(s.Mounts, mounts...)
		for _, m := range mounts {
			switch {
			case slices.Contains(m.Options, "rshared"):
				s.Linux.RootfsPropagation = "rshared"
			case slices.Contains(m.Options, "rslave") && s.Linux.RootfsPropagation != "rshared":
				s.Linux.RootfsPropagation = "rslave"
			}
		}
		return nil
	}
}

// userOpts sets the user: RunAsUser or else the image's, its groups from
// the image's /etc/group, RunAsGroup and the supplemental groups.
func userOpts(cfg runtime.ContainerConfig, imageUser string) []oci.SpecOpts {
	var opts []oci.SpecOpts
	user := "0"
	switch {
	case cfg.RunAsUser != nil:
		user = strconv.FormatInt(*cfg.RunAsUser, 10)
		opts = append(opts, oci.WithUserID(uint32(*cfg.RunAsUser)))
	case imageUser != "":
		user, _, _ = strings.Cut(imageUser, ":")
		opts = append(opts, oci.WithUser(imageUser))
	default:
		opts = append(opts, oci.WithUserID(0))
	}
	// WithAdditionalGIDs resets the groups: before RunAsGroup and the
	// supplemental groups.
	opts = append(opts, oci.WithAdditionalGIDs(user))
	if cfg.RunAsGroup != nil || len(cfg.SupplementalGroups) > 0 {
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			u := &s.Process.User
			if cfg.RunAsGroup != nil {
				u.GID = uint32(*cfg.RunAsGroup)
				if !slices.Contains(u.AdditionalGids, u.GID) {
					u.AdditionalGids = append(u.AdditionalGids, u.GID)
				}
			}
			for _, g := range cfg.SupplementalGroups {
				if !slices.Contains(u.AdditionalGids, uint32(g)) {
					u.AdditionalGids = append(u.AdditionalGids, uint32(g))
				}
			}
			return nil
		})
	}
	return opts
}

// resourceOpts puts the container in <parent>/<id> with its limits.
func (r *Runtime) resourceOpts(res runtime.Resources, id string) []oci.SpecOpts {
	opts := []oci.SpecOpts{oci.WithCgroup(cgroupPath(res, r.cfg.DefaultCgroupParent, id))}
	if res.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(res.CPUShares))
	}
	if res.CPUQuota > 0 {
		period := res.CPUPeriod
		if period == 0 {
			period = 100000
		}
		opts = append(opts, oci.WithCPUCFS(res.CPUQuota, period))
	}
	if res.MemoryLimit > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(res.MemoryLimit)))
		if swapAccounting() {
			// No swap beyond the limit, as the kubelet sets it.
			opts = append(opts, oci.WithMemorySwap(res.MemoryLimit))
		}
	}
	if res.PidsLimit > 0 {
		opts = append(opts, oci.WithPidsLimit(res.PidsLimit))
	}
	return opts
}

func cgroupPath(res runtime.Resources, defaultParent, id string) string {
	parent := res.CgroupParent
	if parent == "" {
		parent = defaultParent
	}
	return path.Join("/", parent, id)
}

// swapAccounting tells whether cgroup v1 memory.memsw.* files exist
// (runc fails to set a swap limit without them).
func swapAccounting() bool {
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

// withoutRlimits lets containers inherit the shim's limits, as the CRI
// does, instead of containerd's default RLIMIT_NOFILE of 1024.
func withoutRlimits(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	s.Process.Rlimits = nil
	return nil
}

// withNoNewPrivileges sets no_new_privs as asked (containerd's default
// spec sets it; Kubernetes' default, allowPrivilegeEscalation, does not).
func withNoNewPrivileges(on bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Process.NoNewPrivileges = on
		return nil
	}
}
