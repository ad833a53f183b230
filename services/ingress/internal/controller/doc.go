// Package controller feeds the proxy: it watches Ingresses,
// IngressClasses, Services, EndpointSlices and Secrets, and after every
// change rebuilds the route table (routes.Build) and the certificate map
// (tlscerts.Build) of the Ingresses of its class and swaps them in. What
// an Ingress gets wrong is reported once as a Warning Event on it
// (Rejected, MissingService, Conflict, MissingSecret, InvalidSecret);
// the rest of it, and every other Ingress, keeps being served.
//
// An Ingress is served when spec.ingressClassName names the controller's
// class, or (without it) the deprecated kubernetes.io/ingress.class
// annotation does, or when it names no class at all and the class is
// marked the default (ingressclass.kubernetes.io/is-default-class):
// Gantry's API server does not run Kubernetes' DefaultIngressClass
// admission plugin, so class-less Ingresses keep no class and the
// default class' controller claims them, as that plugin would.
//
// EnsureClass creates the IngressClass at start; RunStatus (run by the
// leader only) writes the published address to status.loadBalancer of
// the Ingresses served, only when it differs.
package controller
