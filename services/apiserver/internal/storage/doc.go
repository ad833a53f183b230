// Package storage keeps API objects in gantry-store (or etcd) through
// clientv3, under Kubernetes' key layout, encoded the way kube-apiserver
// encodes them (Kubernetes protobuf with its "k8s\x00" envelope).
//
// An object's resourceVersion is the store's mod revision of its key: it is
// cleared before an object is written and filled in when one is read, and
// every write is a compare-and-swap on it. Store is the direct path to the
// store; Cache (cache.go) keeps one watch per resource and serves lists and
// watches from memory.
package storage
