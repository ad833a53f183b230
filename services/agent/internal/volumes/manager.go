package volumes

import (
	"context"
	"errors"
	"fmt"
	"github.com/gantry-dev/gantry/services/agent/internal/keyed"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Config configures a Manager.
type Config struct {
	// Source reads configMaps and secrets. Required when pods use them.
	Source Source
	// Claims reads persistent volume claims and volumes. Required when
	// pods use persistentVolumeClaim volumes.
	Claims ClaimSource
	// Log receives what the manager does; nil discards it.
	Log *slog.Logger
	// Allocatable is the node's allocatable resources. A downwardAPI
	// resourceFieldRef on a limit the container does not set reads it,
	// and memory-backed volumes are sized no larger than its memory.
	Allocatable corev1.ResourceList
}

// Manager sets up, refreshes and tears down pods' volumes. It keeps no
// state of its own beyond locks: everything is read back from the pod
// directory, so a restarted agent picks up where it left off. Methods are
// safe for concurrent use; calls for the same pod directory are
// serialised.
type Manager struct {
	source      Source
	claims      ClaimSource
	log         *slog.Logger
	allocatable corev1.ResourceList
	locks       keyed.Mutex
}

// New returns a Manager.
func New(cfg Config) *Manager {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		source:      cfg.Source,
		claims:      cfg.Claims,
		log:         log.With("component", "volumes"),
		allocatable: cfg.Allocatable,
	}
}

// Plugin directory names below <podDir>/volumes, as kubelet names them.
const (
	emptyDirPlugin    = "kubernetes.io~empty-dir"
	configMapPlugin   = "kubernetes.io~configmap"
	secretPlugin      = "kubernetes.io~secret"
	downwardAPIPlugin = "kubernetes.io~downward-api"
	projectedPlugin   = "kubernetes.io~projected"
)

// kind says how a volume type lives on the node.
type kind struct {
	plugin string // directory below <podDir>/volumes; "" for hostPath and claims
	// tmpfs: the volume directory is always a tmpfs (secrets).
	tmpfs bool
	// atomic: written by the atomic writer from a payload.
	atomic bool
}

func kindOf(vol *corev1.Volume) (kind, error) {
	switch {
	case vol.EmptyDir != nil:
		return kind{plugin: emptyDirPlugin, tmpfs: vol.EmptyDir.Medium == corev1.StorageMediumMemory}, nil
	case vol.HostPath != nil, vol.PersistentVolumeClaim != nil:
		return kind{}, nil
	case vol.ConfigMap != nil:
		return kind{plugin: configMapPlugin, atomic: true}, nil
	case vol.Secret != nil:
		return kind{plugin: secretPlugin, tmpfs: true, atomic: true}, nil
	case vol.DownwardAPI != nil:
		return kind{plugin: downwardAPIPlugin, atomic: true}, nil
	case vol.Projected != nil:
		return kind{plugin: projectedPlugin, tmpfs: true, atomic: true}, nil
	}
	return kind{}, fmt.Errorf("volume type %s is not supported", volumeType(vol))
}

// readOnlyAPIData reports whether vol is a type that kubelet always mounts
// read-only into containers.
func readOnlyAPIData(vol *corev1.Volume) bool {
	return vol.ConfigMap != nil || vol.Secret != nil || vol.DownwardAPI != nil || vol.Projected != nil
}

// volumeType names the volume source that is set ("persistentVolumeClaim").
func volumeType(vol *corev1.Volume) string {
	return setPointerField(reflect.ValueOf(vol.VolumeSource))
}

// setPointerField names, by its JSON name, the first pointer field of the
// struct v that is set; "(none)" when none is.
func setPointerField(v reflect.Value) string {
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return "(none)"
}

func volumeDir(podDir, plugin, name string) string {
	return filepath.Join(podDir, "volumes", plugin, name)
}

// setupError words a failure as kubelet's FailedMount events do.
func setupError(volume string, err error) error {
	return fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", volume, err)
}

// Setup prepares every volume of pod below podDir and returns, for each
// volume name, the host path to bind-mount. It is idempotent: calling it
// again (after an agent restart, say) keeps emptyDir contents and brings
// projected files up to date. Errors name each volume that failed.
func (m *Manager) Setup(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error) {
	defer m.locks.Lock(filepath.Clean(podDir))()

	paths := make(map[string]string, len(pod.Spec.Volumes))
	var errs []error
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		path, err := m.setupVolume(ctx, pod, podDir, vol)
		if err != nil {
			errs = append(errs, setupError(vol.Name, err))
			continue
		}
		paths[vol.Name] = path
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return paths, nil
}

func (m *Manager) setupVolume(ctx context.Context, pod *corev1.Pod, podDir string, vol *corev1.Volume) (string, error) {
	k, err := kindOf(vol)
	if err != nil {
		return "", err
	}
	if vol.HostPath != nil {
		return setupHostPath(vol.HostPath)
	}
	if vol.PersistentVolumeClaim != nil {
		return m.setupClaim(ctx, pod, vol.PersistentVolumeClaim)
	}
	dir := volumeDir(podDir, k.plugin, vol.Name)
	if vol.EmptyDir != nil && vol.EmptyDir.Medium != corev1.StorageMediumDefault && vol.EmptyDir.Medium != corev1.StorageMediumMemory {
		return "", fmt.Errorf("unknown storage medium %q", vol.EmptyDir.Medium)
	}
	var sizeLimit *int64
	if vol.EmptyDir != nil && vol.EmptyDir.SizeLimit != nil {
		v := vol.EmptyDir.SizeLimit.Value()
		sizeLimit = &v
	}
	if err := m.prepareDir(pod, dir, k.tmpfs, sizeLimit, !k.atomic); err != nil {
		return "", err
	}
	if !k.atomic {
		return dir, nil
	}
	if err := makeNestedMountpoints(vol.Name, dir, pod); err != nil {
		return "", err
	}
	if err := m.writeVolume(ctx, pod, vol, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// prepareDir creates a volume directory (mode 0777, as kubelet's
// emptyDir) and, for memory-backed volumes, mounts a tmpfs on it. A
// directory seen for the first time is given to the pod's fsGroup.
func (m *Manager) prepareDir(pod *corev1.Pod, dir string, tmpfs bool, sizeLimit *int64, writable bool) error {
	fresh := false
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		fresh = true
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	if fresh {
		// MkdirAll is subject to the umask.
		if err := os.Chmod(dir, 0o777); err != nil {
			return err
		}
	}
	if tmpfs {
		mounted, err := isTmpfsMount(dir)
		if err != nil {
			return err
		}
		if !mounted {
			size := memoryBackedSize(pod, m.allocatable, sizeLimit)
			if err := mountTmpfs(dir, size); err != nil {
				return err
			}
			m.log.Debug("mounted tmpfs", "pod", podRef(pod), "dir", dir, "size", size)
			fresh = true
		}
	}
	if fresh && pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.FSGroup != nil {
		return setOwnership(dir, *pod.Spec.SecurityContext.FSGroup, !writable)
	}
	return nil
}

// writeVolume projects the current content of an atomic volume into dir.
func (m *Manager) writeVolume(ctx context.Context, pod *corev1.Pod, vol *corev1.Volume, dir string) error {
	payload, err := m.payload(ctx, pod, vol)
	if err != nil {
		return err
	}
	w := atomicWriter{dir: dir}
	if sc := pod.Spec.SecurityContext; sc != nil {
		w.fsGroup = sc.FSGroup
	}
	changed, err := w.write(payload)
	if err != nil {
		return err
	}
	if changed {
		m.log.Info("updated volume", "pod", podRef(pod), "volume", vol.Name)
	}
	return nil
}

// Refresh re-reads the sources of pod's configMap, secret, downwardAPI
// and projected volumes and updates their files atomically where the
// content changed. Volumes that Setup has not written yet are left to
// it. The agent calls Refresh periodically and when a configMap or secret
// changes.
func (m *Manager) Refresh(ctx context.Context, pod *corev1.Pod, podDir string) error {
	defer m.locks.Lock(filepath.Clean(podDir))()

	var errs []error
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		k, err := kindOf(vol)
		if err != nil || !k.atomic {
			continue
		}
		dir := volumeDir(podDir, k.plugin, vol.Name)
		if _, err := os.Lstat(filepath.Join(dir, dataDirName)); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if k.tmpfs {
			// Never let secrets land on the disk below.
			mounted, err := isTmpfsMount(dir)
			if err == nil && !mounted {
				err = fmt.Errorf("%s is not a tmpfs mount", dir)
			}
			if err != nil {
				errs = append(errs, setupError(vol.Name, err))
				continue
			}
		}
		if err := m.writeVolume(ctx, pod, vol, dir); err != nil {
			errs = append(errs, setupError(vol.Name, err))
		}
	}
	return errors.Join(errs...)
}

func podRef(pod *corev1.Pod) string {
	return pod.Namespace + "/" + pod.Name
}
