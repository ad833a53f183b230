// Package printers owns the server-side table output of the API server:
// the columns and cells that kubectl shows for `kubectl get`, which it asks
// for with "Accept: application/json;as=Table;v=v1;g=meta.k8s.io".
//
// It follows kube-apiserver's pkg/printers/internalversion: the same column
// names, order, types and priorities (priority 1 marks the columns only
// `-o wide` shows) and the same cell formats, such as a pod's STATUS and
// RESTARTS or a service's PORT(S). Cells always carries every column, wide
// ones included, as the server does; kubectl hides what it does not show.
//
// Columns gives a resource's column definitions and Cells one object's
// row. A resource without a printer of its own gets Kubernetes' default
// table: Name and Created At. Building the metav1.Table itself (list
// metadata, row objects, includeObject) is the caller's.
package printers
