// Package cache is the scheduler's picture of the cluster: every node with
// the pods bound to it and the pods the scheduler has assumed there while
// their bindings are in flight, so that a node is never double-booked.
// Each scheduling cycle works on a Snapshot of it, refreshed in place from
// the nodes that changed since the last cycle.
package cache

import (
	"fmt"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

type podState struct {
	pod  *corev1.Pod
	node string
	// assumed: placed by the scheduler, not yet seen bound by the
	// informer. It stays until the informer confirms it, or ForgetPod.
	assumed bool
}

// Cache is safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	nodes map[string]*framework.NodeInfo
	pods  map[types.UID]*podState
	// order is the sorted node names; dirty the names changed since the
	// last UpdateSnapshot; relist is set when the node set changed.
	order  []string
	dirty  map[string]bool
	relist bool
	images map[string]*framework.ImageState
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{
		nodes:  map[string]*framework.NodeInfo{},
		pods:   map[types.UID]*podState{},
		dirty:  map[string]bool{},
		images: map[string]*framework.ImageState{},
	}
}

func (c *Cache) nodeInfo(name string) *framework.NodeInfo {
	n, ok := c.nodes[name]
	if !ok {
		// Pods may arrive before their node; the NodeInfo waits for it.
		n = framework.NewNodeInfo()
		n.ImageStates = map[string]*framework.ImageState{}
		c.nodes[name] = n
	}
	c.dirty[name] = true
	return n
}

func (c *Cache) addPodLocked(pod *corev1.Pod, assumed bool) {
	c.nodeInfo(pod.Spec.NodeName).AddPod(framework.NewPodInfo(pod))
	c.pods[pod.UID] = &podState{pod: pod, node: pod.Spec.NodeName, assumed: assumed}
}

func (c *Cache) removePodLocked(ps *podState, uid types.UID) {
	if n, ok := c.nodes[ps.node]; ok {
		n.RemovePod(uid)
		c.dirty[ps.node] = true
		if n.Node == nil && len(n.Pods) == 0 {
			delete(c.nodes, ps.node)
		}
	}
	delete(c.pods, uid)
}

// AssumePod places pod (with spec.nodeName set to the chosen node) in the
// cache before it is bound.
func (c *Cache) AssumePod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		return fmt.Errorf("pod %s/%s is in the cache already", pod.Namespace, pod.Name)
	}
	c.addPodLocked(pod, true)
	return nil
}

// ForgetPod takes an assumed pod back (its binding failed).
func (c *Cache) ForgetPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.removePodLocked(ps, pod.UID)
	}
}

// IsAssumed reports whether the pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

// AddPod records a pod the informer shows bound (confirming an assumed
// one, possibly on another node than assumed).
func (c *Cache) AddPod(pod *corev1.Pod) {
	if pod.Spec.NodeName == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePodLocked(ps, pod.UID)
	}
	c.addPodLocked(pod, false)
}

// UpdatePod replaces a bound pod's record.
func (c *Cache) UpdatePod(pod *corev1.Pod) { c.AddPod(pod) }

// RemovePod forgets a pod that was deleted (or finished).
func (c *Cache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePodLocked(ps, pod.UID)
	}
}

// AddNode records or updates a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, known := c.nodes[node.Name]
	if !known || n.Node == nil {
		c.relist = true
		c.order = insertSorted(c.order, node.Name)
	}
	n = c.nodeInfo(node.Name)
	if n.Node != nil {
		c.dropImages(n.Node)
	}
	n.SetNode(node)
	c.addImages(node)
	n.ImageStates = c.imageStatesOf(node)
}

// UpdateNode is AddNode.
func (c *Cache) UpdateNode(node *corev1.Node) { c.AddNode(node) }

// RemoveNode forgets a node; its pods stay until they are deleted.
func (c *Cache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[node.Name]
	if !ok || n.Node == nil {
		return
	}
	c.dropImages(n.Node)
	c.relist = true
	c.dirty[node.Name] = true
	c.order = removeSorted(c.order, node.Name)
	if len(n.Pods) == 0 {
		delete(c.nodes, node.Name)
		return
	}
	n.ClearNode()
}

// imageNames lists every name of every image the node reports.
func imageNames(node *corev1.Node) []string {
	var out []string
	for _, img := range node.Status.Images {
		out = append(out, img.Names...)
	}
	return out
}

func (c *Cache) addImages(node *corev1.Node) {
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			st, ok := c.images[name]
			if !ok {
				st = &framework.ImageState{Size: img.SizeBytes}
				c.images[name] = st
			}
			st.NumNodes++
		}
	}
}

func (c *Cache) dropImages(node *corev1.Node) {
	for _, name := range imageNames(node) {
		if st, ok := c.images[name]; ok {
			if st.NumNodes--; st.NumNodes <= 0 {
				delete(c.images, name)
			}
		}
	}
}

// imageStatesOf copies the cache's per-image records for the node's
// images (NumNodes as of the node's last update).
func (c *Cache) imageStatesOf(node *corev1.Node) map[string]*framework.ImageState {
	out := make(map[string]*framework.ImageState, len(node.Status.Images))
	for _, name := range imageNames(node) {
		if st, ok := c.images[name]; ok {
			cp := *st
			out[name] = &cp
		}
	}
	return out
}

// UpdateSnapshot brings s up to date with the cache, copying only the
// nodes that changed since the last call.
func (c *Cache) UpdateSnapshot(s *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	relist := c.relist
	for name := range c.dirty {
		n, ok := c.nodes[name]
		cur, had := s.byName[name]
		switch {
		case !ok || n.Node == nil:
			if had {
				delete(s.byName, name)
				relist = true
			}
		case had:
			beforeAff, beforeAnti := len(cur.PodsWithAffinity) > 0, len(cur.PodsWithRequiredAntiAffinity) > 0
			*cur = *n.Clone()
			if beforeAff != (len(cur.PodsWithAffinity) > 0) || beforeAnti != (len(cur.PodsWithRequiredAntiAffinity) > 0) {
				relist = true
			}
		default:
			s.byName[name] = n.Clone()
			relist = true
		}
	}
	clear(c.dirty)
	c.relist = false
	if relist {
		s.list = s.list[:0]
		s.withAffinity = s.withAffinity[:0]
		s.withRequiredAntiAffinity = s.withRequiredAntiAffinity[:0]
		for _, name := range c.order {
			n, ok := s.byName[name]
			if !ok {
				continue
			}
			s.list = append(s.list, n)
			if len(n.PodsWithAffinity) > 0 {
				s.withAffinity = append(s.withAffinity, n)
			}
			if len(n.PodsWithRequiredAntiAffinity) > 0 {
				s.withRequiredAntiAffinity = append(s.withRequiredAntiAffinity, n)
			}
		}
	}
}

func insertSorted(s []string, v string) []string {
	i := sort.SearchStrings(s, v)
	if i < len(s) && s[i] == v {
		return s
	}
	s = append(s, "")
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func removeSorted(s []string, v string) []string {
	i := sort.SearchStrings(s, v)
	if i < len(s) && s[i] == v {
		return append(s[:i], s[i+1:]...)
	}
	return s
}
