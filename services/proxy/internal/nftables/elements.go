package nftables

import (
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"

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

// claim is a Service's claim on an element key: seq orders the claims
// of one Service (its ports', then their elements' order).
type claim struct {
	svc types.NamespacedName
	seq int
	e   Element
}

func (c claim) compare(d claim) int {
	if x := strings.Compare(c.svc.Namespace, d.svc.Namespace); x != 0 {
		return x
	}
	if x := strings.Compare(c.svc.Name, d.svc.Name); x != 0 {
		return x
	}
	return c.seq - d.seq
}

// claims holds, per element key, every Service asking for it, in
// Service order: the first one's element is the one to install (as
// elementSet.add decides on a full sync). A change of some Services
// re-decides only the keys they touch.
type claims map[string][]claim

// replace drops svc's claims on the keys of old and adds those of els.
func (cs claims) replace(svc types.NamespacedName, old, els []Element) {
	for _, e := range old {
		k := e.key()
		l := slices.DeleteFunc(cs[k], func(c claim) bool { return c.svc == svc })
		if len(l) == 0 {
			delete(cs, k)
		} else {
			cs[k] = l
		}
	}
	for i, e := range els {
		c := claim{svc, i, e}
		k := e.key()
		l := cs[k]
		at, _ := slices.BinarySearchFunc(l, c, claim.compare)
		cs[k] = slices.Insert(l, at, c)
	}
}

// elementChanges returns what turns installed into what the claims ask
// for, for the given keys only: deletes of elements gone or changed
// (by key), then adds of new and changed ones (in claim order). A
// changed value cannot be added over the old one: nft refuses an
// existing key with another value.
func (cs claims) elementChanges(installed map[string]Element, keys []string) (del, add []Element) {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var adds []claim
	for _, k := range keys {
		old, had := installed[k]
		var w claim
		l, ok := cs[k]
		if ok {
			w = l[0]
		}
		same := had && ok && old.Value == w.e.Value && old.Comment == w.e.Comment
		if had && !same {
			del = append(del, old)
		}
		if ok && !same {
			adds = append(adds, w)
		}
	}
	slices.SortFunc(adds, claim.compare)
	for _, c := range adds {
		add = append(add, c.e)
	}
	return del, add
}

// addAll adds every element of want to tx (after a full sync flushed
// the maps and sets).
func addAll(tx *knftables.Transaction, want *elementSet) int {
	for _, k := range want.order {
		tx.Add(want.byKey[k].knft(false))
	}
	return len(want.order)
}

// writeEndpointMap adds to tx what replaces the elements of m (which
// exists, or is added before in tx).
func writeEndpointMap(tx *knftables.Transaction, m EndpointMap) int {
	tx.Flush(&knftables.Map{Name: m.Name})
	for _, e := range m.Entries {
		tx.Add(&knftables.Element{Map: m.Name,
			Key:   []string{strconv.FormatUint(uint64(e.First), 10) + "-" + strconv.FormatUint(uint64(e.Last), 10)},
			Value: []string{e.To.Addr().String(), strconv.Itoa(int(e.To.Port()))}})
	}
	return len(m.Entries)
}
