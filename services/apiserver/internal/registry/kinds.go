package registry

import (
	"context"
	"maps"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	clientv3 "go.etcd.io/etcd/client/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func (reg *Registry) hooksFor(res *api.Resource) hooks {
	switch res.GVR().GroupResource().String() {
	case "pods":
		return hooks{prepareCreate: reg.preparePod, admit: reg.admitPodPriority, admitUpdate: keepPodPriority,
			gracePeriod: podGracePeriod}
	case "priorityclasses.scheduling.k8s.io":
		return hooks{prepareCreate: preparePriorityClass, validateAdmission: reg.admitPriorityClass}
	case "persistentvolumes":
		return hooks{prepareCreate: preparePersistentVolume, prepareStatus: stampVolumePhase}
	case "persistentvolumeclaims":
		return hooks{prepareCreate: prepareClaim, admit: reg.admitClaim, validateAdmission: reg.admitClaimResize}
	case "ingresses.networking.k8s.io":
		return hooks{admit: reg.admitIngress}
	case "services":
		return hooks{
			allocate:      reg.services.prepareService,
			prepareUpdate: reg.services.prepareServiceUpdate,
			afterUpdate:   reg.services.releaseUnused,
			releaseOps:    func(obj runtime.Object) []clientv3.Op { return reg.services.releaseOps(obj.(*corev1.Service)) },
		}
	case "namespaces":
		return hooks{prepareCreate: prepareNamespace, prepareUpdate: keepNamespaceFinalizers, beginDelete: beginNamespaceDelete}
	case "daemonsets.apps":
		return hooks{prepareCreate: prepareDaemonSet, prepareUpdate: bumpTemplateGeneration}
	case "certificatesigningrequests.certificates.k8s.io":
		return csrHooks()
	case "jobs.batch":
		return hooks{prepareCreate: prepareJob}
	case "endpoints":
		return hooks{createOnUpdate: true}
	case "endpointslices.discovery.k8s.io":
		return hooks{
			prepareCreate: func(obj runtime.Object) { obj.(*discoveryv1.EndpointSlice).Generation = 1 },
			prepareUpdate: bumpEndpointSliceGeneration,
		}
	case "secrets":
		return hooks{
			prepareCreate: mergeStringData,
			prepareUpdate: func(_ context.Context, obj, _ runtime.Object) error { mergeStringData(obj); return nil },
		}
	}
	return hooks{}
}

// preparePod sets what the API server sets on a new pod: Pending status
// with its QoS class, the default service account, and the tolerations
// that let a pod ride out a short node outage (DefaultTolerationSeconds).
func (reg *Registry) preparePod(obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(pod)}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	addDefaultToleration(pod, corev1.TaintNodeNotReady, reg.notReadySeconds)
	addDefaultToleration(pod, corev1.TaintNodeUnreachable, reg.unreachableSeconds)
}

func addDefaultToleration(pod *corev1.Pod, key string, seconds int64) {
	for _, t := range pod.Spec.Tolerations {
		if (t.Key == key || t.Key == "" && t.Operator == corev1.TolerationOpExists) &&
			(t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
			return
		}
	}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
		Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds,
	})
}

// qosClass is Guaranteed when every container has equal cpu and memory
// requests and limits, BestEffort when none has any, else Burstable.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	any, guaranteed := false, true
	containers := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range containers {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[name]
			lim, hasLim := c.Resources.Limits[name]
			if hasReq && !req.IsZero() || hasLim && !lim.IsZero() {
				any = true
			}
			if !hasLim || !hasReq || req.Cmp(lim) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// podGracePeriod: a pod running on a node is deleted gracefully; the node
// agent confirms the deletion once its containers have stopped. Pods not
// yet scheduled, or finished, go at once, as does a grace period of 0.
func podGracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) (int64, bool) {
	pod := obj.(*corev1.Pod)
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0, false
	}
	if grace <= 0 {
		return 0, false
	}
	return grace, true
}

// prepareNamespace: a namespace is held by the "kubernetes" finalizer
// until the namespace controller has emptied it.
func prepareNamespace(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes}
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
}

// keepNamespaceFinalizers: an update leaves spec.finalizers as they are;
// only namespaces/finalize changes them.
func keepNamespaceFinalizers(_ context.Context, obj, old runtime.Object) error {
	obj.(*corev1.Namespace).Spec.Finalizers = old.(*corev1.Namespace).Spec.Finalizers
	return nil
}

func beginNamespaceDelete(obj runtime.Object) bool {
	ns := obj.(*corev1.Namespace)
	ns.Status.Phase = corev1.NamespaceTerminating
	return len(ns.Spec.Finalizers) > 0
}

// prepareJob gives a job without a manual selector the selector and
// template labels Kubernetes generates from its uid.
func prepareJob(obj runtime.Object) {
	job := obj.(*batchv1.Job)
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		return
	}
	uid := string(job.UID)
	set := map[string]string{
		"batch.kubernetes.io/controller-uid": uid,
		"batch.kubernetes.io/job-name":       job.Name,
		"controller-uid":                     uid,
		"job-name":                           job.Name,
	}
	// A job without labels of its own shows its template's (defaulting
	// copied them): it shows the generated ones too, as in Kubernetes.
	copied := len(job.Labels) > 0 && maps.Equal(job.Labels, job.Spec.Template.Labels)
	defer func() {
		if copied {
			job.Labels = maps.Clone(job.Spec.Template.Labels)
		}
	}()
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	for k, v := range set {
		job.Spec.Template.Labels[k] = v
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": uid}}
	}
}

// keepAllocations copies what the allocator gave a Service when an update
// leaves it out (kubectl replace of an edited manifest), as Kubernetes
// does.
func keepAllocations(svc, prev *corev1.Service) {
	if svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIP = prev.Spec.ClusterIP
		svc.Spec.ClusterIPs = prev.Spec.ClusterIPs
	}
	if len(svc.Spec.IPFamilies) == 0 {
		svc.Spec.IPFamilies = prev.Spec.IPFamilies
	}
	if svc.Spec.IPFamilyPolicy == nil {
		svc.Spec.IPFamilyPolicy = prev.Spec.IPFamilyPolicy
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 || !needsNodePorts(svc) {
			continue
		}
		for _, q := range prev.Spec.Ports {
			if q.Port == p.Port && q.Protocol == p.Protocol {
				p.NodePort = q.NodePort
			}
		}
	}
}

// mergeStringData moves a Secret's write-only stringData into data, as
// Kubernetes stores it (stringData wins on a key in both).
func mergeStringData(obj runtime.Object) {
	s := obj.(*corev1.Secret)
	if len(s.StringData) == 0 {
		s.StringData = nil
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// bumpEndpointSliceGeneration gives an EndpointSlice a new generation when
// anything but its metadata changed, or its labels did, as Kubernetes
// does: the EndpointSlice controller compares generations to tell a
// cache that has not seen its own writes yet.
func bumpEndpointSliceGeneration(_ context.Context, obj, old runtime.Object) error {
	next, cur := obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice)
	if next.AddressType != cur.AddressType || !equality.Semantic.DeepEqual(next.Endpoints, cur.Endpoints) ||
		!equality.Semantic.DeepEqual(next.Ports, cur.Ports) || !maps.Equal(next.Labels, cur.Labels) {
		next.Generation = cur.Generation + 1
	}
	return nil
}
