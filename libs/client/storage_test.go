package client

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestStorageClients(t *testing.T) {
	c := &Client{}
	tests := []struct {
		gvr        schema.GroupVersionResource
		gvk        schema.GroupVersionKind
		namespaced bool
		want       schema.GroupVersionResource
		wantKind   string
		wantNS     bool
	}{
		{PersistentVolumes(c).GVR(), PersistentVolumes(c).GVK(), PersistentVolumes(c).Namespaced(),
			schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}, "PersistentVolume", false},
		{PersistentVolumeClaims(c).GVR(), PersistentVolumeClaims(c).GVK(), PersistentVolumeClaims(c).Namespaced(),
			schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, "PersistentVolumeClaim", true},
		{StorageClasses(c).GVR(), StorageClasses(c).GVK(), StorageClasses(c).Namespaced(),
			schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}, "StorageClass", false},
	}
	for _, tt := range tests {
		t.Run(tt.want.Resource, func(t *testing.T) {
			if tt.gvr != tt.want || tt.gvk != tt.want.GroupVersion().WithKind(tt.wantKind) || tt.namespaced != tt.wantNS {
				t.Errorf("got %v %v namespaced=%v, want %v kind %s namespaced=%v", tt.gvr, tt.gvk, tt.namespaced, tt.want, tt.wantKind, tt.wantNS)
			}
		})
	}
	// A namespace given by mistake is not sent for cluster-scoped volumes.
	if tgt := PersistentVolumes(c).target("default", "pv1", ""); tgt.GetNamespace() != "" {
		t.Errorf("target = %v, want no namespace", tgt)
	}
}
