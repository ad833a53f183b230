package controllers_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// dsManifest is a DaemonSet named name running busybox on every node
// (nodeSelector, when set, narrows that); its strategy is added by
// strategy (YAML under spec, indented two spaces), if any.
func dsManifest(name, nodeSelector, strategy string) string {
	sel := ""
	if nodeSelector != "" {
		sel = "      nodeSelector: {" + nodeSelector + "}\n"
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: %[1]s
  namespace: default
spec:
  selector:
    matchLabels: {app: %[1]s}
%[3]s  template:
    metadata:
      labels: {app: %[1]s}
    spec:
%[2]s      containers:
      - name: main
        image: %[4]s
`, name, sel, strategy, busybox)
}

// dsPods returns the pods of DaemonSet name not being deleted, by node
// (spec.nodeName, or "" while unscheduled).
func (e *env) dsPods(name string) map[string][]corev1.Pod {
	e.t.Helper()
	list, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]corev1.Pod{}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p)
		}
	}
	return out
}

// dsAwait waits until DaemonSet name, at its current generation, wants
// desired pods and has ready of them ready, available and up to date, one
// on each node of nodes and none elsewhere.
func (e *env) dsAwait(name string, ready int32, nodes ...string) *appsv1.DaemonSet {
	e.t.Helper()
	sort.Strings(nodes)
	var ds *appsv1.DaemonSet
	e.eventually(60*time.Second, fmt.Sprintf("daemon set %s on %v (%d ready)", name, nodes, ready), func() (bool, error) {
		var err error
		ds, err = e.kube.AppsV1().DaemonSets("default").Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := ds.Status
		desired := int32(len(nodes))
		if st.ObservedGeneration != ds.Generation || st.DesiredNumberScheduled != desired || st.CurrentNumberScheduled != desired ||
			st.NumberReady != ready || st.NumberAvailable != ready || st.UpdatedNumberScheduled != desired ||
			st.NumberUnavailable != desired-ready || st.NumberMisscheduled != 0 {
			return false, fmt.Errorf("status %+v at generation %d", st, ds.Generation)
		}
		var got []string
		for node, pods := range e.dsPods(name) {
			for range pods {
				got = append(got, node)
			}
		}
		sort.Strings(got)
		return slices.Equal(got, nodes), fmt.Errorf("pods on %v", got)
	})
	return ds
}

// dsTaintedNode writes a Ready node with a NoSchedule taint (in one
// create, so that no daemon pod is made for it untainted).
func (e *env) dsTaintedNode(name string) {
	e.t.Helper()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}},
	}
	if _, err := e.kube.CoreV1().Nodes().Create(e.ctx, node, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// dsEvents returns the messages of the events of reason about object
// name.
func (e *env) dsEvents(name, reason string) []string {
	e.t.Helper()
	evs, err := e.kube.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Name == name && ev.Reason == reason {
			out = append(out, ev.Message)
		}
	}
	return out
}

// TestDaemonSetFollowsNodes: a DaemonSet gets one pod per eligible node,
// pinned there by node affinity and bound by the scheduler, with the
// daemon tolerations; it follows nodes joining, leaving (pods of deleted
// nodes go through the pod GC), being relabelled and tainted, and
// replaces a failed pod.
func TestDaemonSetFollowsNodes(t *testing.T) {
	e := newEnv(t)
	e.startScheduler()
	e.startSimulatedNodes("dsa", 2)
	e.startControllers("--controllers=daemonset,podgc")

	e.kubectlIn(dsManifest("agent", "", ""), "apply", "-f", "-")
	e.kubectlIn(dsManifest("picky", "ds: 'yes'", ""), "apply", "-f", "-")
	ds := e.dsAwait("agent", 2, "dsa-0", "dsa-1")
	e.dsAwait("picky", 0)

	pod := e.dsPods("agent")["dsa-0"][0]
	if !strings.HasPrefix(pod.Name, "agent-") || pod.Labels["pod-template-generation"] != "1" || pod.Labels["controller-revision-hash"] == "" {
		t.Errorf("pod %s labels %v", pod.Name, pod.Labels)
	}
	if ref := metav1.GetControllerOf(&pod); ref == nil || ref.UID != ds.UID || ref.Kind != "DaemonSet" {
		t.Errorf("pod %s owner %+v", pod.Name, pod.OwnerReferences)
	}
	terms := pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Key != "metadata.name" || terms[0].MatchFields[0].Values[0] != "dsa-0" {
		t.Errorf("pod %s node affinity %+v", pod.Name, terms)
	}
	tolerations := map[string]bool{}
	for _, tol := range pod.Spec.Tolerations {
		tolerations[tol.Key+":"+string(tol.Effect)] = tol.TolerationSeconds == nil
	}
	for _, want := range []string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute",
		"node.kubernetes.io/disk-pressure:NoSchedule", "node.kubernetes.io/memory-pressure:NoSchedule",
		"node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"} {
		if forever, ok := tolerations[want]; !ok || !forever {
			t.Errorf("pod %s: toleration %s missing or limited (%v)", pod.Name, want, pod.Spec.Tolerations)
		}
	}

	// Nodes join: another agent, a bare node (pods there stay Pending:
	// no agent runs them), and a tainted node the daemon does not
	// tolerate.
	e.startSimulatedNodes("dsb", 1)
	e.addNode("dsbare", nil)
	e.dsTaintedNode("dstainted")
	e.dsAwait("agent", 3, "dsa-0", "dsa-1", "dsb-0", "dsbare")

	// A node labelled for the picky daemon gets its pod; unlabelled, it
	// loses it.
	e.kubectl("label", "node", "dsa-1", "ds=yes")
	e.dsAwait("picky", 1, "dsa-1")
	e.kubectl("label", "node", "dsa-1", "ds-")
	e.dsAwait("picky", 0)

	// The test plays the bare node's agent: its daemon pod fails. It is
	// deleted and replaced.
	failed := e.dsPods("agent")["dsbare"][0]
	failed.Status.Phase = corev1.PodFailed
	if _, err := e.kube.CoreV1().Pods("default").UpdateStatus(e.ctx, &failed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "the failed daemon pod replaced", func() (bool, error) {
		pods := e.dsPods("agent")["dsbare"]
		return len(pods) == 1 && pods[0].UID != failed.UID, fmt.Errorf("pods on dsbare: %d", len(pods))
	})
	if msgs := e.dsEvents("agent", "FailedDaemonPod"); len(msgs) == 0 ||
		!strings.Contains(msgs[0], "Found failed daemon pod default/"+failed.Name+" on node dsbare, will try to kill it") {
		t.Errorf("FailedDaemonPod events: %q", msgs)
	}

	// Nodes leave: the bare node's pod goes with it (pod GC).
	if err := e.kube.CoreV1().Nodes().Delete(e.ctx, "dsbare", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.dsAwait("agent", 3, "dsa-0", "dsa-1", "dsb-0")

	// A taint the daemon does not tolerate, NoExecute: its pod leaves
	// that node.
	e.kubectl("taint", "node", "dsb-0", "maintenance=yes:NoExecute")
	e.dsAwait("agent", 2, "dsa-0", "dsa-1")
	if n := len(e.dsEvents("agent", "SuccessfulCreate")); n == 0 {
		t.Error("no SuccessfulCreate events")
	}
}

// TestDaemonSetRollingUpdate: a template change rolls out node by node
// (kubectl rollout status follows it), with maxUnavailable or maxSurge;
// OnDelete waits for pods to be deleted.
func TestDaemonSetRollingUpdate(t *testing.T) {
	e := newEnv(t)
	e.startScheduler()
	e.startSimulatedNodes("dsr", 3)
	e.startControllers("--controllers=daemonset")
	nodes := []string{"dsr-0", "dsr-1", "dsr-2"}

	e.kubectlIn(dsManifest("roll", "", "  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate: {maxUnavailable: 1}\n"), "apply", "-f", "-")
	e.kubectlIn(dsManifest("surge", "", "  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n"), "apply", "-f", "-")
	e.dsAwait("roll", 3, nodes...)
	e.dsAwait("surge", 3, nodes...)
	oldHash := e.dsPods("roll")["dsr-0"][0].Labels["controller-revision-hash"]
	oldSurge := map[types.UID]bool{}
	for _, pods := range e.dsPods("surge") {
		oldSurge[pods[0].UID] = true
	}

	const v2 = "gantry.local/busybox:v2"
	e.kubectl("set", "image", "ds/roll", "main="+v2)
	e.kubectl("set", "image", "ds/surge", "main="+v2)
	out := e.kubectl("rollout", "status", "ds/roll", "--timeout=90s")
	if !strings.Contains(out, `daemon set "roll" successfully rolled out`) {
		t.Errorf("rollout status: %s", out)
	}
	e.kubectl("rollout", "status", "ds/surge", "--timeout=90s")
	for _, name := range []string{"roll", "surge"} {
		e.dsAwait(name, 3, nodes...)
		for node, pods := range e.dsPods(name) {
			p := pods[0]
			if p.Spec.Containers[0].Image != v2 || p.Labels["pod-template-generation"] != "2" || p.Labels["controller-revision-hash"] == oldHash {
				t.Errorf("%s pod %s on %s: image %s, labels %v", name, p.Name, node, p.Spec.Containers[0].Image, p.Labels)
			}
			if oldSurge[p.UID] {
				t.Errorf("surge pod %s not replaced", p.Name)
			}
		}
	}
	e.eventually(10*time.Second, "3 SuccessfulDelete events for roll", func() (bool, error) {
		n := len(e.dsEvents("roll", "SuccessfulDelete"))
		return n == 3, fmt.Errorf("%d", n)
	})

	// OnDelete: a new template waits until a pod is deleted.
	e.kubectl("patch", "ds/roll", "-p", `{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}`)
	const v3 = "gantry.local/busybox:v3"
	e.kubectl("set", "image", "ds/roll", "main="+v3)
	ds := e.dsAwaitGeneration("roll")
	if ds.Status.UpdatedNumberScheduled != 0 {
		t.Errorf("OnDelete: %d pods updated before any was deleted", ds.Status.UpdatedNumberScheduled)
	}
	for _, pods := range e.dsPods("roll") {
		if img := pods[0].Spec.Containers[0].Image; img != v2 {
			t.Errorf("OnDelete: pod %s replaced (image %s)", pods[0].Name, img)
		}
	}
	victim := e.dsPods("roll")["dsr-1"][0]
	if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(60*time.Second, "the deleted pod replaced from the new template", func() (bool, error) {
		pods := e.dsPods("roll")["dsr-1"]
		return len(pods) == 1 && pods[0].Spec.Containers[0].Image == v3 && dsRunningReady(&pods[0]), fmt.Errorf("pods on dsr-1: %d", len(pods))
	})
	e.eventually(30*time.Second, "status: 1 of 3 updated", func() (bool, error) {
		ds, err := e.kube.AppsV1().DaemonSets("default").Get(e.ctx, "roll", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return ds.Status.UpdatedNumberScheduled == 1 && ds.Status.NumberAvailable == 3, fmt.Errorf("status %+v", ds.Status)
	})
}

// dsAwaitGeneration waits until DaemonSet name's status is of its
// current generation.
func (e *env) dsAwaitGeneration(name string) *appsv1.DaemonSet {
	e.t.Helper()
	var ds *appsv1.DaemonSet
	e.eventually(30*time.Second, "daemon set "+name+" observed", func() (bool, error) {
		var err error
		ds, err = e.kube.AppsV1().DaemonSets("default").Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return ds.Status.ObservedGeneration == ds.Generation, nil
	})
	return ds
}

func dsRunningReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
