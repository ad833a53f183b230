package streams

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Dialer connects to the agent of a node. The handler closes the
// connection when the request ends.
type Dialer interface {
	Dial(ctx context.Context, node *corev1.Node) (*grpc.ClientConn, error)
}

// DialerFunc is a function that is a Dialer.
type DialerFunc func(ctx context.Context, node *corev1.Node) (*grpc.ClientConn, error)

// Dial calls f.
func (f DialerFunc) Dial(ctx context.Context, node *corev1.Node) (*grpc.ClientConn, error) {
	return f(ctx, node)
}

// addressPreference is the order in which NodeDialer picks a node address.
var addressPreference = []corev1.NodeAddressType{
	corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName,
}

// NodeDialer dials the agent at the node's address (InternalIP first) and
// the port in status.daemonEndpoints.kubeletEndpoint, over TLS with TLS's
// client certificate. It verifies that the agent's serving certificate
// names the node (ServerName is the Node's name) and is signed by TLS's
// RootCAs.
type NodeDialer struct {
	TLS *tls.Config
}

// Dial returns a connection that connects on first use.
func (d NodeDialer) Dial(_ context.Context, node *corev1.Node) (*grpc.ClientConn, error) {
	if d.TLS == nil {
		return nil, errors.New("NodeDialer needs a TLS configuration")
	}
	addr, err := AgentAddress(node)
	if err != nil {
		return nil, err
	}
	cfg := d.TLS.Clone()
	cfg.ServerName = node.Name
	return grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
}

// AgentAddress is host:port of a node's agent, from the node's status.
func AgentAddress(node *corev1.Node) (string, error) {
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 || port > 65535 {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("node %q does not publish the port of its agent", node.Name))
	}
	for _, typ := range addressPreference {
		for _, a := range node.Status.Addresses {
			if a.Type == typ && a.Address != "" {
				return net.JoinHostPort(a.Address, strconv.Itoa(int(port))), nil
			}
		}
	}
	return "", apierrors.NewServiceUnavailable(fmt.Sprintf("node %q publishes no address for its agent", node.Name))
}
