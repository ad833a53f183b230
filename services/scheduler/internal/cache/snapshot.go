package cache

import (
	"fmt"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// Snapshot is an immutable view of every node for one scheduling cycle
// (framework.NodeInfoLister). UpdateSnapshot refreshes it in place,
// copying only the nodes that changed since.
type Snapshot struct {
	byName                   map[string]*framework.NodeInfo
	list                     []*framework.NodeInfo
	withAffinity             []*framework.NodeInfo
	withRequiredAntiAffinity []*framework.NodeInfo
	generation               int64
}

// NewEmptySnapshot returns a snapshot of no nodes.
func NewEmptySnapshot() *Snapshot {
	return &Snapshot{byName: map[string]*framework.NodeInfo{}}
}

// NewSnapshot builds a snapshot from NodeInfos (for tests and tools).
func NewSnapshot(nodes ...*framework.NodeInfo) *Snapshot {
	s := NewEmptySnapshot()
	for _, n := range nodes {
		s.byName[n.Name()] = n
	}
	s.rebuildLists()
	return s
}

var _ framework.NodeInfoLister = (*Snapshot)(nil)

// List returns every node.
func (s *Snapshot) List() []*framework.NodeInfo { return s.list }

// HavePodsWithAffinityList returns the nodes with pods that have
// affinity terms.
func (s *Snapshot) HavePodsWithAffinityList() []*framework.NodeInfo { return s.withAffinity }

// HavePodsWithRequiredAntiAffinityList returns the nodes with pods that
// have required anti-affinity terms.
func (s *Snapshot) HavePodsWithRequiredAntiAffinityList() []*framework.NodeInfo {
	return s.withRequiredAntiAffinity
}

// Get returns one node.
func (s *Snapshot) Get(name string) (*framework.NodeInfo, error) {
	n, ok := s.byName[name]
	if !ok || n.Node == nil {
		return nil, fmt.Errorf("nodeinfo %q: %w", name, framework.ErrNotFound)
	}
	return n, nil
}

// NumNodes is the number of nodes.
func (s *Snapshot) NumNodes() int { return len(s.list) }

func (s *Snapshot) rebuildLists() {
	s.list = s.list[:0]
	s.withAffinity = s.withAffinity[:0]
	s.withRequiredAntiAffinity = s.withRequiredAntiAffinity[:0]
	for _, n := range s.byName {
		if n.Node == nil {
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
