package interpodaffinity

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
)

// affinityTerm is a parsed corev1.PodAffinityTerm: which pods it selects
// and the topology it is about.
type affinityTerm struct {
	// namespaces are the namespaces the term lists, or the owning pod's
	// namespace when it lists none and has no namespaceSelector; the
	// namespaces matching a resolved namespaceSelector are added.
	namespaces sets.Set[string]
	// allNamespaces is set by an empty namespaceSelector ({}).
	allNamespaces bool
	// nsSelector is a non-empty namespaceSelector still to be matched
	// against namespace labels; nil when there is none (or once resolved).
	nsSelector labels.Selector
	// selector selects the pods by label (a nil labelSelector selects
	// none), with the term's matchLabelKeys and mismatchLabelKeys applied.
	selector    labels.Selector
	topologyKey string
}

// weightedTerm is a parsed corev1.WeightedPodAffinityTerm.
type weightedTerm struct {
	affinityTerm
	weight int32
}

// newAffinityTerm parses term, a term of pod's.
func newAffinityTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) (affinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return affinityTerm{}, err
	}
	if sel, err = applyLabelKeys(sel, term, pod.Labels); err != nil {
		return affinityTerm{}, err
	}
	t := affinityTerm{namespaces: sets.New[string](), selector: sel, topologyKey: term.TopologyKey}
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		t.namespaces.Insert(pod.Namespace)
	} else {
		t.namespaces.Insert(term.Namespaces...)
	}
	if term.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
		if err != nil {
			return affinityTerm{}, err
		}
		if nsSel.Empty() {
			t.allNamespaces = true
		} else {
			t.nsSelector = nsSel
		}
	}
	return t, nil
}

// applyLabelKeys adds to sel, for each of the term's matchLabelKeys
// (mismatchLabelKeys) that pod carries, the requirement that the label
// has (has not) pod's value. Kubernetes' API server folds these keys into
// the labelSelector when it creates the pod; doing it again here is
// harmless and covers an API server that does not. As there, a term
// without a labelSelector stays matching nothing.
func applyLabelKeys(sel labels.Selector, term *corev1.PodAffinityTerm, podLabels map[string]string) (labels.Selector, error) {
	if term.LabelSelector == nil {
		return sel, nil
	}
	var reqs []labels.Requirement
	add := func(keys []string, op selection.Operator) error {
		for _, k := range keys {
			v, ok := podLabels[k]
			if !ok {
				continue
			}
			r, err := labels.NewRequirement(k, op, []string{v})
			if err != nil {
				return err
			}
			reqs = append(reqs, *r)
		}
		return nil
	}
	if err := add(term.MatchLabelKeys, selection.In); err != nil {
		return nil, err
	}
	if err := add(term.MismatchLabelKeys, selection.NotIn); err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return sel, nil
	}
	return sel.Add(reqs...), nil
}

// matches reports whether the term selects pod; nsLabels are the labels
// of pod's namespace, nil when unknown.
func (t *affinityTerm) matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	inNamespace := t.allNamespaces || t.namespaces.Has(pod.Namespace) ||
		(t.nsSelector != nil && nsLabels != nil && t.nsSelector.Matches(nsLabels))
	return inNamespace && t.selector.Matches(labels.Set(pod.Labels))
}

// resolveNamespaces turns a non-empty namespaceSelector into the names of
// the namespaces it matches now, as Kubernetes does for the incoming
// pod's terms: they are then matched against other pods without looking
// up those pods' namespaces.
func (t *affinityTerm) resolveNamespaces(nsl NamespaceLister) error {
	if t.nsSelector == nil || nsl == nil {
		return nil
	}
	nss, err := nsl.List(t.nsSelector)
	if err != nil {
		return err
	}
	for _, ns := range nss {
		t.namespaces.Insert(ns.Name)
	}
	t.nsSelector = nil
	return nil
}

// matchesAll reports whether pod matches every term (false for none).
func matchesAll(terms []affinityTerm, pod *corev1.Pod, nsLabels labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(pod, nsLabels) {
			return false
		}
	}
	return true
}

// podTerms are a pod's parsed inter-pod affinity terms.
type podTerms struct {
	requiredAffinity      []affinityTerm
	requiredAntiAffinity  []affinityTerm
	preferredAffinity     []weightedTerm
	preferredAntiAffinity []weightedTerm
}

// parsePodTerms parses all of pod's terms; the error lists every list
// that failed (as Kubernetes' "parsing pod: ..." message does).
func parsePodTerms(pod *corev1.Pod) (podTerms, error) {
	var pt podTerms
	var errs []error
	var err error
	if pt.requiredAffinity, err = requiredTerms(pod, requiredAffinityTerms(pod)); err != nil {
		errs = append(errs, fmt.Errorf("requiredAffinityTerms: %w", err))
	}
	if pt.requiredAntiAffinity, err = requiredTerms(pod, requiredAntiAffinityTerms(pod)); err != nil {
		errs = append(errs, fmt.Errorf("requiredAntiAffinityTerms: %w", err))
	}
	if pt.preferredAffinity, err = preferredTerms(pod, preferredAffinityTerms(pod)); err != nil {
		errs = append(errs, fmt.Errorf("preferredAffinityTerms: %w", err))
	}
	if pt.preferredAntiAffinity, err = preferredTerms(pod, preferredAntiAffinityTerms(pod)); err != nil {
		errs = append(errs, fmt.Errorf("preferredAntiAffinityTerms: %w", err))
	}
	return pt, utilerrors.NewAggregate(errs)
}

// requiredTerms parses terms of pod's; nil and the error if any fails.
func requiredTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm) ([]affinityTerm, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	out := make([]affinityTerm, 0, len(terms))
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// preferredTerms parses weighted terms of pod's; nil and the error if any
// fails.
func preferredTerms(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm) ([]weightedTerm, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	out := make([]weightedTerm, 0, len(terms))
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			return nil, err
		}
		out = append(out, weightedTerm{affinityTerm: t, weight: terms[i].Weight})
	}
	return out, nil
}

// An existing pod whose terms do not parse has, as in Kubernetes, no
// terms of that kind: the errors below are dropped on purpose (the pod
// was admitted; the incoming pod is not at fault).

func existingRequiredAffinity(pod *corev1.Pod) []affinityTerm {
	t, _ := requiredTerms(pod, requiredAffinityTerms(pod))
	return t
}

func existingRequiredAntiAffinity(pod *corev1.Pod) []affinityTerm {
	t, _ := requiredTerms(pod, requiredAntiAffinityTerms(pod))
	return t
}

func existingPreferredAffinity(pod *corev1.Pod) []weightedTerm {
	t, _ := preferredTerms(pod, preferredAffinityTerms(pod))
	return t
}

func existingPreferredAntiAffinity(pod *corev1.Pod) []weightedTerm {
	t, _ := preferredTerms(pod, preferredAntiAffinityTerms(pod))
	return t
}

func requiredAffinityTerms(pod *corev1.Pod) []corev1.PodAffinityTerm {
	if a := pod.Spec.Affinity; a != nil && a.PodAffinity != nil {
		return a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

func requiredAntiAffinityTerms(pod *corev1.Pod) []corev1.PodAffinityTerm {
	if a := pod.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		return a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

func preferredAffinityTerms(pod *corev1.Pod) []corev1.WeightedPodAffinityTerm {
	if a := pod.Spec.Affinity; a != nil && a.PodAffinity != nil {
		return a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

func preferredAntiAffinityTerms(pod *corev1.Pod) []corev1.WeightedPodAffinityTerm {
	if a := pod.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		return a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}
