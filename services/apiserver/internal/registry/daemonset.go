package registry

import (
	"context"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// A DaemonSet's template generation counts the changes of its pod
// template (metadata.generation counts every spec change). Kubernetes keeps
// it in an internal field that apps/v1 shows as the
// deprecated.daemonset.template.generation annotation; the DaemonSet
// controller labels pods with it (pod-template-generation). Clients cannot
// set it after creation.

// prepareDaemonSet starts the template generation of a new DaemonSet at
// 1, unless the client gave a higher one.
func prepareDaemonSet(obj runtime.Object) {
	ds := obj.(*appsv1.DaemonSet)
	g, ok := templateGeneration(ds.Annotations)
	if !ok || g < 1 {
		g = 1
	}
	setTemplateGeneration(ds, g)
}

// bumpTemplateGeneration keeps the stored template generation, one more
// when the template changed. A DaemonSet stored without one starts from
// its metadata.generation, which the DaemonSet controller used instead.
func bumpTemplateGeneration(_ context.Context, obj, old runtime.Object) error {
	ds, prev := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	g, ok := templateGeneration(prev.Annotations)
	if !ok {
		g = prev.Generation
	}
	if !equality.Semantic.DeepEqual(ds.Spec.Template, prev.Spec.Template) {
		g++
	}
	setTemplateGeneration(ds, g)
	return nil
}

func templateGeneration(annotations map[string]string) (int64, bool) {
	v, ok := annotations[appsv1.DeprecatedTemplateGeneration]
	if !ok {
		return 0, false
	}
	g, err := strconv.ParseInt(v, 10, 64)
	return g, err == nil
}

func setTemplateGeneration(ds *appsv1.DaemonSet, g int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(g, 10)
}
