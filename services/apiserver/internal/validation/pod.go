package validation

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var specPath = field.NewPath("spec")

// Annotations Kubernetes gives a meaning to on pods.
const (
	mirrorPodAnnotation           = corev1.MirrorPodAnnotationKey
	podDeletionCostAnnotation     = "controller.kubernetes.io/pod-deletion-cost"
	seccompPodAnnotation          = corev1.SeccompPodAnnotationKey
	seccompContainerAnnotation    = corev1.SeccompContainerAnnotationKeyPrefix
	appArmorContainerAnnotation   = corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix
	appArmorRuntimeDefault        = corev1.DeprecatedAppArmorBetaProfileRuntimeDefault
	appArmorUnconfined            = corev1.DeprecatedAppArmorBetaProfileNameUnconfined
	appArmorLocalhostPrefix       = corev1.DeprecatedAppArmorBetaProfileNamePrefix
	seccompRuntimeDefault         = corev1.SeccompProfileRuntimeDefault
	seccompDockerDefault          = corev1.DeprecatedSeccompProfileDockerDefault
	seccompUnconfined             = corev1.SeccompProfileNameUnconfined
	seccompLocalhostProfilePrefix = corev1.SeccompLocalhostProfileNamePrefix
)

func validatePodCreate(pod *corev1.Pod) field.ErrorList {
	errs := validatePodMetaAndSpec(pod)
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

// validatePodMetaAndSpec is what create and update share.
func validatePodMetaAndSpec(pod *corev1.Pod) field.ErrorList {
	errs := validateMeta(&pod.ObjectMeta, true, nameIsDNSSubdomain)
	errs = append(errs, validatePodAnnotations(pod.Annotations, &pod.Spec, metaPath.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&pod.Spec, &pod.ObjectMeta, specPath, true)...)
	if pod.Spec.ServiceAccountName == "" {
		for vi, vol := range pod.Spec.Volumes {
			if vol.Projected == nil {
				continue
			}
			for si, src := range vol.Projected.Sources {
				if src.ServiceAccountToken != nil {
					errs = append(errs, field.Forbidden(specPath.Child("volumes").Index(vi).Child("projected").Child("sources").Index(si).Child("serviceAccountToken"),
						"must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	for i, c := range pod.Spec.Containers {
		errs = append(errs, validateImageWhitespace(c.Image, specPath.Child("containers").Index(i).Child("image"))...)
	}
	for i, c := range pod.Spec.InitContainers {
		errs = append(errs, validateImageWhitespace(c.Image, specPath.Child("initContainers").Index(i).Child("image"))...)
	}
	return errs
}

// validatePodAnnotations checks the annotations that configure the pod.
func validatePodAnnotations(annotations map[string]string, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v, ok := annotations[mirrorPodAnnotation]; ok && spec.NodeName == "" {
		errs = append(errs, field.Invalid(fldPath.Key(mirrorPodAnnotation), v, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if v, ok := annotations[podDeletionCostAnnotation]; ok {
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			errs = append(errs, field.Invalid(fldPath.Key(podDeletionCostAnnotation), v, "must be a 32bit integer"))
		}
	}
	for k, v := range annotations {
		if k == seccompPodAnnotation || strings.HasPrefix(k, seccompContainerAnnotation) {
			errs = append(errs, validateSeccompAnnotation(v, fldPath.Child(k))...)
		}
		if strings.HasPrefix(k, appArmorContainerAnnotation) {
			errs = append(errs, validateAppArmorAnnotation(k, v, spec, fldPath)...)
		}
	}
	return errs
}

func validateSeccompAnnotation(p string, fldPath *field.Path) field.ErrorList {
	switch {
	case p == seccompRuntimeDefault || p == seccompDockerDefault || p == seccompUnconfined:
		return nil
	case strings.HasPrefix(p, seccompLocalhostProfilePrefix):
		return validateLocalDescendingPath(strings.TrimPrefix(p, seccompLocalhostProfilePrefix), fldPath)
	}
	return field.ErrorList{field.Invalid(fldPath, p, "must be a valid seccomp profile")}
}

func validateAppArmorAnnotation(key, profile string, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	container := strings.TrimPrefix(key, appArmorContainerAnnotation)
	if !podSpecHasContainer(spec, container) {
		errs = append(errs, field.Invalid(fldPath.Key(key), container, "container not found"))
	}
	if profile != "" && profile != appArmorRuntimeDefault && profile != appArmorUnconfined && !strings.HasPrefix(profile, appArmorLocalhostPrefix) {
		errs = append(errs, field.Invalid(fldPath.Key(key), profile, fmt.Sprintf("invalid AppArmor profile name: %q", profile)))
	}
	return errs
}

func podSpecHasContainer(spec *corev1.PodSpec, name string) bool {
	for _, c := range spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// validatePodAnnotationUpdates forbids adding, changing or removing the
// mirror pod and AppArmor annotations.
func validatePodAnnotationUpdates(pod, old *corev1.Pod, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, oldVal := range old.Annotations {
		if newVal, ok := pod.Annotations[k]; ok && newVal == oldVal {
			continue
		}
		if strings.HasPrefix(k, appArmorContainerAnnotation) {
			errs = append(errs, field.Forbidden(fldPath.Key(k), "may not remove or update AppArmor annotations"))
		}
		if k == mirrorPodAnnotation {
			errs = append(errs, field.Forbidden(fldPath.Key(k), "may not remove or update mirror pod annotation"))
		}
	}
	for k := range pod.Annotations {
		if _, ok := old.Annotations[k]; ok {
			continue
		}
		if strings.HasPrefix(k, appArmorContainerAnnotation) {
			errs = append(errs, field.Forbidden(fldPath.Key(k), "may not add AppArmor annotations"))
		}
		if k == mirrorPodAnnotation {
			errs = append(errs, field.Forbidden(fldPath.Key(k), "may not add mirror pod annotation"))
		}
	}
	return append(errs, validatePodAnnotations(pod.Annotations, &pod.Spec, fldPath)...)
}

// updatablePodSpecFields are named in the error for other spec changes.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// validatePodUpdate allows, in the spec, only new images, a lower active
// deadline, added tolerations and removed scheduling gates.
func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodMetaAndSpec(pod)...)
	errs = append(errs, validatePodAnnotationUpdates(pod, old, metaPath.Child("annotations"))...)

	cErrs, stop := validateContainerUpdates(pod.Spec.Containers, old.Spec.Containers, specPath.Child("containers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}
	cErrs, stop = validateContainerUpdates(pod.Spec.InitContainers, old.Spec.InitContainers, specPath.Child("initContainers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}
	adErrs, stop := validateActiveDeadlineUpdate(pod.Spec.ActiveDeadlineSeconds, old.Spec.ActiveDeadlineSeconds)
	errs = append(errs, adErrs...)
	if stop {
		return errs
	}
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	if apiequality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return errs
	}
	munged := mungePodSpec(&pod.Spec, &old.Spec)
	if !apiequality.Semantic.DeepEqual(munged, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v",
			strings.Join(updatablePodSpecFields, ","), objectDiff(old.Spec, munged))))
	}
	return errs
}

// mungePodSpec returns the new spec with the fields a pod update may change
// set back to their old values.
func mungePodSpec(spec, old *corev1.PodSpec) corev1.PodSpec {
	m := *spec.DeepCopy()
	for i := range m.Containers {
		m.Containers[i].Image = old.Containers[i].Image
	}
	for i := range m.InitContainers {
		m.InitContainers[i].Image = old.InitContainers[i].Image
	}
	m.ActiveDeadlineSeconds = old.ActiveDeadlineSeconds
	m.SchedulingGates = old.SchedulingGates
	m.Tolerations = old.Tolerations
	if old.TerminationGracePeriodSeconds != nil && *old.TerminationGracePeriodSeconds < 0 &&
		m.TerminationGracePeriodSeconds != nil && *m.TerminationGracePeriodSeconds == 1 {
		m.TerminationGracePeriodSeconds = old.TerminationGracePeriodSeconds
	}
	return m
}

func validateContainerUpdates(containers, old []corev1.Container, fldPath *field.Path) (field.ErrorList, bool) {
	if len(containers) != len(old) {
		return field.ErrorList{field.Forbidden(fldPath, "pod updates may not add or remove containers")}, true
	}
	var errs field.ErrorList
	for i, c := range containers {
		if c.Image == "" {
			errs = append(errs, field.Required(fldPath.Index(i).Child("image"), ""))
		}
		errs = append(errs, validateImageWhitespace(c.Image, fldPath.Index(i).Child("image"))...)
	}
	return errs, false
}

// validateActiveDeadlineUpdate allows setting the deadline or lowering it.
func validateActiveDeadlineUpdate(ads, old *int64) (field.ErrorList, bool) {
	p := specPath.Child("activeDeadlineSeconds")
	switch {
	case ads == nil && old != nil:
		return field.ErrorList{field.Invalid(p, ads, "must not update from a positive integer to nil value")}, false
	case ads == nil:
		return nil, false
	case *ads < 0 || *ads > math.MaxInt32:
		return field.ErrorList{field.Invalid(p, *ads, utilvalidation.InclusiveRangeError(0, math.MaxInt32))}, true
	case old != nil && *old < *ads:
		return field.ErrorList{field.Invalid(p, *ads, "must be less than or equal to previous value")}, true
	}
	return nil, false
}

// validateOnlyAddedTolerations allows new tolerations and changes of an
// existing one's tolerationSeconds only.
func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			oc := o
			oc.TolerationSeconds = t.TolerationSeconds
			if reflect.DeepEqual(oc, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(tolerations, fldPath)
}

func validateOnlyDeletedSchedulingGates(gates, old []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	oldNames := sets.New[string]()
	for _, g := range old {
		oldNames.Insert(g.Name)
	}
	var errs field.ErrorList
	for i, g := range gates {
		if !oldNames.Has(g.Name) {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"),
				fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// validatePodStatusUpdate checks a status write: the node may not change
// here, IPs must be valid, QoS class is fixed and terminated containers
// that will not restart stay terminated.
func validatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodAnnotationUpdates(pod, old, metaPath.Child("annotations"))...)
	errs = append(errs, validatePodConditions(pod.Status.Conditions, metaPath.Child("conditions"))...)
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if n := pod.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		errs = append(errs, validateName(nameIsDNSSubdomain, n, statusPath.Child("nominatedNodeName"))...)
	}
	errs = append(errs, validateImmutable(pod.Status.QOSClass, old.Status.QOSClass, statusPath.Child("qosClass"))...)
	errs = append(errs, validateContainerStateTransition(pod.Status.ContainerStatuses, old.Status.ContainerStatuses,
		old.Spec.RestartPolicy, nil, statusPath.Child("containerStatuses"))...)
	errs = append(errs, validateContainerStateTransition(pod.Status.InitContainerStatuses, old.Status.InitContainerStatuses,
		old.Spec.RestartPolicy, old.Spec.InitContainers, statusPath.Child("initContainerStatuses"))...)
	errs = append(errs, validateContainerStateTransition(pod.Status.EphemeralContainerStatuses, old.Status.EphemeralContainerStatuses,
		corev1.RestartPolicyNever, nil, statusPath.Child("ephemeralContainerStatuses"))...)
	podIPs := make([]string, len(pod.Status.PodIPs))
	for i, ip := range pod.Status.PodIPs {
		podIPs[i] = ip.IP
	}
	errs = append(errs, validateIPList(podIPs, pod.Status.PodIPs, statusPath.Child("podIPs"))...)
	if len(pod.Status.HostIPs) > 0 {
		hostIPs := make([]string, len(pod.Status.HostIPs))
		for i, ip := range pod.Status.HostIPs {
			hostIPs[i] = ip.IP
		}
		if pod.Status.HostIP != hostIPs[0] {
			errs = append(errs, field.Invalid(statusPath.Child("hostIPs").Index(0).Child("ip"), hostIPs[0], "must be equal to `hostIP`"))
		}
		errs = append(errs, validateIPList(hostIPs, pod.Status.HostIPs, statusPath.Child("hostIPs"))...)
	}
	return errs
}

var systemPodConditions = sets.New(corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized)

// validatePodConditions checks custom condition types. Kubernetes reports
// them under metadata.conditions, with a capital Type.
func validatePodConditions(conditions []corev1.PodCondition, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range conditions {
		if !systemPodConditions.Has(c.Type) {
			errs = append(errs, validateQualifiedName(string(c.Type), fldPath.Index(i).Child("Type"))...)
		}
	}
	return errs
}

// validateContainerStateTransition forbids a terminated container that
// will not be restarted from leaving the terminated state. For init
// containers, restartable ones (sidecars) may.
func validateContainerStateTransition(statuses, old []corev1.ContainerStatus, policy corev1.RestartPolicy, inits []corev1.Container, fldPath *field.Path) field.ErrorList {
	if policy == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, o := range old {
		t := o.State.Terminated
		if t == nil || (t.ExitCode != 0 && policy == corev1.RestartPolicyOnFailure) || isRestartableInit(o.Name, inits) {
			continue
		}
		for _, s := range statuses {
			if s.Name == o.Name && s.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

func isRestartableInit(name string, inits []corev1.Container) bool {
	for _, c := range inits {
		if c.Name == name {
			return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
	}
	return false
}

// validateIPList checks a pod's or a node's addresses: valid, one per IP
// family, no repeats. value is what error messages show for the whole list.
func validateIPList(ips []string, value any, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, utilvalidation.IsValidIP(fldPath.Index(i), ip)...)
	}
	if len(ips) < 2 || len(errs) > 0 {
		return errs
	}
	if len(ips) > 2 || !isDualStack(ips) {
		errs = append(errs, field.Invalid(fldPath, value, "may specify no more than one IP for each IP family"))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), reflect.ValueOf(value).Index(i).Interface()))
		}
		seen.Insert(ip)
	}
	return errs
}

// isDualStack reports whether ips hold addresses of both families.
func isDualStack(ips []string) bool {
	v4, v6 := false, false
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		if a.Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	return v4 && v6
}

// validatePodTemplateSpec checks the pod template of a workload.
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	errs := validateLabels(t.Labels, fldPath.Child("labels"))
	errs = append(errs, validateAnnotations(t.Annotations, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodAnnotations(t.Annotations, &t.Spec, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, nil, fldPath.Child("spec"), false)...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}
