package node

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// health is what the node's conditions report.
type health struct {
	// notReady says why the node cannot run pods; empty when it can.
	notReady []string
	// network says why the pod network is not set up; "" when it is.
	network                                   string
	memoryPressure, diskPressure, pidPressure bool
}

// Kubelet's reasons and messages, so that kubectl describe node reads
// the same.
const (
	reasonReady        = "KubeletReady"
	messageReady       = "kubelet is posting ready status"
	reasonNotReady     = "KubeletNotReady"
	reasonRouteCreated = "RouteCreated"
	messageRoute       = "gantry-agent set up the pod network"
	reasonNoRoute      = "NoRouteCreated"
)

// pressureConditions are the pressure conditions, in kubelet's order,
// with the reasons and messages of their True and False states.
var pressureConditions = []struct {
	typ                       corev1.NodeConditionType
	active                    func(health) bool
	trueReason, trueMessage   string
	falseReason, falseMessage string
}{
	{corev1.NodeMemoryPressure, func(h health) bool { return h.memoryPressure },
		"KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
		"KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
	{corev1.NodeDiskPressure, func(h health) bool { return h.diskPressure },
		"KubeletHasDiskPressure", "kubelet has disk pressure",
		"KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
	{corev1.NodePIDPressure, func(h health) bool { return h.pidPressure },
		"KubeletHasInsufficientPID", "kubelet has insufficient PID available",
		"KubeletHasSufficientPID", "kubelet has sufficient PID available"},
}

// setConditions returns conds with the node's own conditions set from h
// at now. A condition keeps its lastTransitionTime unless its status
// changes; conditions of other types (set by others) are kept as they
// are; new ones are appended in kubelet's order.
func setConditions(conds []corev1.NodeCondition, h health, now metav1.Time) []corev1.NodeCondition {
	out := make([]corev1.NodeCondition, len(conds))
	for i := range conds {
		conds[i].DeepCopyInto(&out[i])
	}
	set := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason, message string) {
		c := corev1.NodeCondition{
			Type: typ, Status: status, Reason: reason, Message: message,
			LastHeartbeatTime: now, LastTransitionTime: now,
		}
		for i := range out {
			if out[i].Type == typ {
				if out[i].Status == status {
					c.LastTransitionTime = out[i].LastTransitionTime
				}
				out[i] = c
				return
			}
		}
		out = append(out, c)
	}
	if h.network != "" {
		set(corev1.NodeNetworkUnavailable, corev1.ConditionTrue, reasonNoRoute, h.network)
	} else {
		set(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, reasonRouteCreated, messageRoute)
	}
	for _, p := range pressureConditions {
		if p.active(h) {
			set(p.typ, corev1.ConditionTrue, p.trueReason, p.trueMessage)
		} else {
			set(p.typ, corev1.ConditionFalse, p.falseReason, p.falseMessage)
		}
	}
	if len(h.notReady) > 0 {
		set(corev1.NodeReady, corev1.ConditionFalse, reasonNotReady, strings.Join(h.notReady, ", "))
	} else {
		set(corev1.NodeReady, corev1.ConditionTrue, reasonReady, messageReady)
	}
	return out
}

// underPressure measures s against t.
func underPressure(s MachineStats, t Thresholds) (memory, disk, pid bool) {
	if s.MemoryBytes > 0 && t.MemoryAvailable.Sign() > 0 {
		memory = s.MemoryAvailableBytes < t.MemoryAvailable.Value()
	}
	if s.DiskBytes > 0 && t.DiskAvailable > 0 {
		disk = float64(s.DiskAvailableBytes) < t.DiskAvailable*float64(s.DiskBytes)
	}
	if s.Inodes > 0 && t.InodesFree > 0 {
		disk = disk || float64(s.InodesFree) < t.InodesFree*float64(s.Inodes)
	}
	if s.PIDMax > 0 && t.PIDAvailable > 0 {
		pid = float64(s.PIDMax-s.PIDs) < t.PIDAvailable*float64(s.PIDMax)
	}
	return memory, disk, pid
}
