package volumes

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	corev1 "k8s.io/api/core/v1"
)

// Mounts turns container's volumeMounts into the runtime's bind mounts.
// hostPaths is what Setup returned; env is the container's resolved
// environment ("NAME=value", as in runtime.ContainerConfig.Env), used to
// expand subPathExpr.
//
// configMap, secret, downwardAPI and projected volumes are mounted
// read-only whatever the volumeMount says, as kubelet does, and so are
// persistentVolumeClaim volumes marked readOnly. A subPath is
// resolved on the host, symlinks included, and must stay inside its
// volume; a missing one is created as a directory. mountPropagation maps
// None to rprivate, HostToContainer to rslave and Bidirectional (for
// privileged containers only) to rshared.
func (m *Manager) Mounts(pod *corev1.Pod, container *corev1.Container, hostPaths map[string]string, env []string) ([]runtime.Mount, error) {
	volumes := make(map[string]*corev1.Volume, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		volumes[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}

	mounts := make([]runtime.Mount, 0, len(container.VolumeMounts))
	for _, vm := range container.VolumeMounts {
		hostPath, ok := hostPaths[vm.Name]
		if !ok {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, container.Name)
		}
		if !filepath.IsAbs(vm.MountPath) {
			return nil, fmt.Errorf("volumeMount %q of container %q: mountPath %q must be an absolute path", vm.Name, container.Name, vm.MountPath)
		}

		subPath := vm.SubPath
		if vm.SubPathExpr != "" {
			var err error
			if subPath, err = expandSubPathExpr(vm.SubPathExpr, env); err != nil {
				return nil, fmt.Errorf("volumeMount %q of container %q: %w", vm.Name, container.Name, err)
			}
		}
		if subPath != "" {
			resolved, err := resolveSubPath(hostPath, subPath)
			if err != nil {
				return nil, fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: %w", vm.Name, container.Name, err)
			}
			hostPath = resolved
		}

		propagation, err := propagationOf(vm.MountPropagation, container)
		if err != nil {
			return nil, fmt.Errorf("volumeMount %q of container %q: %w", vm.Name, container.Name, err)
		}

		readOnly := vm.ReadOnly
		if vol := volumes[vm.Name]; vol != nil && (readOnlyAPIData(vol) || readOnlyClaim(vol)) {
			readOnly = true
		}
		mounts = append(mounts, runtime.Mount{
			HostPath:      hostPath,
			ContainerPath: vm.MountPath,
			ReadOnly:      readOnly,
			Propagation:   propagation,
		})
	}
	return mounts, nil
}

func propagationOf(mode *corev1.MountPropagationMode, c *corev1.Container) (string, error) {
	switch {
	case mode == nil, *mode == corev1.MountPropagationNone:
		return "rprivate", nil
	case *mode == corev1.MountPropagationHostToContainer:
		return "rslave", nil
	case *mode == corev1.MountPropagationBidirectional:
		if c.SecurityContext == nil || !isTrue(c.SecurityContext.Privileged) {
			return "", fmt.Errorf("Bidirectional mount propagation is available only to privileged containers")
		}
		return "rshared", nil
	}
	return "", fmt.Errorf("invalid MountPropagation mode: %q", *mode)
}

// expandSubPathExpr expands $(VAR) references in a subPathExpr from env,
// with Kubernetes' syntax ($$ is a literal $); a variable that is unset or
// empty is an error, as in kubelet.
func expandSubPathExpr(expr string, env []string) (string, error) {
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	missing := map[string]bool{}
	out := expand(expr, func(name string) string {
		v := vars[name]
		if v == "" {
			missing[name] = true
		}
		return v
	})
	if len(missing) > 0 {
		names := slices.Sorted(maps.Keys(missing))
		return "", fmt.Errorf("missing value for %s", strings.Join(names, ", "))
	}
	return out, nil
}

// expand implements Kubernetes' $(VAR) expansion
// (third_party/forked/golang/expansion): $(NAME) is replaced by
// mapping(NAME), $$ by $, and anything else is kept as written.
func expand(input string, mapping func(string) string) string {
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(input); cursor++ {
		if input[cursor] != '$' || cursor+1 >= len(input) {
			continue
		}
		b.WriteString(input[checkpoint:cursor])
		rest := input[cursor+1:]
		switch {
		case rest[0] == '$':
			b.WriteByte('$')
			cursor++
		case rest[0] == '(':
			if end := strings.IndexByte(rest, ')'); end > 0 {
				b.WriteString(mapping(rest[1:end]))
				cursor += end + 1
			} else {
				b.WriteString("$(")
				cursor++
			}
		default:
			b.WriteByte('$')
			b.WriteByte(rest[0])
			cursor++
		}
		checkpoint = cursor + 1
	}
	return b.String() + input[checkpoint:]
}
