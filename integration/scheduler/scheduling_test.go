package scheduler_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A pod too big for every node waits with Kubernetes' explanation, and is
// scheduled as soon as a node with room joins.
func TestInsufficientResourcesThenNodeAdded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startScheduler("")
	e.addNode(nodeSpec{name: "small-1", cpu: "1"})
	e.addNode(nodeSpec{name: "small-2", cpu: "1"})
	e.create(pod("big", "2"))
	// More than a node's allocatable: preemption cannot help.
	msg := "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	e.waitUnschedulable("big", msg)
	e.waitEvent("big", "FailedScheduling", msg)

	e.addNode(nodeSpec{name: "large", cpu: "4"})
	if node := e.waitScheduled("big"); node != "large" {
		t.Fatalf("big scheduled on %s, want large", node)
	}
	e.waitEvent("big", "Scheduled", "Successfully assigned default/big to large")

	// The room taken is counted: another 2-cpu pod fills large, and a
	// 3-cpu one fits nowhere; on large, only pods of its own priority
	// could make room.
	e.create(pod("two", "2"))
	if node := e.waitScheduled("two"); node != "large" {
		t.Fatalf("two scheduled on %s, want large", node)
	}
	e.create(pod("three", "3"))
	e.waitUnschedulable("three", "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")
}

// Taints, cordons and not-ready nodes keep pods away unless tolerated.
func TestTaintsCordonAndTolerations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startScheduler("")
	e.addNode(nodeSpec{name: "gpu", taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}})
	e.addNode(nodeSpec{name: "cordoned", unschedulable: true})
	e.addNode(nodeSpec{name: "down", notReady: true})
	e.create(pod("plain", ""))
	e.waitUnschedulable("plain", "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were not ready, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")

	p := pod("tolerant", "")
	p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	e.create(p)
	if node := e.waitScheduled("tolerant"); node != "gpu" {
		t.Fatalf("tolerant pod on %s, want gpu", node)
	}

	// Uncordoning the node is an event that retries the waiting pod.
	n, err := e.kube.CoreV1().Nodes().Get(e.ctx, "cordoned", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Unschedulable = false
	if _, err := e.kube.CoreV1().Nodes().Update(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if node := e.waitScheduled("plain"); node != "cordoned" {
		t.Fatalf("plain pod on %s, want the uncordoned node", node)
	}
}

// nodeSelector and required node affinity pick the labelled nodes.
func TestNodeAffinity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startScheduler("")
	e.addNode(nodeSpec{name: "a1", labels: map[string]string{"zone": "a", "disk": "ssd"}})
	e.addNode(nodeSpec{name: "b1", labels: map[string]string{"zone": "b"}})

	p := pod("selected", "")
	p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	e.create(p)
	if node := e.waitScheduled("selected"); node != "a1" {
		t.Fatalf("selected pod on %s, want a1", node)
	}

	p = pod("zone-b", "")
	p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"b", "c"}}},
		}}},
	}}
	e.create(p)
	if node := e.waitScheduled("zone-b"); node != "b1" {
		t.Fatalf("zone-b pod on %s, want b1", node)
	}

	p = pod("nowhere", "")
	p.Spec.NodeSelector = map[string]string{"zone": "z"}
	e.create(p)
	e.waitUnschedulable("nowhere", "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
}

// Required anti-affinity on the host name puts replicas on different
// nodes; one more than nodes waits.
func TestPodAntiAffinity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startScheduler("")
	e.addNode(nodeSpec{name: "n1"})
	e.addNode(nodeSpec{name: "n2"})
	nodes := map[string]string{}
	for _, name := range []string{"web-1", "web-2", "web-3"} {
		p := pod(name, "")
		p.Labels = map[string]string{"app": "web"}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				TopologyKey:   "kubernetes.io/hostname",
			}},
		}}
		e.create(p)
		if name != "web-3" {
			nodes[name] = e.waitScheduled(name)
		}
	}
	if nodes["web-1"] == nodes["web-2"] {
		t.Fatalf("web-1 and web-2 share node %s", nodes["web-1"])
	}
	e.waitUnschedulable("web-3", "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.")
}

// A DoNotSchedule topology spread over zones balances the pods.
func TestTopologySpreadAcrossZones(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startScheduler("")
	for _, n := range []struct{ name, zone string }{{"a1", "a"}, {"a2", "a"}, {"a3", "a"}, {"b1", "b"}} {
		e.addNode(nodeSpec{name: n.name, labels: map[string]string{"topology.kubernetes.io/zone": n.zone}})
	}
	zoneOf := map[string]string{"a1": "a", "a2": "a", "a3": "a", "b1": "b"}
	perZone := map[string]int{}
	for i := range 6 {
		p := pod("spread-"+string(rune('a'+i)), "")
		p.Labels = map[string]string{"app": "spread"}
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
		}}
		e.create(p)
		perZone[zoneOf[e.waitScheduled(p.Name)]]++
	}
	if perZone["a"] != 3 || perZone["b"] != 3 {
		t.Fatalf("pods per zone %v, want 3 and 3", perZone)
	}
}

// Two pods asking for the same host port cannot share a node.
func TestHostPortConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startScheduler("")
	e.addNode(nodeSpec{name: "only"})
	for _, name := range []string{"port-1", "port-2"} {
		p := pod(name, "")
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		e.create(p)
		if name == "port-1" {
			e.waitScheduled(name)
		}
	}
	e.waitUnschedulable("port-2", "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
}

// A pod naming another scheduler is left alone; a second profile of the
// same scheduler schedules its own pods and signs their events.
func TestProfilesAndOtherSchedulerNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startScheduler(`apiVersion: gantry.dev/v1alpha1
kind: SchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: packer
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
`)
	e.addNode(nodeSpec{name: "n1"})
	p := pod("other", "")
	p.Spec.SchedulerName = "someone-else"
	e.create(p)
	e.create(pod("mine", ""))
	e.waitScheduled("mine")
	got, err := e.kube.CoreV1().Pods(ns).Get(e.ctx, "other", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != "" || len(got.Status.Conditions) != 0 {
		t.Fatalf("the other scheduler's pod was touched: %s", describe(got))
	}
	p = pod("packed", "")
	p.Spec.SchedulerName = "packer"
	e.create(p)
	e.waitScheduled("packed")
	e.waitEventFrom("packed", "packer", "Scheduled", "Successfully assigned default/packed to n1")
}

// The metrics endpoint reports attempts.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.startScheduler("")
	e.addNode(nodeSpec{name: "n1"})
	e.create(pod("counted", ""))
	e.waitScheduled("counted")
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.metricsURL + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			text := string(b)
			if strings.Contains(text, `scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 1`) &&
				strings.Contains(text, "scheduler_pod_scheduling_sli_duration_seconds_bucket") &&
				strings.Contains(text, `scheduler_pending_pods{queue="active"}`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("metrics lack the attempt:\n%s", text)
			}
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
