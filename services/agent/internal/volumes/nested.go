package volumes

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// makeNestedMountpoints creates, in a read-only volume's directory, the
// directories that other volumes are mounted on inside it: with this
// volume at /etc/app and another at /etc/app/certs, "certs" must exist in
// this volume because the runtime cannot create it on a read-only mount.
// Only the first level of nesting is created, as kubelet does.
func makeNestedMountpoints(volume, dir string, pod *corev1.Pod) error {
	var nested []string
	check := func(c *corev1.Container) error {
		var all, mine []string
		for _, vm := range c.VolumeMounts {
			mp := filepath.Clean(vm.MountPath)
			all = append(all, mp)
			if vm.Name == volume && vm.SubPath == "" && vm.SubPathExpr == "" {
				mine = append(mine, mp)
			}
		}
		sort.Strings(all)
		for _, my := range mine {
			if strings.HasPrefix(my, "../") {
				return fmt.Errorf("invalid container mount point %v", my)
			}
			prefix := strings.TrimSuffix(my, "/") + "/"
			prev := ""
			for _, mp := range all {
				if !strings.HasPrefix(mp, prefix) || (prev != "" && strings.HasPrefix(mp, prev)) {
					continue
				}
				prev = mp + "/"
				nested = append(nested, mp[len(prefix):])
			}
		}
		return nil
	}
	for i := range pod.Spec.InitContainers {
		if err := check(&pod.Spec.InitContainers[i]); err != nil {
			return err
		}
	}
	for i := range pod.Spec.Containers {
		if err := check(&pod.Spec.Containers[i]); err != nil {
			return err
		}
	}
	for _, rel := range nested {
		if err := validatePath(rel); err != nil {
			return fmt.Errorf("nested mount point %q: %w", rel, err)
		}
		if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
			return err
		}
	}
	return nil
}
