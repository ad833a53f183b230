package localpath

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

// fakeAPI records finalizer removals; inUse lists claims still used.
type fakeAPI struct {
	mu      sync.Mutex
	updated map[string][]string // volume -> finalizers written
	inUse   map[string]bool     // "node/ns/claim"
}

func (f *fakeAPI) UpdateVolume(_ context.Context, pv *corev1.PersistentVolume) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updated[pv.Name] = pv.Finalizers
	return nil
}

func (f *fakeAPI) ClaimInUse(_ context.Context, node, ns, claim string) (bool, error) {
	return f.inUse[node+"/"+ns+"/"+claim], nil
}

func localVolume(name, host, path string, policy corev1.PersistentVolumeReclaimPolicy, deleted bool) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1",
			Annotations: map[string]string{storageutil.AnnDynamicallyProvisioned: storageutil.LocalPathProvisioner},
			Finalizers:  []string{storageutil.LocalPathCleanupFinalizer, "example.com/other"}},
		Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: policy,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}},
			NodeAffinity:                  storageutil.HostnameAffinity(host),
			ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "claim-" + name},
		},
	}
	if deleted {
		now := metav1.Now()
		pv.DeletionTimestamp = &now
	}
	return pv
}

// informerOf is an informer whose cache holds pvs; it is never run
// (sync reads only the cache).
func informerOf(t *testing.T, pvs ...*corev1.PersistentVolume) cache.SharedIndexInformer {
	t.Helper()
	inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, &corev1.PersistentVolume{}, 0, cache.Indexers{})
	for _, pv := range pvs {
		if err := inf.GetIndexer().Add(pv); err != nil {
			t.Fatal(err)
		}
	}
	return inf
}

func TestCleaner(t *testing.T) {
	base := t.TempDir()
	dir := func(name string) string {
		d := filepath.Join(base, name+"_default_claim-"+name)
		if err := os.MkdirAll(filepath.Join(d, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	crafted := filepath.Join(base, "precious")
	if err := os.Mkdir(crafted, 0o755); err != nil {
		t.Fatal(err)
	}
	vols := map[string]*corev1.PersistentVolume{
		"pvc-done":      localVolume("pvc-done", "h1", dir("pvc-done"), corev1.PersistentVolumeReclaimDelete, true),
		"pvc-used":      localVolume("pvc-used", "h1", dir("pvc-used"), corev1.PersistentVolumeReclaimDelete, true),
		"pvc-retained":  localVolume("pvc-retained", "h1", dir("pvc-retained"), corev1.PersistentVolumeReclaimRetain, true),
		"pvc-elsewhere": localVolume("pvc-elsewhere", "h2", dir("pvc-elsewhere"), corev1.PersistentVolumeReclaimDelete, true),
		"pvc-live":      localVolume("pvc-live", "h1", dir("pvc-live"), corev1.PersistentVolumeReclaimDelete, false),
		"pvc-crafted":   localVolume("pvc-crafted", "h1", crafted, corev1.PersistentVolumeReclaimDelete, true),
	}
	var all []*corev1.PersistentVolume
	for _, pv := range vols {
		all = append(all, pv)
	}
	inf := informerOf(t, all...)
	api := &fakeAPI{updated: map[string][]string{}, inUse: map[string]bool{"node-1/default/claim-pvc-used": true}}
	c, err := New(Config{Volumes: inf, API: api, Nodes: map[string]string{"h1": "node-1"}, OnDisk: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tests := []struct {
		volume    string
		retry     bool
		errText   string
		dirKept   bool
		finalized bool // the cleanup finalizer was removed
	}{
		{volume: "pvc-done", finalized: true},
		{volume: "pvc-used", retry: true, dirKept: true},
		{volume: "pvc-retained", dirKept: true, finalized: true},
		{volume: "pvc-elsewhere", dirKept: true},
		{volume: "pvc-live", dirKept: true},
		{volume: "pvc-crafted", errText: "refusing to remove", dirKept: true},
	}
	for _, tt := range tests {
		t.Run(tt.volume, func(t *testing.T) {
			retry, err := c.sync(ctx, tt.volume)
			if retry != tt.retry || (err == nil) != (tt.errText == "") || err != nil && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("sync = %v, %v; want retry %v, error %q", retry, err, tt.retry, tt.errText)
			}
			_, statErr := os.Stat(vols[tt.volume].Spec.HostPath.Path)
			if kept := statErr == nil; kept != tt.dirKept {
				t.Errorf("directory kept = %v, want %v", kept, tt.dirKept)
			}
			finalizers, written := api.updated[tt.volume]
			if written != tt.finalized {
				t.Errorf("finalizers written = %v, want %v", written, tt.finalized)
			}
			if written && strings.Join(finalizers, ",") != "example.com/other" {
				t.Errorf("finalizers = %v, want only the other one kept", finalizers)
			}
		})
	}

	t.Run("simulated nodes touch no disk", func(t *testing.T) {
		sim, err := New(Config{Volumes: inf, API: api, Nodes: map[string]string{"h2": "sim-2"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.sync(ctx, "pvc-elsewhere"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(vols["pvc-elsewhere"].Spec.HostPath.Path); err != nil {
			t.Errorf("directory removed: %v", err)
		}
		if _, ok := api.updated["pvc-elsewhere"]; !ok {
			t.Error("finalizer not removed")
		}
	})
}
