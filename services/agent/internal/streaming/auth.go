package streaming

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Authorizer lets through only callers whose verified TLS client
// certificate has one of the allowed common names, such as the API
// server's "gantry-apiserver"; others get PermissionDenied. The server
// must verify client certificates (tls.Config ClientAuth
// RequireAndVerifyClientCert, ClientCAs the cluster CA): only verified
// chains count.
//
//	auth := streaming.Authorize("gantry-apiserver")
//	grpc.NewServer(grpc.Creds(creds),
//		grpc.ChainUnaryInterceptor(auth.Unary),
//		grpc.ChainStreamInterceptor(auth.Stream))
type Authorizer struct {
	allowed []string
}

// Authorize returns an Authorizer for these common names.
func Authorize(allowed ...string) *Authorizer {
	return &Authorizer{allowed: slices.Clone(allowed)}
}

// Unary is a grpc.UnaryServerInterceptor.
func (a *Authorizer) Unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := a.Check(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is a grpc.StreamServerInterceptor.
func (a *Authorizer) Stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := a.Check(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

// Check returns nil when the caller of ctx may call the agent, and a
// PermissionDenied status otherwise.
func (a *Authorizer) Check(ctx context.Context) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.PermissionDenied, "no peer information: a client certificate is required")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return status.Error(codes.PermissionDenied, "the connection is not TLS: a client certificate is required")
	}
	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return status.Error(codes.PermissionDenied, "a verified client certificate is required")
	}
	cn := chains[0][0].Subject.CommonName
	if !slices.Contains(a.allowed, cn) {
		return status.Errorf(codes.PermissionDenied, "%q may not use the agent's API", cn)
	}
	return nil
}
