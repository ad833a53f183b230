package registry

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// fieldSet returns the fields a field selector may test on obj, as
// Kubernetes exposes them per kind.
func fieldSet(obj runtime.Object) fields.Set {
	m, err := meta.Accessor(obj)
	if err != nil {
		return fields.Set{}
	}
	set := fields.Set{"metadata.name": m.GetName()}
	if ns := m.GetNamespace(); ns != "" {
		set["metadata.namespace"] = ns
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		set["spec.nodeName"] = o.Spec.NodeName
		set["spec.restartPolicy"] = string(o.Spec.RestartPolicy)
		set["spec.schedulerName"] = o.Spec.SchedulerName
		set["spec.serviceAccountName"] = o.Spec.ServiceAccountName
		set["spec.hostNetwork"] = strconv.FormatBool(o.Spec.HostNetwork)
		set["status.phase"] = string(o.Status.Phase)
		set["status.podIP"] = o.Status.PodIP
		set["status.nominatedNodeName"] = o.Status.NominatedNodeName
	case *corev1.Node:
		set["spec.unschedulable"] = strconv.FormatBool(o.Spec.Unschedulable)
	case *corev1.Namespace:
		set["status.phase"] = string(o.Status.Phase)
	case *corev1.Secret:
		set["type"] = string(o.Type)
	case *corev1.Event:
		set["involvedObject.kind"] = o.InvolvedObject.Kind
		set["involvedObject.namespace"] = o.InvolvedObject.Namespace
		set["involvedObject.name"] = o.InvolvedObject.Name
		set["involvedObject.uid"] = string(o.InvolvedObject.UID)
		set["involvedObject.apiVersion"] = o.InvolvedObject.APIVersion
		set["involvedObject.resourceVersion"] = o.InvolvedObject.ResourceVersion
		set["involvedObject.fieldPath"] = o.InvolvedObject.FieldPath
		set["reason"] = o.Reason
		set["reportingComponent"] = o.ReportingController
		set["source"] = o.Source.Component
		set["type"] = o.Type
	case *corev1.ReplicationController:
		set["status.replicas"] = strconv.Itoa(int(o.Status.Replicas))
	case *appsv1.ReplicaSet:
		set["status.replicas"] = strconv.Itoa(int(o.Status.Replicas))
	case *batchv1.Job:
		set["status.successful"] = strconv.Itoa(int(o.Status.Succeeded))
	case *certificatesv1.CertificateSigningRequest:
		set["spec.signerName"] = o.Spec.SignerName
	}
	return set
}

// Predicate is a label and field selection.
type Predicate struct {
	Label labels.Selector
	Field fields.Selector
	// Namespace and Name narrow a watch as the URL does.
	Namespace string
	Name      string
}

// Matches reports whether obj is selected.
func (p Predicate) Matches(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	if p.Name != "" && m.GetName() != p.Name {
		return false
	}
	if p.Label != nil && !p.Label.Empty() && !p.Label.Matches(labels.Set(m.GetLabels())) {
		return false
	}
	if p.Field != nil && !p.Field.Empty() && !p.Field.Matches(fieldSet(obj)) {
		return false
	}
	return true
}

// Everything reports whether the predicate selects all objects.
func (p Predicate) Everything() bool {
	return p.Name == "" && (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// NewPredicate parses the selectors of a list or watch request for the
// resource whose empty object is sample.
func NewPredicate(sample runtime.Object, labelSel, fieldSel string) (Predicate, error) {
	var p Predicate
	var err error
	if p.Label, err = labels.Parse(labelSel); err != nil {
		return p, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	if p.Field, err = fields.ParseSelector(fieldSel); err != nil {
		return p, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	known := fieldSet(sample)
	for _, r := range p.Field.Requirements() {
		if _, ok := known[r.Field]; !ok && r.Field != "metadata.namespace" {
			return p, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
		}
	}
	return p, nil
}
