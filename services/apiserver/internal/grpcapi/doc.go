// Package grpcapi is the gRPC facade of the API server: the
// gantry.api.v1.Resources service, an adapter over the registry that the
// REST facade also sits on, so both serve the same objects with the same
// rules. Each call authenticates the caller (verified client certificate
// of the TLS peer, or "authorization: Bearer <token>" metadata, with the
// REST facade's authenticator; no credentials at all is anonymous), finds
// the target resource, asks the shared authorizer (package authz: the
// narrow rights of bootstrap tokens and anonymous callers), decodes the
// request (objects in Kubernetes protobuf encoding), calls the registry,
// and encodes the answer; errors are mapped once, at the boundary, to a
// gRPC status carrying the full metav1.Status (libs/client/wire).
package grpcapi
