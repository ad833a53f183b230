package statefulset

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// newPod returns set's pod of ordinal made from tmpl (the template of
// revision): its stable name, identity labels, hostname and subdomain
// (its DNS name through the headless service spec.serviceName), and a
// volume per volumeClaimTemplate referring to its claim.
func newPod(set *appsv1.StatefulSet, tmpl *corev1.PodTemplateSpec, ordinal int, revision string) *corev1.Pod {
	pod := controller.PodFromTemplate(tmpl, set, setKind)
	pod.GenerateName = ""
	pod.Name = podName(set.Name, ordinal)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = pod.Name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(ordinal)
	pod.Labels[appsv1.StatefulSetRevisionLabel] = revision
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName

	// Claim volumes come first, in template order; a template volume of
	// the same name gives way.
	claims := claimsFor(set, ordinal)
	if len(claims) == 0 {
		return pod
	}
	volumes := make([]corev1.Volume, 0, len(claims)+len(pod.Spec.Volumes))
	names := map[string]bool{}
	for i, c := range claims {
		name := set.Spec.VolumeClaimTemplates[i].Name
		names[name] = true
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name},
		}})
	}
	for _, v := range pod.Spec.Volumes {
		if !names[v.Name] {
			volumes = append(volumes, v)
		}
	}
	pod.Spec.Volumes = volumes
	return pod
}
