// Package api holds what the API server knows about the types it serves:
// the runtime scheme with every served Kubernetes group, the codecs built
// on it, and the table of resources (names, kinds, scope, subresources and
// storage prefixes) that discovery, the registry and both facades share.
package api

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// Scheme knows every type the server encodes or decodes. It is built once
// and never changed after package initialisation.
var Scheme = newScheme()

// Codecs builds serializers (JSON, YAML, protobuf) over Scheme; their
// StrictSerializer reports unknown and duplicate fields.
var Codecs = serializer.NewCodecFactory(Scheme, serializer.EnableStrict)

// LenientCodecs decode without reporting unknown or duplicate fields
// (fieldValidation=Ignore).
var LenientCodecs = serializer.NewCodecFactory(Scheme)

// ParameterCodec converts URL query parameters to option structs.
var ParameterCodec = runtime.NewParameterCodec(Scheme)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		appsv1.AddToScheme,
		autoscalingv1.AddToScheme,
		batchv1.AddToScheme,
		certificatesv1.AddToScheme,
		coordinationv1.AddToScheme,
		discoveryv1.AddToScheme,
		networkingv1.AddToScheme,
		policyv1.AddToScheme,
		schedulingv1.AddToScheme,
		storagev1.AddToScheme,
		metav1.AddMetaToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	// Options, Status, WatchEvent and the like, unversioned and under
	// meta.k8s.io/v1, as the Kubernetes API server registers them.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	metav1.AddToGroupVersion(s, metav1.SchemeGroupVersion)
	return s
}
