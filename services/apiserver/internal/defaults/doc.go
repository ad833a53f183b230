// Package defaults owns API defaulting: the values the Kubernetes API
// server fills into an object before validating and storing it, which
// kube-apiserver does with the SetDefaults_* functions of its
// pkg/apis/<group>/<version>/defaults.go (k8s.io/api carries none of them).
//
// Default applies them in place to a typed object, or to every item of a
// typed list, of any served kind, and leaves unknown types alone. It is
// idempotent: defaulting an already defaulted object changes nothing.
//
// What is deliberately not here, because Kubernetes does it in the
// registry at create time rather than as defaulting: the Job selector and
// the controller-uid / job-name template labels, namespace finalizers,
// cluster IP and node port allocation. The one registry-time step done
// here is the Service IP family fields (ipFamilyPolicy, ipFamilies), for a
// single-stack IPv4 cluster.
package defaults
