package controllers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nlPod creates a pod bound to node (no scheduler needed) that tolerates
// the unreachable taint for seconds (nil: for ever; -1: only the
// admission's default 300 s).
func (e *env) nlPod(name, node string, seconds *int64) {
	e.t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"test": "nl"}},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "main", Image: busybox}},
		},
	}
	if seconds == nil || *seconds >= 0 {
		pod.Spec.Tolerations = []corev1.Toleration{{
			Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute,
			TolerationSeconds: seconds,
		}}
	}
	if _, err := e.kube.CoreV1().Pods("default").Create(e.ctx, pod, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create pod %s: %v", name, err)
	}
}

func (e *env) nlGetPod(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.kube.CoreV1().Pods("default").Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) nlNode(name string) *corev1.Node {
	e.t.Helper()
	n, err := e.kube.CoreV1().Nodes().Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func nlCondition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func nlTaints(n *corev1.Node) string {
	var s []string
	for _, t := range n.Spec.Taints {
		s = append(s, t.ToString())
	}
	return strings.Join(s, ",")
}

func nlPodReady(p *corev1.Pod) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status
		}
	}
	return ""
}

// nlEvent reports whether an event of reason about the object named name
// (in namespace ns) has a message containing msg.
func (e *env) nlEvent(ns, name, reason, msg string) (bool, error) {
	evs, err := e.kube.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	var seen []string
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Name == name && ev.Reason == reason {
			if strings.Contains(ev.Message, msg) {
				return true, nil
			}
			seen = append(seen, ev.Message)
		}
	}
	return false, fmt.Errorf("%s events of %s: %q", reason, name, seen)
}

// TestNodeLeaseExpiry: an agent dies; once its node's Lease has not been
// renewed for the grace period the node turns Unknown, its pods not
// ready, it is tainted unreachable (NoExecute and NoSchedule), and its
// pods are evicted as their tolerations say. The other node is left
// alone. When the agent comes back the taints go.
//
// The grace period is 15 s: agents renew their Lease every 10 s, so a
// shorter one would take healthy nodes for dead.
func TestNodeLeaseExpiry(t *testing.T) {
	e := newEnv(t)
	dead := e.startSimulatedNodes("nla", 1)
	e.startSimulatedNodes("nlb", 1)
	e.startControllers("--controllers=nodelifecycle", "--node-monitor-grace-period=15s", "--node-monitor-period=1s")

	zero, three := int64(0), int64(3)
	e.nlPod("now", "nla-0", &zero)
	e.nlPod("soon", "nla-0", &three)
	e.nlPod("forever", "nla-0", nil)
	defaultTolerations := int64(-1)
	e.nlPod("default", "nla-0", &defaultTolerations)
	e.nlPod("elsewhere", "nlb-0", &zero)
	for _, name := range []string{"now", "soon", "forever", "default", "elsewhere"} {
		e.eventually(30*time.Second, name+" running and ready", func() (bool, error) {
			return nlPodReady(e.nlGetPod(name)) == corev1.ConditionTrue, nil
		})
	}

	if err := dead.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	e.eventually(60*time.Second, "nla-0 Unknown", func() (bool, error) {
		n := e.nlNode("nla-0")
		ready := nlCondition(n, corev1.NodeReady)
		return ready.Status == corev1.ConditionUnknown, fmt.Errorf("Ready %+v", ready)
	})
	n := e.nlNode("nla-0")
	for _, typ := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		c := nlCondition(n, typ)
		if c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusUnknown" || c.Message != "Kubelet stopped posting node status." {
			t.Errorf("condition %s: %+v", typ, c)
		}
	}
	e.eventually(30*time.Second, "nla-0 tainted unreachable", func() (bool, error) {
		taints := nlTaints(e.nlNode("nla-0"))
		return strings.Contains(taints, "node.kubernetes.io/unreachable:NoExecute") &&
			strings.Contains(taints, "node.kubernetes.io/unreachable:NoSchedule"), fmt.Errorf("taints %s", taints)
	})
	e.eventually(30*time.Second, "the pods of nla-0 not ready", func() (bool, error) {
		p := e.nlGetPod("forever")
		return nlPodReady(p) == corev1.ConditionFalse, fmt.Errorf("Ready %s", nlPodReady(p))
	})
	e.eventually(30*time.Second, "events", func() (bool, error) {
		if ok, err := e.nlEvent("default", "nla-0", "NodeNotReady", "Node nla-0 status is now: NodeNotReady"); !ok {
			return false, err
		}
		return e.nlEvent("default", "forever", "NodeNotReady", "Node is not ready")
	})

	// Evictions: at once without toleration time, after 3 s with it; not
	// for the pods tolerating it longer.
	for _, name := range []string{"now", "soon"} {
		e.eventually(30*time.Second, name+" evicted", func() (bool, error) {
			p := e.nlGetPod(name)
			if p.DeletionTimestamp == nil {
				return false, nil
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.DisruptionTarget && c.Reason == "DeletionByTaintManager" {
					return e.nlEvent("default", name, "TaintManagerEviction", "Marking for deletion Pod default/"+name)
				}
			}
			return false, fmt.Errorf("conditions %+v", p.Status.Conditions)
		})
	}
	for _, name := range []string{"forever", "default", "elsewhere"} {
		if p := e.nlGetPod(name); p.DeletionTimestamp != nil {
			t.Errorf("pod %s evicted", name)
		}
	}
	if n := e.nlNode("nlb-0"); nlCondition(n, corev1.NodeReady).Status != corev1.ConditionTrue || len(n.Spec.Taints) != 0 {
		t.Errorf("nlb-0: Ready %+v, taints %s", nlCondition(n, corev1.NodeReady), nlTaints(n))
	}

	// The agent comes back: the node is Ready and its taints go; the
	// evicted pods are finally gone (the agent confirms).
	e.startSimulatedNodes("nla", 1)
	e.eventually(30*time.Second, "nla-0 untainted", func() (bool, error) {
		n := e.nlNode("nla-0")
		return len(n.Spec.Taints) == 0, fmt.Errorf("taints %s", nlTaints(n))
	})
	e.eventually(30*time.Second, "the evicted pods gone", func() (bool, error) {
		_, err1 := e.kube.CoreV1().Pods("default").Get(e.ctx, "now", metav1.GetOptions{})
		_, err2 := e.kube.CoreV1().Pods("default").Get(e.ctx, "soon", metav1.GetOptions{})
		return err1 != nil && err2 != nil, nil
	})

}
