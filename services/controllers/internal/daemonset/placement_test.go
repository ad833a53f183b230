package daemonset

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func withSpec(f func(*corev1.PodSpec)) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) { f(&ds.Spec.Template.Spec) }
}

func requiredTerm(term corev1.NodeSelectorTerm) func(*appsv1.DaemonSet) {
	return withSpec(func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}},
		}}
	})
}

func TestShouldRun(t *testing.T) {
	req := func(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	for _, tc := range []struct {
		name           string
		ds             *appsv1.DaemonSet
		node           *corev1.Node
		wantRun, wantK bool
	}{
		{"plain node", daemonSet(), node("n1"), true, true},
		{"nodeSelector matches", daemonSet(withSpec(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"disk": "ssd"} })),
			node("n1", label("disk", "ssd")), true, true},
		{"nodeSelector does not match", daemonSet(withSpec(func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"disk": "ssd"} })),
			node("n1", label("disk", "hdd")), false, false},
		{"template nodeName elsewhere", daemonSet(withSpec(func(s *corev1.PodSpec) { s.NodeName = "n2" })), node("n1"), false, false},
		{"affinity In matches", daemonSet(requiredTerm(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("zone", corev1.NodeSelectorOpIn, "a", "b")}})),
			node("n1", label("zone", "b")), true, true},
		{"affinity NotIn excludes", daemonSet(requiredTerm(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("zone", corev1.NodeSelectorOpNotIn, "b")}})),
			node("n1", label("zone", "b")), false, false},
		{"affinity Gt", daemonSet(requiredTerm(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("cores", corev1.NodeSelectorOpGt, "4")}})),
			node("n1", label("cores", "8")), true, true},
		{"affinity DoesNotExist", daemonSet(requiredTerm(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{req("gpu", corev1.NodeSelectorOpDoesNotExist)}})),
			node("n1", label("gpu", "yes")), false, false},
		{"matchFields on the node name", daemonSet(requiredTerm(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req("metadata.name", corev1.NodeSelectorOpIn, "n1")}})),
			node("n1"), true, true},
		{"matchFields on another name", daemonSet(requiredTerm(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{req("metadata.name", corev1.NodeSelectorOpIn, "n2")}})),
			node("n1"), false, false},
		{"empty term matches nothing", daemonSet(requiredTerm(corev1.NodeSelectorTerm{})), node("n1"), false, false},
		{"untolerated NoSchedule taint: no new pod, the old one stays", daemonSet(),
			node("n1", taint("dedicated", corev1.TaintEffectNoSchedule)), false, true},
		{"untolerated NoExecute taint: none at all", daemonSet(), node("n1", taint("dedicated", corev1.TaintEffectNoExecute)), false, false},
		{"PreferNoSchedule does not matter", daemonSet(), node("n1", taint("dedicated", corev1.TaintEffectPreferNoSchedule)), true, true},
		{"tolerated taint", daemonSet(withSpec(func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "", Effect: corev1.TaintEffectNoSchedule}}
		})), node("n1", taint("dedicated", corev1.TaintEffectNoSchedule)), true, true},
		{"not-ready and unreachable are tolerated by daemons", daemonSet(),
			node("n1", taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute), taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)), true, true},
		{"cordoned and under pressure: still placed", daemonSet(),
			node("n1", taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule), taint(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule),
				taint(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule), taint(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)), true, true},
		{"unreachable NoSchedule: not placed, kept", daemonSet(), node("n1", taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)), false, true},
		{"network unavailable: only hostNetwork pods", daemonSet(), node("n1", taint(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)), false, true},
		{"network unavailable, hostNetwork", daemonSet(withSpec(func(s *corev1.PodSpec) { s.HostNetwork = true })),
			node("n1", taint(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, keep := shouldRun(tc.node, tc.ds)
			if run != tc.wantRun || keep != tc.wantK {
				t.Errorf("shouldRun = %v, %v; want %v, %v", run, keep, tc.wantRun, tc.wantK)
			}
		})
	}
}

func TestNewPod(t *testing.T) {
	sixty := int64(60)
	ds := daemonSet(withSpec(func(s *corev1.PodSpec) {
		s.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &sixty}}
	}), requiredTerm(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}}))
	pod := newPod(ds, "n1", "abc", "3")
	if pod.GenerateName != "ds-" || pod.Namespace != "ns" {
		t.Errorf("name %q in %q", pod.GenerateName, pod.Namespace)
	}
	if pod.Labels["controller-revision-hash"] != "abc" || pod.Labels["pod-template-generation"] != "3" || pod.Labels["app"] != "d" {
		t.Errorf("labels %v", pod.Labels)
	}
	if ref := pod.OwnerReferences; len(ref) != 1 || ref[0].Kind != "DaemonSet" || ref[0].UID != "ds-uid" || ref[0].Controller == nil || !*ref[0].Controller {
		t.Errorf("owner references %+v", ref)
	}
	if n, err := targetNode(pod); err != nil || n != "n1" {
		t.Errorf("target node %q, %v", n, err)
	}
	terms := pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 0 || terms[0].MatchFields[0].Values[0] != "n1" {
		t.Errorf("affinity terms %+v", terms)
	}
	want := []string{
		"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute",
		"node.kubernetes.io/disk-pressure:NoSchedule", "node.kubernetes.io/memory-pressure:NoSchedule",
		"node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule",
	}
	var got []string
	for _, tol := range pod.Spec.Tolerations {
		if tol.TolerationSeconds != nil {
			t.Errorf("toleration %s keeps tolerationSeconds", tol.Key)
		}
		got = append(got, tol.Key+":"+string(tol.Effect))
	}
	if !slices.Equal(got, want) {
		t.Errorf("tolerations %v, want %v", got, want)
	}
	if ds.Spec.Template.Spec.Tolerations[0].TolerationSeconds == nil || ds.Spec.Template.Labels["controller-revision-hash"] != "" {
		t.Error("the DaemonSet's template was modified")
	}
}

func TestTemplateHash(t *testing.T) {
	a, b := daemonSet(), daemonSet()
	ha, _ := templateHash(&a.Spec.Template, nil)
	hb, _ := templateHash(&b.Spec.Template, nil)
	if ha == "" || ha != hb {
		t.Fatalf("equal templates hash to %q and %q", ha, hb)
	}
	b.Spec.Template.Spec.Containers[0].Image = "busybox:2"
	if hb, _ = templateHash(&b.Spec.Template, nil); hb == ha {
		t.Error("a changed template keeps its hash")
	}
	one := int32(1)
	if hc, _ := templateHash(&a.Spec.Template, &one); hc == ha {
		t.Error("the collision count does not change the hash")
	}
}

func TestIsUpdated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"hash matches", map[string]string{"controller-revision-hash": "h2", "pod-template-generation": "1"}, true},
		{"generation matches", map[string]string{"controller-revision-hash": "h1", "pod-template-generation": "2"}, true},
		{"neither", map[string]string{"controller-revision-hash": "h1", "pod-template-generation": "1"}, false},
		{"no labels", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pod("p", "n1", "")
			p.Labels = tc.labels
			if got := isUpdated(p, "h2", "2"); got != tc.want {
				t.Errorf("isUpdated = %v", got)
			}
		})
	}
}
