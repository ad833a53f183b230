package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/libs/client"
)

func TestAllResources(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range AllResources(nil) {
		for _, id := range []string{r.GVR().String(), r.GVK().String()} {
			if seen[id] {
				t.Errorf("%s listed twice", id)
			}
			seen[id] = true
		}
	}
	for _, want := range []string{"/v1, Resource=pods", "apps/v1, Resource=replicasets", "/v1, Resource=events"} {
		if !seen[want] {
			t.Errorf("%s missing", want)
		}
	}
}

func TestDynamicUpdateChecksType(t *testing.T) {
	d := DynamicOf(nil, client.ConfigMaps)
	if _, err := d.Update(context.Background(), &corev1.Pod{}); err == nil {
		t.Error("a Pod accepted by the ConfigMaps view")
	}
	if !d.Namespaced() || d.GVK().Kind != "ConfigMap" {
		t.Errorf("view of %s, namespaced %v", d.GVK(), d.Namespaced())
	}
}
