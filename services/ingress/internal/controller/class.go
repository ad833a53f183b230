package controller

import (
	"context"
	"fmt"
	"log/slog"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ControllerName is spec.controller of the IngressClasses served.
	ControllerName = "gantry.dev/ingress"
	// LegacyClassAnnotation is the class annotation of Ingresses before
	// spec.ingressClassName.
	LegacyClassAnnotation = "kubernetes.io/ingress.class"
)

// ClassClient is the part of the IngressClass client EnsureClass uses.
type ClassClient interface {
	Get(ctx context.Context, namespace, name string, opts metav1.GetOptions) (*networkingv1.IngressClass, error)
	Create(ctx context.Context, obj *networkingv1.IngressClass, opts metav1.CreateOptions) (*networkingv1.IngressClass, error)
}

// EnsureClass creates the IngressClass name (controller gantry.dev/ingress,
// the default class) unless it exists; an existing one is left as it is.
func EnsureClass(ctx context.Context, classes ClassClient, name string, log *slog.Logger) error {
	ic, err := classes.Get(ctx, "", name, metav1.GetOptions{})
	switch {
	case err == nil:
		if ic.Spec.Controller != ControllerName {
			log.Warn("IngressClass belongs to another controller; serving its Ingresses anyway", "class", name, "controller", ic.Spec.Controller)
		}
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("get IngressClass %s: %w", name, err)
	}
	ic = &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}},
		Spec:       networkingv1.IngressClassSpec{Controller: ControllerName},
	}
	if _, err := classes.Create(ctx, ic, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create IngressClass %s: %w", name, err)
	}
	log.Info("created IngressClass", "class", name, "default", true)
	return nil
}

// Ours reports whether an Ingress belongs to class, given whether class
// is currently the default IngressClass.
func Ours(ing *networkingv1.Ingress, class string, classIsDefault bool) bool {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName == class
	}
	if v, ok := ing.Annotations[LegacyClassAnnotation]; ok {
		return v == class
	}
	return classIsDefault
}

// IsDefault reports whether an IngressClass is marked the default one.
func IsDefault(ic *networkingv1.IngressClass) bool {
	return ic != nil && ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true"
}
