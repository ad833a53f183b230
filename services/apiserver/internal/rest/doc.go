// Package rest is the Kubernetes REST facade: it turns the HTTP requests of
// kubectl and client-go (discovery, CRUD, lists, watches, patches,
// subresources, in JSON, YAML or Kubernetes protobuf, with Table output)
// into calls on the registry, and errors into metav1.Status bodies with
// the codes and messages Kubernetes uses.
package rest
