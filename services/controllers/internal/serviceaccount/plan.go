package serviceaccount

import corev1 "k8s.io/api/core/v1"

// DefaultAccounts are the accounts every namespace gets (Kubernetes'
// default: just "default").
var DefaultAccounts = []string{"default"}

// toCreate returns the accounts of want that namespace ns lacks (has
// reports whether it has one). A namespace being deleted gets none.
func toCreate(ns *corev1.Namespace, want []string, has func(name string) bool) []string {
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	var out []string
	for _, name := range want {
		if !has(name) {
			out = append(out, name)
		}
	}
	return out
}
