// Package defaultbinder binds pods through the pods/binding subresource.
package defaultbinder

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// Name is the plugin's name.
const Name = "DefaultBinder"

// Binder is the DefaultBinder plugin.
type Binder struct{ h framework.Handle }

var _ framework.BindPlugin = (*Binder)(nil)

// New builds the plugin; it takes no arguments.
func New(_ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &Binder{h: h}, nil
}

// Name returns the plugin's name.
func (b *Binder) Name() string { return Name }

// Bind posts a Binding of the pod to nodeName.
func (b *Binder) Bind(ctx context.Context, _ *framework.CycleState, pod *corev1.Pod, nodeName string) *framework.Status {
	return framework.AsStatus(b.h.Client().Bind(ctx, pod, nodeName))
}
