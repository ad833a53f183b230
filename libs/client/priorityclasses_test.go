package client

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestPriorityClassesClient(t *testing.T) {
	r := PriorityClasses(&Client{})
	if got, want := r.GVR(), (schema.GroupVersionResource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}); got != want {
		t.Errorf("GVR = %v, want %v", got, want)
	}
	if got, want := r.GVK(), (schema.GroupVersionKind{Group: "scheduling.k8s.io", Version: "v1", Kind: "PriorityClass"}); got != want {
		t.Errorf("GVK = %v, want %v", got, want)
	}
	if r.Namespaced() {
		t.Error("PriorityClasses are cluster-scoped")
	}
	// A namespace given by mistake is not sent: the target is cluster-scoped.
	if tgt := r.target("default", "high", ""); tgt.GetNamespace() != "" || tgt.GetName() != "high" {
		t.Errorf("target = %v, want no namespace and name high", tgt)
	}
}
