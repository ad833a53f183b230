package node

import (
	"context"

	"github.com/gantry-dev/gantry/libs/client"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API is what the node needs of the API server. Errors are Kubernetes API
// errors (apierrors.IsNotFound, IsConflict, IsAlreadyExists).
type API interface {
	GetNode(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error)
	CreateNode(ctx context.Context, node *corev1.Node) (*corev1.Node, error)
	// UpdateNode replaces the Node's metadata and spec, UpdateNodeStatus
	// its status; both compare-and-swap on the resourceVersion.
	UpdateNode(ctx context.Context, node *corev1.Node) (*corev1.Node, error)
	UpdateNodeStatus(ctx context.Context, node *corev1.Node) (*corev1.Node, error)
	GetLease(ctx context.Context, namespace, name string) (*coordinationv1.Lease, error)
	CreateLease(ctx context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error)
	UpdateLease(ctx context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error)
}

// ClientAPI is the API over a libs/client connection.
func ClientAPI(c *client.Client) API {
	return clientAPI{nodes: client.Nodes(c), leases: client.Leases(c)}
}

type clientAPI struct {
	nodes  *client.Resource[*corev1.Node, *corev1.NodeList]
	leases *client.Resource[*coordinationv1.Lease, *coordinationv1.LeaseList]
}

func (a clientAPI) GetNode(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error) {
	return a.nodes.Get(ctx, "", name, opts)
}

func (a clientAPI) CreateNode(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	return a.nodes.Create(ctx, node, metav1.CreateOptions{})
}

func (a clientAPI) UpdateNode(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	return a.nodes.Update(ctx, node, metav1.UpdateOptions{})
}

func (a clientAPI) UpdateNodeStatus(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	return a.nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
}

func (a clientAPI) GetLease(ctx context.Context, namespace, name string) (*coordinationv1.Lease, error) {
	return a.leases.Get(ctx, namespace, name, metav1.GetOptions{})
}

func (a clientAPI) CreateLease(ctx context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	return a.leases.Create(ctx, lease, metav1.CreateOptions{})
}

func (a clientAPI) UpdateLease(ctx context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	return a.leases.Update(ctx, lease, metav1.UpdateOptions{})
}
