package client

import (
	"context"

	"github.com/gantry-dev/gantry/libs/client/wire"
	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UpdateSubresource replaces an object through a subresource that takes
// the whole object: a namespace's "finalize" (client-go's
// Namespaces().Finalize), which is how the namespace controller removes
// its spec.finalizers entry.
func (r *Resource[T, L]) UpdateSubresource(ctx context.Context, obj T, subresource string, opts metav1.UpdateOptions) (T, error) {
	raw, err := wire.Encode(obj, r.GVK())
	if err != nil {
		return zero[T](), err
	}
	resp, err := r.c.api.Update(ctx, &apiv1.UpdateRequest{
		Target: r.target(obj.GetNamespace(), obj.GetName(), subresource), Object: raw, Options: wire.UpdateOptionsToProto(opts),
	})
	if err != nil {
		return zero[T](), wire.FromGRPC(err)
	}
	return r.decode(resp.Object)
}
