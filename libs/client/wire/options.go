package wire

import (
	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Target addresses gvr, and within it a namespace, an object and a
// subresource when they are set.
func Target(gvr schema.GroupVersionResource, namespace, name, subresource string) *apiv1.Target {
	return &apiv1.Target{
		Group: gvr.Group, Version: gvr.Version, Resource: gvr.Resource,
		Namespace: namespace, Name: name, Subresource: subresource,
	}
}

// TargetGVR is the resource a target addresses.
func TargetGVR(t *apiv1.Target) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: t.GetGroup(), Version: t.GetVersion(), Resource: t.GetResource()}
}

// GetOptionsToProto mirrors o.
func GetOptionsToProto(o metav1.GetOptions) *apiv1.GetOptions {
	return &apiv1.GetOptions{ResourceVersion: o.ResourceVersion}
}

// GetOptionsFromProto is the inverse of GetOptionsToProto.
func GetOptionsFromProto(o *apiv1.GetOptions) metav1.GetOptions {
	return metav1.GetOptions{ResourceVersion: o.GetResourceVersion()}
}

// ListOptionsToProto mirrors o.
func ListOptionsToProto(o metav1.ListOptions) *apiv1.ListOptions {
	return &apiv1.ListOptions{
		LabelSelector:        o.LabelSelector,
		FieldSelector:        o.FieldSelector,
		ResourceVersion:      o.ResourceVersion,
		ResourceVersionMatch: string(o.ResourceVersionMatch),
		Limit:                o.Limit,
		Continue:             o.Continue,
		AllowWatchBookmarks:  o.AllowWatchBookmarks,
		SendInitialEvents:    o.SendInitialEvents,
		TimeoutSeconds:       o.TimeoutSeconds,
	}
}

// ListOptionsFromProto is the inverse of ListOptionsToProto.
func ListOptionsFromProto(o *apiv1.ListOptions) metav1.ListOptions {
	if o == nil {
		return metav1.ListOptions{}
	}
	return metav1.ListOptions{
		LabelSelector:        o.LabelSelector,
		FieldSelector:        o.FieldSelector,
		ResourceVersion:      o.ResourceVersion,
		ResourceVersionMatch: metav1.ResourceVersionMatch(o.ResourceVersionMatch),
		Limit:                o.Limit,
		Continue:             o.Continue,
		AllowWatchBookmarks:  o.AllowWatchBookmarks,
		SendInitialEvents:    o.SendInitialEvents,
		TimeoutSeconds:       o.TimeoutSeconds,
	}
}

// CreateOptionsToProto mirrors o.
func CreateOptionsToProto(o metav1.CreateOptions) *apiv1.CreateOptions {
	return &apiv1.CreateOptions{DryRun: o.DryRun, FieldManager: o.FieldManager, FieldValidation: o.FieldValidation}
}

// CreateOptionsFromProto is the inverse of CreateOptionsToProto.
func CreateOptionsFromProto(o *apiv1.CreateOptions) metav1.CreateOptions {
	return metav1.CreateOptions{DryRun: o.GetDryRun(), FieldManager: o.GetFieldManager(), FieldValidation: o.GetFieldValidation()}
}

// UpdateOptionsToProto mirrors o.
func UpdateOptionsToProto(o metav1.UpdateOptions) *apiv1.UpdateOptions {
	return &apiv1.UpdateOptions{DryRun: o.DryRun, FieldManager: o.FieldManager, FieldValidation: o.FieldValidation}
}

// UpdateOptionsFromProto is the inverse of UpdateOptionsToProto.
func UpdateOptionsFromProto(o *apiv1.UpdateOptions) metav1.UpdateOptions {
	return metav1.UpdateOptions{DryRun: o.GetDryRun(), FieldManager: o.GetFieldManager(), FieldValidation: o.GetFieldValidation()}
}

// PatchOptionsToProto mirrors o.
func PatchOptionsToProto(o metav1.PatchOptions) *apiv1.PatchOptions {
	return &apiv1.PatchOptions{DryRun: o.DryRun, FieldManager: o.FieldManager, Force: o.Force, FieldValidation: o.FieldValidation}
}

// PatchOptionsFromProto is the inverse of PatchOptionsToProto.
func PatchOptionsFromProto(o *apiv1.PatchOptions) metav1.PatchOptions {
	if o == nil {
		return metav1.PatchOptions{}
	}
	return metav1.PatchOptions{DryRun: o.DryRun, FieldManager: o.FieldManager, Force: o.Force, FieldValidation: o.FieldValidation}
}

// DeleteOptionsToProto mirrors o. The deprecated orphanDependents is
// sent as the propagation policy it stands for.
func DeleteOptionsToProto(o metav1.DeleteOptions) *apiv1.DeleteOptions {
	out := &apiv1.DeleteOptions{GracePeriodSeconds: o.GracePeriodSeconds, DryRun: o.DryRun}
	policy := o.PropagationPolicy
	if policy == nil && o.OrphanDependents != nil {
		p := metav1.DeletePropagationBackground
		if *o.OrphanDependents {
			p = metav1.DeletePropagationOrphan
		}
		policy = &p
	}
	if policy != nil {
		s := string(*policy)
		out.PropagationPolicy = &s
	}
	if p := o.Preconditions; p != nil {
		out.Preconditions = &apiv1.Preconditions{ResourceVersion: p.ResourceVersion}
		if p.UID != nil {
			uid := string(*p.UID)
			out.Preconditions.Uid = &uid
		}
	}
	return out
}

// DeleteOptionsFromProto is the inverse of DeleteOptionsToProto.
func DeleteOptionsFromProto(o *apiv1.DeleteOptions) metav1.DeleteOptions {
	if o == nil {
		return metav1.DeleteOptions{}
	}
	out := metav1.DeleteOptions{GracePeriodSeconds: o.GracePeriodSeconds, DryRun: o.DryRun}
	if o.PropagationPolicy != nil {
		p := metav1.DeletionPropagation(*o.PropagationPolicy)
		out.PropagationPolicy = &p
	}
	if p := o.Preconditions; p != nil {
		out.Preconditions = &metav1.Preconditions{ResourceVersion: p.ResourceVersion}
		if p.Uid != nil {
			uid := types.UID(*p.Uid)
			out.Preconditions.UID = &uid
		}
	}
	return out
}

// WatchStartedHeader is the response metadata the server sends, with the
// value "true", once a watch is established. A stream that ends without
// it failed to start, and its status says why.
const WatchStartedHeader = "gantry-watch-started"
