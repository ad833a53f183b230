package registry

import (
	"context"
	"fmt"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Kubernetes' DefaultIngressClass admission: a new Ingress that names no
// class (neither spec.ingressClassName nor the deprecated
// kubernetes.io/ingress.class annotation) gets the default IngressClass,
// the one annotated ingressclass.kubernetes.io/is-default-class=true; of
// several, the newest (then the first by name).

const (
	annIngressClass          = "kubernetes.io/ingress.class"
	annIngressClassIsDefault = networkingv1.AnnotationIsDefaultIngressClass
)

func (reg *Registry) admitIngress(ctx context.Context, obj runtime.Object, _ string) error {
	ing := obj.(*networkingv1.Ingress)
	if ing.Spec.IngressClassName != nil || ing.Annotations[annIngressClass] != "" {
		return nil
	}
	r := reg.mustResource("networking.k8s.io", "ingressclasses")
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := r.cache.WaitFor(wctx, 1)
	cancel()
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("listing ingress classes: %w", err))
	}
	items, _, _ := r.cache.List(r.res.KeyPrefix(""), "", 0, nil)
	classes := make([]*networkingv1.IngressClass, len(items))
	for i, o := range items {
		classes[i] = o.(*networkingv1.IngressClass)
	}
	if dc := defaultIngressClass(classes); dc != nil {
		name := dc.Name
		ing.Spec.IngressClassName = &name
	}
	return nil
}

func defaultIngressClass(classes []*networkingv1.IngressClass) *networkingv1.IngressClass {
	var dc *networkingv1.IngressClass
	for _, c := range classes {
		if c.Annotations[annIngressClassIsDefault] != "true" {
			continue
		}
		if dc == nil || newerMeta(c.ObjectMeta, dc.ObjectMeta) {
			dc = c
		}
	}
	return dc
}

// newerMeta orders objects newest first, then by name.
func newerMeta(a, b metav1.ObjectMeta) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name < b.Name
}
