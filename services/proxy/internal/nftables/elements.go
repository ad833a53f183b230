package nftables

import (
	"slices"

	"sigs.k8s.io/knftables"
)

// elementSet is the elements of the shared maps and sets, by key (map
// or set name and key), in the order they were added.
type elementSet struct {
	byKey map[string]Element
	order []string
}

func newElementSet() *elementSet { return &elementSet{byKey: map[string]Element{}} }

// add keeps e unless an element with its key is there already (two
// Services claiming one address and port: the first, in Service order,
// wins, as the first of two iptables rules would). It reports whether e
// was kept or was the same as the one there.
func (s *elementSet) add(e Element) bool {
	k := e.key()
	if old, ok := s.byKey[k]; ok {
		return old.Value == e.Value
	}
	s.byKey[k] = e
	s.order = append(s.order, k)
	return true
}

func (s *elementSet) len() int { return len(s.byKey) }

// knft is e as a knftables element; del leaves out what a delete does
// not take.
func (e Element) knft(del bool) *knftables.Element {
	ke := &knftables.Element{Key: e.Key}
	if e.Value == "" {
		ke.Set = e.In
	} else {
		ke.Map = e.In
	}
	if !del {
		if e.Value != "" {
			ke.Value = []string{e.Value}
		}
		if e.Comment != "" {
			ke.Comment = knftables.PtrTo(e.Comment)
		}
	}
	return ke
}

// diffElements adds to tx what turns the installed elements into want:
// deletes of elements gone or changed (sorted), then adds of new and
// changed ones (in want's order). A changed value cannot be added over
// the old one: nft refuses an existing key with another value.
func diffElements(tx *knftables.Transaction, installed, want *elementSet) (ops int) {
	var gone []string
	for k, old := range installed.byKey {
		if e, ok := want.byKey[k]; !ok || e.Value != old.Value || e.Comment != old.Comment {
			gone = append(gone, k)
		}
	}
	slices.Sort(gone)
	for _, k := range gone {
		tx.Delete(installed.byKey[k].knft(true))
		ops++
	}
	for _, k := range want.order {
		e := want.byKey[k]
		if old, ok := installed.byKey[k]; ok && old.Value == e.Value && old.Comment == e.Comment {
			continue
		}
		tx.Add(e.knft(false))
		ops++
	}
	return ops
}

// addAll adds every element of want to tx (after a full sync flushed
// the maps).
func addAll(tx *knftables.Transaction, want *elementSet) int {
	for _, k := range want.order {
		tx.Add(want.byKey[k].knft(false))
	}
	return len(want.order)
}
