package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// HashLabel is the label of a StatefulSet's revisions that holds the hash
// in their name. (DaemonSet revisions use controller-revision-hash, as
// their pods do.)
const HashLabel = "controller.kubernetes.io/hash"

// TemplatePatch is the data of the revision of tmpl: a strategic merge
// patch that replaces spec.template with it. It is built as Kubernetes
// (and kubectl, which compares it to find the current revision) builds it:
// the template encoded, decoded into a map, given "$patch": "replace", and
// encoded again, so keys come out sorted.
func TemplatePatch(tmpl *corev1.PodTemplateSpec) ([]byte, error) {
	encoded, err := json.Marshal(tmpl)
	if err != nil {
		return nil, fmt.Errorf("encode pod template: %w", err)
	}
	var template map[string]any
	if err := json.Unmarshal(encoded, &template); err != nil {
		return nil, fmt.Errorf("decode pod template: %w", err)
	}
	template["$patch"] = "replace"
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
	if err != nil {
		return nil, fmt.Errorf("encode template patch: %w", err)
	}
	return patch, nil
}

// Template returns the pod template a revision's data sets.
func Template(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var patch struct {
		Spec struct {
			Template *corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &patch); err != nil {
		return nil, fmt.Errorf("data of controller revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	if patch.Spec.Template == nil {
		return nil, fmt.Errorf("data of controller revision %s/%s has no spec.template", rev.Namespace, rev.Name)
	}
	return patch.Spec.Template, nil
}

// EqualData reports whether two revisions' data are the same: the same
// bytes, or the same JSON document.
func EqualData(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// Sort orders revisions oldest first: by revision number, then creation
// time, then name.
func Sort(revs []*appsv1.ControllerRevision) {
	sort.SliceStable(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// Next is the number of a new newest revision: one more than the highest,
// 1 for the first.
func Next(revs []*appsv1.ControllerRevision) int64 {
	var highest int64
	for _, r := range revs {
		highest = max(highest, r.Revision)
	}
	return highest + 1
}

// Choice is where the owner's current template stands in its history.
type Choice struct {
	// Existing is the revision that already holds the template (the
	// newest of them), nil when a new one must be created.
	Existing *appsv1.ControllerRevision
	// Duplicates are other revisions holding the same template.
	Duplicates []*appsv1.ControllerRevision
	// Revision is the number the template's revision must carry: the
	// Existing one's when it is the newest revision already, else one
	// more than the newest (a new revision, or an old template that
	// becomes current again, which is how a rollback shows in history).
	Revision int64
}

// Renumber reports whether Existing must be given the number Revision.
func (c Choice) Renumber() bool { return c.Existing != nil && c.Existing.Revision != c.Revision }

// Choose finds the revision of a template whose data is data among
// sorted (as Sort orders them).
func Choose(sorted []*appsv1.ControllerRevision, data []byte) Choice {
	var equal []*appsv1.ControllerRevision
	for _, r := range sorted {
		if EqualData(r.Data.Raw, data) {
			equal = append(equal, r)
		}
	}
	next := Next(sorted)
	if len(equal) == 0 {
		return Choice{Revision: next}
	}
	c := Choice{Existing: equal[len(equal)-1], Duplicates: equal[:len(equal)-1], Revision: next}
	if c.Existing == sorted[len(sorted)-1] {
		c.Revision = c.Existing.Revision
	}
	return c
}
