package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodInfo is a pod with what the scheduler derives from it once.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests is what the pod asks for (PodRequests); NonZeroRequests the
	// same with the scoring defaults for unset cpu and memory.
	Requests        *Resource
	NonZeroRequests *Resource
}

// NewPodInfo derives a PodInfo.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	return &PodInfo{Pod: pod, Requests: PodRequests(pod, false), NonZeroRequests: PodRequests(pod, true)}
}

// HasAffinity reports whether the pod has inter-pod affinity or
// anti-affinity terms, required or preferred.
func (p *PodInfo) HasAffinity() bool {
	a := p.Pod.Spec.Affinity
	return a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil)
}

// HasRequiredAntiAffinity reports whether the pod has required
// anti-affinity terms.
func (p *PodInfo) HasRequiredAntiAffinity() bool {
	a := p.Pod.Spec.Affinity
	return a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0
}

// ImageState is what the scheduler knows of an image on nodes.
type ImageState struct {
	// Size in bytes, as the node reports it.
	Size int64
	// NumNodes that have the image.
	NumNodes int
}

// HostPort is a host port a pod uses on its node.
type HostPort struct {
	IP       string // "0.0.0.0" when the port names no address
	Protocol corev1.Protocol
	Port     int32
}

// NodeInfo is one node with the pods on it (bound or assumed) and what
// they add up to. Plugins must not modify it.
type NodeInfo struct {
	// Node is the node; set it with SetNode.
	Node *corev1.Node
	// name is Node's name, kept here (see Name).
	name string
	// ready is whether the node's Ready condition is True, worked out once
	// per node update (see Ready).
	ready bool
	Pods  []*PodInfo
	// PodsWithAffinity and PodsWithRequiredAntiAffinity are subsets of
	// Pods, for the inter-pod affinity plugin.
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	// Requested sums the pods' requests; NonZeroRequested their requests
	// with the scoring defaults. They and Allocatable are part of the
	// NodeInfo rather than objects of their own: the filters and scores
	// read them for hundreds of nodes per cycle, and each object apart
	// was a cache miss more per node.
	Requested        Resource
	NonZeroRequested Resource
	// Allocatable is the node's status.allocatable.
	Allocatable Resource
	// UsedPorts are the host ports the pods use.
	UsedPorts map[HostPort]int
	// ImageStates: images present on the node (every name of each), with
	// how many nodes have them.
	ImageStates map[string]*ImageState
	// Generation changes whenever the NodeInfo does.
	Generation int64
}

// Ready reports whether the node's Ready condition is True; a node that
// has not reported one is not ready. It is kept with the NodeInfo, which
// the filters read for every node of every cycle, so that they need not
// walk the node's conditions each time.
func (n *NodeInfo) Ready() bool { return n.ready }

// NewNodeInfo returns a NodeInfo holding pods (and no node yet).
func NewNodeInfo(pods ...*corev1.Pod) *NodeInfo {
	n := &NodeInfo{
		UsedPorts:   map[HostPort]int{},
		ImageStates: map[string]*ImageState{},
	}
	for _, p := range pods {
		n.AddPod(NewPodInfo(p))
	}
	return n
}

// Name returns the node's name ("" without a node). It is kept in the
// NodeInfo by SetNode: the plugins ask for it for every node of a cycle,
// and the Node object is one cache miss further.
func (n *NodeInfo) Name() string {
	if n == nil || n.Node == nil {
		return ""
	}
	if n.name != "" {
		return n.name
	}
	return n.Node.Name
}

// SetNode sets the node and its allocatable resources.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.Node = node
	n.name = node.Name
	n.ready = false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			n.ready = c.Status == corev1.ConditionTrue
			break
		}
	}
	n.Allocatable = *NewResource(node.Status.Allocatable)
	n.Generation = nextGeneration()
}

// ClearNode forgets the node (deleted while pods still name it).
func (n *NodeInfo) ClearNode() {
	n.Node, n.name, n.ready = nil, "", false
}

// AddPod accounts for a pod on the node.
func (n *NodeInfo) AddPod(p *PodInfo) {
	n.Pods = append(n.Pods, p)
	if p.HasAffinity() {
		n.PodsWithAffinity = append(n.PodsWithAffinity, p)
	}
	if p.HasRequiredAntiAffinity() {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, p)
	}
	n.Requested.plus(p.Requests)
	n.NonZeroRequested.plus(p.NonZeroRequests)
	for _, hp := range podHostPorts(p.Pod) {
		n.UsedPorts[hp]++
	}
	n.Generation = nextGeneration()
}

// RemovePod takes a pod (by UID) off the node; false if it was not there.
func (n *NodeInfo) RemovePod(uid types.UID) bool {
	var found *PodInfo
	n.Pods, found = removeByUID(n.Pods, uid)
	if found == nil {
		return false
	}
	n.PodsWithAffinity, _ = removeByUID(n.PodsWithAffinity, uid)
	n.PodsWithRequiredAntiAffinity, _ = removeByUID(n.PodsWithRequiredAntiAffinity, uid)
	n.Requested.minus(found.Requests)
	n.NonZeroRequested.minus(found.NonZeroRequests)
	for _, hp := range podHostPorts(found.Pod) {
		if n.UsedPorts[hp]--; n.UsedPorts[hp] <= 0 {
			delete(n.UsedPorts, hp)
		}
	}
	n.Generation = nextGeneration()
	return true
}

func removeByUID(pods []*PodInfo, uid types.UID) ([]*PodInfo, *PodInfo) {
	for i, p := range pods {
		if p.Pod.UID == uid {
			last := len(pods) - 1
			pods[i] = pods[last]
			pods[last] = nil
			return pods[:last], p
		}
	}
	return pods, nil
}

// Clone returns a copy that can be changed (AddPod, RemovePod) without
// touching n; the pods themselves are shared and must not be modified.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		Node:                         n.Node,
		name:                         n.name,
		ready:                        n.ready,
		Pods:                         append([]*PodInfo(nil), n.Pods...),
		PodsWithAffinity:             append([]*PodInfo(nil), n.PodsWithAffinity...),
		PodsWithRequiredAntiAffinity: append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...),
		Requested:                    *n.Requested.Clone(),
		NonZeroRequested:             *n.NonZeroRequested.Clone(),
		Allocatable:                  *n.Allocatable.Clone(),
		UsedPorts:                    make(map[HostPort]int, len(n.UsedPorts)),
		ImageStates:                  n.ImageStates,
		Generation:                   n.Generation,
	}
	for k, v := range n.UsedPorts {
		c.UsedPorts[k] = v
	}
	return c
}

// PortInUse reports whether hp conflicts with a port in use: same
// protocol and port, and the same address or either one the wildcard.
func (n *NodeInfo) PortInUse(hp HostPort) bool {
	if n.UsedPorts[hp] > 0 {
		return true
	}
	for used := range n.UsedPorts {
		if used.Port == hp.Port && used.Protocol == hp.Protocol && (used.IP == hp.IP || used.IP == "0.0.0.0" || hp.IP == "0.0.0.0") {
			return true
		}
	}
	return false
}

// PodHostPorts lists the host ports a pod's containers ask for.
func PodHostPorts(pod *corev1.Pod) []HostPort { return podHostPorts(pod) }

func podHostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	add := func(cs []corev1.Container) {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.HostPort <= 0 {
					continue
				}
				hp := HostPort{IP: p.HostIP, Protocol: p.Protocol, Port: p.HostPort}
				if hp.IP == "" || hp.IP == "::" {
					hp.IP = "0.0.0.0"
				}
				if hp.Protocol == "" {
					hp.Protocol = corev1.ProtocolTCP
				}
				out = append(out, hp)
			}
		}
	}
	add(pod.Spec.Containers)
	add(pod.Spec.InitContainers)
	return out
}
