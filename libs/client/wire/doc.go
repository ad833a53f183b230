// Package wire is the encoding both ends of the gantry.api.v1 gRPC
// service share: objects in Kubernetes protobuf encoding, metav1 option
// structs as their proto mirrors, and Kubernetes API errors as gRPC
// statuses that carry the full metav1.Status.
//
// The API server's gRPC facade and libs/client both use it, so a round
// trip through the wire gives back what went in: the same object, the
// same options, and an error for which apierrors.IsNotFound, IsConflict,
// IsInvalid, IsResourceExpired and the like answer as they would over
// REST.
package wire
