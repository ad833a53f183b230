package validation

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxSecretSize bounds the data of a secret or a config map.
const maxSecretSize = 1 * 1024 * 1024

const immutableWhenSetErrorMsg = "field is immutable when `immutable` is set"

// Namespaces.

func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := validateMeta(&ns.ObjectMeta, false, namespaceNameFunc)
	finalizersPath := field.NewPath("spec", "finalizers")
	for _, f := range ns.Spec.Finalizers {
		errs = append(errs, apimachineryvalidation.ValidateFinalizerName(string(f), finalizersPath)...)
		errs = append(errs, validateKubeFinalizerName(string(f), finalizersPath)...)
	}
	return errs
}

func validateNamespaceUpdate(ns, old *corev1.Namespace) field.ErrorList {
	return append(validateNamespace(ns), validateMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)...)
}

// validateNamespaceStatusUpdate ties the phase to the deletion timestamp.
// The capital P of the path is Kubernetes'.
func validateNamespaceStatusUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
	phasePath := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(phasePath, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(phasePath, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

// Nodes.

func validateNode(node *corev1.Node) field.ErrorList {
	errs := validateMeta(&node.ObjectMeta, false, nameIsDNSSubdomain)
	// Kubernetes reports taints under metadata.
	errs = append(errs, validateNodeTaints(node.Spec.Taints, metaPath.Child("taints"))...)
	errs = append(errs, validateNodeResources(node)...)
	if len(node.Spec.PodCIDRs) == 0 {
		return errs
	}
	cidrsPath := field.NewPath("spec", "podCIDRs")
	for i, cidr := range node.Spec.PodCIDRs {
		errs = append(errs, utilvalidation.IsValidCIDR(cidrsPath.Index(i), cidr)...)
	}
	if len(node.Spec.PodCIDRs) > 1 {
		if len(node.Spec.PodCIDRs) > 2 || !isDualStackCIDRs(node.Spec.PodCIDRs) {
			errs = append(errs, field.Invalid(cidrsPath, node.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
		}
		seen := sets.New[string]()
		for i, cidr := range node.Spec.PodCIDRs {
			if seen.Has(cidr) {
				errs = append(errs, field.Duplicate(cidrsPath.Index(i), cidr))
			}
			seen.Insert(cidr)
		}
	}
	return errs
}

func isDualStackCIDRs(cidrs []string) bool {
	ips := make([]string, 0, len(cidrs))
	for _, c := range cidrs {
		ip, _, _ := strings.Cut(c, "/")
		ips = append(ips, ip)
	}
	return isDualStack(ips)
}

func validateNodeResources(node *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for k, v := range node.Status.Capacity {
		errs = append(errs, validateResourceQuantity(k, v, field.NewPath("status", "capacity", string(k)))...)
	}
	for k, v := range node.Status.Allocatable {
		errs = append(errs, validateResourceQuantity(k, v, field.NewPath("status", "allocatable", string(k)))...)
	}
	return errs
}

func validateNodeTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	unique := map[corev1.TaintEffect]sets.Set[string]{}
	for i, t := range taints {
		p := fldPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		if msgs := utilvalidation.IsValidLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		if t.Effect == "" {
			errs = append(errs, field.Required(p.Child("effect"), ""))
		} else {
			errs = append(errs, validateTaintEffect(t.Effect, p.Child("effect"))...)
		}
		if unique[t.Effect].Has(t.Key) {
			dup := field.Duplicate(p, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if unique[t.Effect] == nil {
			unique[t.Effect] = sets.New[string]()
		}
		unique[t.Effect].Insert(t.Key)
	}
	return errs
}

const podCIDRImmutableErrorMsg = "node updates may not change podCIDR except from \"\" to valid"

// validateNodeUpdate lets podCIDRs and providerID be set once.
func validateNodeUpdate(node, old *corev1.Node) field.ErrorList {
	errs := validateNode(node)
	errs = append(errs, validateMetaUpdate(&node.ObjectMeta, &old.ObjectMeta)...)
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range node.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	cidrsPath := field.NewPath("spec", "podCIDRs")
	if len(old.Spec.PodCIDRs) > 0 {
		if len(old.Spec.PodCIDRs) != len(node.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(cidrsPath, podCIDRImmutableErrorMsg))
		} else {
			for i, cidr := range old.Spec.PodCIDRs {
				if cidr != node.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(cidrsPath, podCIDRImmutableErrorMsg))
				}
			}
		}
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != node.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	if node.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

// Config maps, secrets and service accounts.

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := validateMeta(&cm.ObjectMeta, true, nameIsDNSSubdomain)
	size := 0
	for key, value := range cm.Data {
		p := field.NewPath("data").Key(key)
		errs = append(errs, invalidEach(p, key, utilvalidation.IsConfigMapKey(key))...)
		if _, ok := cm.BinaryData[key]; ok {
			errs = append(errs, field.Invalid(p, key, "duplicate of key present in binaryData"))
		}
		size += len(value)
	}
	for key, value := range cm.BinaryData {
		errs = append(errs, invalidEach(field.NewPath("binaryData").Key(key), key, utilvalidation.IsConfigMapKey(key))...)
		size += len(value)
	}
	if size > maxSecretSize {
		// The empty path stands for the whole object.
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxSecretSize))
	}
	return errs
}

func validateConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	errs := validateMetaUpdate(&cm.ObjectMeta, &old.ObjectMeta)
	if deref(old.Immutable, false) {
		if !deref(cm.Immutable, false) {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableWhenSetErrorMsg))
		}
		if !reflect.DeepEqual(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), immutableWhenSetErrorMsg))
		}
		if !reflect.DeepEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), immutableWhenSetErrorMsg))
		}
	}
	return append(errs, validateConfigMap(cm)...)
}

// secretData is the data of a secret with stringData merged in, as the
// API server stores it.
func secretData(s *corev1.Secret) map[string][]byte {
	if len(s.StringData) == 0 {
		return s.Data
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return data
}

func validateSecret(s *corev1.Secret) field.ErrorList {
	errs := validateMeta(&s.ObjectMeta, true, nameIsDNSSubdomain)
	dataPath := field.NewPath("data")
	data := secretData(s)
	size := 0
	for key, value := range data {
		errs = append(errs, invalidEach(dataPath.Key(key), key, utilvalidation.IsConfigMapKey(key))...)
		size += len(value)
	}
	if size > maxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", maxSecretSize))
	}
	return append(errs, validateSecretType(s, data, dataPath)...)
}

// validateSecretType checks the keys each built-in secret type requires.
func validateSecretType(s *corev1.Secret, data map[string][]byte, dataPath *field.Path) field.ErrorList {
	requireKeys := func(keys ...string) field.ErrorList {
		var errs field.ErrorList
		for _, k := range keys {
			if _, ok := data[k]; !ok {
				errs = append(errs, field.Required(dataPath.Key(k), ""))
			}
		}
		return errs
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			return field.ErrorList{field.Required(metaPath.Child("annotations").Key(corev1.ServiceAccountNameKey), "")}
		}
	case corev1.SecretTypeDockercfg:
		return validateJSONKey(data, corev1.DockerConfigKey, dataPath)
	case corev1.SecretTypeDockerConfigJson:
		return validateJSONKey(data, corev1.DockerConfigJsonKey, dataPath)
	case corev1.SecretTypeBasicAuth:
		_, user := data[corev1.BasicAuthUsernameKey]
		_, pass := data[corev1.BasicAuthPasswordKey]
		if !user && !pass {
			return requireKeys(corev1.BasicAuthUsernameKey, corev1.BasicAuthPasswordKey)
		}
	case corev1.SecretTypeSSHAuth:
		if len(data[corev1.SSHAuthPrivateKey]) == 0 {
			return field.ErrorList{field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), "")}
		}
	case corev1.SecretTypeTLS:
		return requireKeys(corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	return nil
}

func validateJSONKey(data map[string][]byte, key string, dataPath *field.Path) field.ErrorList {
	raw, ok := data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(raw, &map[string]any{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

func validateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	errs := validateMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateImmutable(s.Type, old.Type, field.NewPath("type"))...)
	if deref(old.Immutable, false) {
		if !deref(s.Immutable, false) {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableWhenSetErrorMsg))
		}
		if !reflect.DeepEqual(secretData(s), secretData(old)) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), immutableWhenSetErrorMsg))
		}
	}
	return append(errs, validateSecret(s)...)
}

func validateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	return validateMeta(&sa.ObjectMeta, true, nameIsDNSSubdomain)
}

func validateServiceAccountUpdate(sa, old *corev1.ServiceAccount) field.ErrorList {
	return append(validateMetaUpdate(&sa.ObjectMeta, &old.ObjectMeta), validateServiceAccount(sa)...)
}

// Events.

// Limits on the fields of events that carry an eventTime.
const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

// validateEvent applies the core/v1 rules for events. Their names need only
// be valid path segments; the rest is checked only when the event itself
// passes, as kube-apiserver does.
func validateEvent(ev *corev1.Event) field.ErrorList {
	if errs := validateLegacyEvent(ev); len(errs) > 0 {
		return errs
	}
	return validateMeta(&ev.ObjectMeta, true, nameIsPathSegment)
}

func validateEventUpdate(ev, old *corev1.Event) field.ErrorList {
	return append(validateEvent(ev), validateMetaUpdate(&ev.ObjectMeta, &old.ObjectMeta)...)
}

// validateLegacyEvent checks that the event's namespace agrees with its
// involved object's and, for events with an eventTime, the reporting fields.
func validateLegacyEvent(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	involvedNS := ev.InvolvedObject.Namespace
	if ev.EventTime.Time.Equal(time.Time{}) {
		switch {
		case involvedNS == "" && ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault,
			involvedNS != "" && ev.Namespace != involvedNS:
			errs = append(errs, field.Invalid(nsPath, involvedNS, "does not match event.namespace"))
		}
	} else {
		if involvedNS == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, involvedNS, "does not match event.namespace"))
		}
		errs = append(errs, validateEventReporting(ev)...)
	}
	return append(errs, validateDNS1123Subdomain(ev.Namespace, field.NewPath("namespace"))...)
}

func validateEventReporting(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if ev.ReportingController == "" {
		errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
	}
	errs = append(errs, validateQualifiedName(ev.ReportingController, field.NewPath("reportingController"))...)
	for _, f := range []struct {
		name     string
		value    string
		limit    int
		required bool
	}{
		{"reportingInstance", ev.ReportingInstance, reportingInstanceLengthLimit, true},
		{"action", ev.Action, actionLengthLimit, true},
		{"reason", ev.Reason, reasonLengthLimit, true},
		{"message", ev.Message, noteLengthLimit, false},
	} {
		p := field.NewPath(f.name)
		if f.required && f.value == "" {
			errs = append(errs, field.Required(p, ""))
		}
		if len(f.value) > f.limit {
			errs = append(errs, field.Invalid(p, "", fmt.Sprintf("can have at most %v characters", f.limit)))
		}
	}
	return errs
}
