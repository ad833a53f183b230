package node

import (
	"context"
	"maps"
	"runtime"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRegisterCreatesTheNode(t *testing.T) {
	tests := []struct {
		name               string
		keepStatusOnCreate bool
		wantStatusWrites   int
	}{
		{name: "server keeps the status of a new Node", keepStatusOnCreate: true, wantStatusWrites: 0},
		{name: "server drops the status of a new Node", keepStatusOnCreate: false, wantStatusWrites: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.api.keepStatusOnCreate = tc.keepStatusOnCreate
			f.register(t)
			if got := f.api.count("CreateNode"); got != 1 {
				t.Errorf("%d creates, want 1", got)
			}
			if got := f.api.count("UpdateNodeStatus"); got != tc.wantStatusWrites {
				t.Errorf("%d status writes, want %d", got, tc.wantStatusWrites)
			}
			node := f.api.get("node-1")
			wantLabels := map[string]string{
				"kubernetes.io/hostname": "node-1.example.com", "kubernetes.io/os": runtime.GOOS,
				"kubernetes.io/arch": runtime.GOARCH, "topology.kubernetes.io/zone": "z1",
			}
			if !maps.Equal(node.Labels, wantLabels) {
				t.Errorf("labels = %v, want %v", node.Labels, wantLabels)
			}
			if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != "dedicated" {
				t.Errorf("taints = %v", node.Spec.Taints)
			}
			if node.Spec.PodCIDR != "" {
				t.Errorf("spec.podCIDR = %q: the flag's CIDR is not the IPAM controller's to write", node.Spec.PodCIDR)
			}
			checkStatus(t, node)
			if got := f.n.Node(); got == nil || got.UID != node.UID {
				t.Errorf("Node() = %v, want the registered Node", got)
			}
			select {
			case <-f.n.Registered():
				t.Errorf("Registered is closed by Run, not by register")
			default:
			}
		})
	}
}

// checkStatus checks the status the fixture's node reports when healthy.
func checkStatus(t *testing.T, node *corev1.Node) {
	t.Helper()
	st := node.Status
	wantAddrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}, {Type: corev1.NodeHostName, Address: "node-1.example.com"}}
	if !slices.Equal(st.Addresses, wantAddrs) {
		t.Errorf("addresses = %v, want %v", st.Addresses, wantAddrs)
	}
	if st.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("daemonEndpoints = %+v", st.DaemonEndpoints)
	}
	info := st.NodeInfo
	if info.KernelVersion != "6.1.0-18-amd64" || info.OSImage != "Debian GNU/Linux 12 (bookworm)" || info.MachineID != "machine-1" ||
		info.ContainerRuntimeVersion != "containerd://2.1.4" || info.KubeletVersion != kubeVersion() {
		t.Errorf("nodeInfo = %+v", info)
	}
	if !equality.Semantic.DeepEqual(st.Capacity, corev1.ResourceList{
		corev1.ResourceCPU: quantity("4"), corev1.ResourceMemory: quantity("8Gi"),
		corev1.ResourceEphemeralStorage: quantity("100Gi"), corev1.ResourcePods: quantity("110"),
	}) {
		t.Errorf("capacity = %v", st.Capacity)
	}
	want := map[corev1.NodeConditionType][3]string{
		corev1.NodeReady:              {"True", "KubeletReady", "kubelet is posting ready status"},
		corev1.NodeMemoryPressure:     {"False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		corev1.NodeDiskPressure:       {"False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		corev1.NodePIDPressure:        {"False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
		corev1.NodeNetworkUnavailable: {"False", "RouteCreated", "gantry-agent set up the pod network"},
	}
	for typ, w := range want {
		c := condition(t, node, typ)
		if got := [3]string{string(c.Status), c.Reason, c.Message}; got != w {
			t.Errorf("%s = %q, want %q", typ, got, w)
		}
		if c.LastHeartbeatTime.IsZero() || c.LastTransitionTime.IsZero() {
			t.Errorf("%s has no heartbeat or transition time: %+v", typ, c)
		}
	}
}

func TestRegisterAdoptsAnExistingNode(t *testing.T) {
	f := newFixture(t)
	long := metav1.NewTime(t0.Add(-time.Hour))
	f.api.put(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "node-1", UID: "uid-old",
			Labels: map[string]string{"kubernetes.io/hostname": "old-name", "kubernetes.io/os": runtime.GOOS, "role": "db"},
		},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.3.0/24", PodCIDRs: []string{"10.244.3.0/24"},
			Taints: []corev1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute}}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown",
				Message: "Kubelet stopped posting node status.", LastHeartbeatTime: long, LastTransitionTime: long},
			{Type: "KernelDeadlock", Status: corev1.ConditionFalse, Reason: "KernelHasNoDeadlock", LastHeartbeatTime: long, LastTransitionTime: long},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: long, LastTransitionTime: long},
		}},
	})
	f.register(t)

	if got := f.api.count("CreateNode"); got != 1 {
		t.Errorf("%d creates, want 1 (that found the Node)", got)
	}
	if got := f.api.count("UpdateNode"); got != 1 {
		t.Errorf("%d updates of the Node, want 1 (its hostname label)", got)
	}
	if got := f.api.count("UpdateNodeStatus"); got != 1 {
		t.Errorf("%d status writes, want 1", got)
	}
	node := f.api.get("node-1")
	if node.UID != "uid-old" {
		t.Errorf("UID = %s, want the adopted Node's", node.UID)
	}
	wantLabels := map[string]string{
		"kubernetes.io/hostname": "node-1.example.com", "kubernetes.io/os": runtime.GOOS,
		"kubernetes.io/arch": runtime.GOARCH, "role": "db",
	}
	if !maps.Equal(node.Labels, wantLabels) {
		t.Errorf("labels = %v, want %v (default labels fixed, others kept, extra ones only at creation)", node.Labels, wantLabels)
	}
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != "node.kubernetes.io/unreachable" {
		t.Errorf("taints = %v, want the Node's own", node.Spec.Taints)
	}
	checkStatus(t, node)
	ready := condition(t, node, corev1.NodeReady)
	if !ready.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("Ready went Unknown → True at %v, want %v", ready.LastTransitionTime, t0)
	}
	if mem := condition(t, node, corev1.NodeMemoryPressure); !mem.LastTransitionTime.Equal(&long) || !mem.LastHeartbeatTime.Time.Equal(t0) {
		t.Errorf("MemoryPressure did not change: transition %v (want %v), heartbeat %v (want %v)",
			mem.LastTransitionTime, long, mem.LastHeartbeatTime, t0)
	}
	if kd := condition(t, node, "KernelDeadlock"); kd.Reason != "KernelHasNoDeadlock" || !kd.LastHeartbeatTime.Equal(&long) {
		t.Errorf("another component's condition was changed: %+v", kd)
	}
	if got := f.n.PodCIDR(); got != "10.244.3.0/24" {
		t.Errorf("PodCIDR = %q, want the adopted Node's", got)
	}
}

func TestRegisterAdoptsWithoutUpdateWhenLabelsAreRight(t *testing.T) {
	f := newFixture(t)
	f.api.put(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{
		"kubernetes.io/hostname": "node-1.example.com", "kubernetes.io/os": runtime.GOOS, "kubernetes.io/arch": runtime.GOARCH,
	}}})
	f.register(t)
	if got := f.api.count("UpdateNode"); got != 0 {
		t.Errorf("%d updates of the Node, want none", got)
	}
}

func TestNodeDeletedIsRegisteredAgain(t *testing.T) {
	f := newFixture(t)
	f.register(t)
	f.syncLease(t)
	first := f.api.get("node-1").UID

	f.api.deleteNode("node-1")
	f.api.deleteLease("node-1") // by the garbage collector, as the Node owned it
	f.clock.Step(10 * time.Second)
	f.syncStatus(t)
	node := f.api.get("node-1")
	if node == nil || node.UID == first {
		t.Fatalf("node after deletion = %v, want a new Node", node)
	}
	checkStatus(t, node)
	f.syncLease(t)
	lease := f.api.lease("node-1")
	if len(lease.OwnerReferences) != 1 || lease.OwnerReferences[0].UID != node.UID {
		t.Errorf("lease owners = %+v, want the new Node %s", lease.OwnerReferences, node.UID)
	}
}

func TestRegisterFailures(t *testing.T) {
	t.Run("invalid is permanent", func(t *testing.T) {
		f := newFixture(t)
		f.api.invalid = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.n.Run(ctx); err == nil || ctx.Err() != nil {
			t.Fatalf("Run = %v, want the API server's rejection at once", err)
		}
	})
	t.Run("API server away", func(t *testing.T) {
		f := newFixture(t)
		f.api.setDown(true)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.n.Run(ctx) }()
		// Back-off: every retry waits longer, up to 7s.
		var waits []time.Duration
		for range 8 {
			before := f.api.count("CreateNode")
			waitFor(t, "a retry to wait", func() bool { return f.clock.HasWaiters() })
			start := f.clock.Now()
			for f.api.count("CreateNode") == before {
				f.clock.Step(100 * time.Millisecond)
				waitFor(t, "the retry loop", func() bool { return f.clock.HasWaiters() || f.api.count("CreateNode") > before })
			}
			waits = append(waits, f.clock.Since(start))
		}
		t.Logf("retry waits: %v", waits)
		if waits[0] > 400*time.Millisecond || waits[len(waits)-1] < 7*time.Second || waits[len(waits)-1] > 8*time.Second {
			t.Errorf("retry waits = %v, want 200ms doubling to 7s", waits)
		}
		if f.n.Node() != nil || f.n.PodCIDR() != "10.244.9.0/24" {
			t.Errorf("before registration Node() = %v, PodCIDR() = %q", f.n.Node(), f.n.PodCIDR())
		}
		f.api.setDown(false)
		for !registered(f.n) {
			if f.clock.HasWaiters() {
				f.clock.Step(time.Second)
			}
			waitFor(t, "a step", func() bool { return f.clock.HasWaiters() || registered(f.n) })
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	})
}

func registered(n *Node) bool {
	select {
	case <-n.Registered():
		return true
	default:
		return false
	}
}
