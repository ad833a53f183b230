package garbagecollector

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// objectRef identifies an object: the coordinates an owner reference
// gives, and the namespace (empty for cluster-scoped objects).
type objectRef struct {
	APIVersion string
	Kind       string
	Name       string
	UID        types.UID
	Namespace  string
}

func (r objectRef) String() string {
	if r.Namespace == "" {
		return fmt.Sprintf("[%s/%s, name: %s, uid: %s]", r.APIVersion, r.Kind, r.Name, r.UID)
	}
	return fmt.Sprintf("[%s/%s, namespace: %s, name: %s, uid: %s]", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
}

// refTo is the identity an owner reference names, seen from an object in
// namespace (a namespaced owner lives in its dependent's namespace).
func refTo(owner metav1.OwnerReference, namespace string) objectRef {
	return objectRef{APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: owner.UID, Namespace: namespace}
}

// matches reports whether an owner reference has the coordinates of r.
func (r objectRef) matches(owner metav1.OwnerReference) bool {
	return owner.UID == r.UID && owner.Name == r.Name && owner.Kind == r.Kind && owner.APIVersion == r.APIVersion
}

// node is an object in the dependency graph. Nodes are only read and
// written under the graph's lock.
type node struct {
	identity objectRef
	// owners are the object's ownerReferences as last observed.
	owners     []metav1.OwnerReference
	dependents map[*node]struct{}
	// observed is false for a "virtual" node: an owner some dependent
	// names that no informer has shown yet (it may not exist).
	observed bool
	// beingDeleted: the object has a deletionTimestamp.
	beingDeleted bool
	// deletingDependents: being deleted in the foreground (the
	// foregroundDeletion finalizer); it waits for its blocking dependents.
	deletingDependents bool
}

// blockedBy reports whether dependent d blocks the deletion of n
// (blockOwnerDeletion in its reference to n).
func (n *node) blockedBy(d *node) bool {
	for _, ref := range d.owners {
		if ref.UID == n.identity.UID && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// view is a copy of what a worker needs of a node, taken under the lock.
type view struct {
	identity           objectRef
	observed           bool
	beingDeleted       bool
	deletingDependents bool
	dependents         []dependentView
}

// dependentView is one dependent of a viewed node.
type dependentView struct {
	identity objectRef
	// blocking: the dependent's reference to the owner has
	// blockOwnerDeletion=true.
	blocking           bool
	deletingDependents bool
}

// graph is the dependency graph: every object of the watched resources
// by UID, with owners and dependents. One builder goroutine writes it;
// workers read views of it.
type graph struct {
	mu    sync.RWMutex
	nodes map[types.UID]*node
}

func newGraph() *graph { return &graph{nodes: map[types.UID]*node{}} }

// view returns a copy of the node uid, or false when it is not in the
// graph.
func (g *graph) view(uid types.UID) (view, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	if !ok {
		return view{}, false
	}
	v := view{identity: n.identity, observed: n.observed, beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents}
	for d := range n.dependents {
		v.dependents = append(v.dependents, dependentView{
			identity: d.identity, blocking: n.blockedBy(d), deletingDependents: d.deletingDependents,
		})
	}
	slices.SortFunc(v.dependents, func(a, b dependentView) int { return compareUID(a.identity.UID, b.identity.UID) })
	return v, true
}

func compareUID(a, b types.UID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// size is how many nodes the graph holds.
func (g *graph) size() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.nodes)
}

// eventType is what happened to an object.
type eventType int

const (
	addEvent eventType = iota
	updateEvent
	deleteEvent
)

// objectMeta is what the graph needs of an object.
type objectMeta struct {
	uid          types.UID
	name         string
	namespace    string
	owners       []metav1.OwnerReference
	finalizers   []string
	beingDeleted bool
}

func metaOf(obj metav1.Object) objectMeta {
	return objectMeta{
		uid: obj.GetUID(), name: obj.GetName(), namespace: obj.GetNamespace(),
		owners: obj.GetOwnerReferences(), finalizers: obj.GetFinalizers(),
		beingDeleted: obj.GetDeletionTimestamp() != nil,
	}
}

func (m objectMeta) has(finalizer string) bool { return slices.Contains(m.finalizers, finalizer) }

// event is a change of the graph: from an informer, or "virtual" (the
// collector found an object gone that the graph still holds).
type event struct {
	typ     eventType
	gvk     schema.GroupVersionKind
	obj     objectMeta
	old     *objectMeta // the previous state of an update
	virtual bool
}

func (e *event) identity() objectRef {
	return objectRef{
		APIVersion: e.gvk.GroupVersion().String(), Kind: e.gvk.Kind,
		Name: e.obj.name, UID: e.obj.uid, Namespace: e.obj.namespace,
	}
}

// effects are what processing an event asks of the collector.
type effects struct {
	// attemptToDelete are nodes to check: delete them if their owners
	// are gone, or finish their foreground deletion.
	attemptToDelete []types.UID
	// attemptToOrphan are owners being deleted with the orphan
	// finalizer, whose dependents are to be released.
	attemptToOrphan []types.UID
	// absent are identities now known not to exist.
	absent []objectRef
}

func (f *effects) delete(n *node) { f.attemptToDelete = append(f.attemptToDelete, n.identity.UID) }

// process applies one event to the graph (Kubernetes' processGraphChanges)
// and returns what the collector should look at.
func (g *graph) process(ev *event) effects {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out effects
	existing, found := g.nodes[ev.obj.uid]
	if found && !ev.virtual && !existing.observed {
		// A virtual node turns real: take the observed identity, and
		// have dependents that named it otherwise checked again.
		observed := ev.identity()
		if existing.identity != observed {
			for d := range existing.dependents {
				if !referencesMatch(d, observed) {
					out.delete(d)
				}
			}
			existing.identity = observed
		}
		existing.observed = true
	}
	switch {
	case ev.typ != deleteEvent && !found:
		n := &node{
			identity: ev.identity(), owners: ev.obj.owners, dependents: map[*node]struct{}{},
			observed: !ev.virtual, beingDeleted: ev.obj.beingDeleted,
			deletingDependents: ev.obj.beingDeleted && ev.obj.has(metav1.FinalizerDeleteDependents),
		}
		g.nodes[n.identity.UID] = n
		g.addDependentToOwners(n, n.owners, &out)
		g.transitions(ev, n, &out)
	case ev.typ != deleteEvent:
		n := existing
		added, removed, changed := referencesDiffs(n.owners, ev.obj.owners)
		if len(added)+len(removed)+len(changed) > 0 {
			g.unblockedOwners(removed, changed, &out)
			n.owners = ev.obj.owners
			g.addDependentToOwners(n, added, &out)
			g.removeDependentFromOwners(n, removed)
		}
		n.beingDeleted = ev.obj.beingDeleted
		n.deletingDependents = ev.obj.beingDeleted && ev.obj.has(metav1.FinalizerDeleteDependents)
		g.transitions(ev, n, &out)
	case !found:
		// A delete of an object never seen (or already removed by a
		// virtual delete): nothing to do.
	default:
		g.processDelete(ev, existing, &out)
	}
	return out
}

func (g *graph) processDelete(ev *event, n *node, out *effects) {
	deleted := ev.identity()
	if ev.virtual && n.identity != deleted {
		// The object the collector found gone is not the one the graph
		// knows under this UID (a dependent named it with other
		// coordinates): keep the node, and have the dependents that
		// named the absent identity checked.
		for d := range n.dependents {
			if referencesMatch(d, deleted) {
				out.absent = append(out.absent, deleted)
				out.delete(d)
			}
		}
		return
	}
	delete(g.nodes, n.identity.UID)
	g.removeDependentFromOwners(n, n.owners)
	if len(n.dependents) > 0 {
		out.absent = append(out.absent, deleted)
	}
	for d := range n.dependents {
		out.delete(d)
	}
	// An owner waiting for its dependents may be done now.
	for _, ref := range n.owners {
		if owner, ok := g.nodes[ref.UID]; ok && owner.deletingDependents {
			out.delete(owner)
		}
	}
}

// referencesMatch reports whether d names owner with the owner's exact
// coordinates (and, for a namespaced owner, from its namespace).
func referencesMatch(d *node, owner objectRef) bool {
	if owner.Namespace != "" && owner.Namespace != d.identity.Namespace {
		return false
	}
	for _, ref := range d.owners {
		if ref.UID == owner.UID && owner.matches(ref) {
			return true
		}
	}
	return false
}

// addDependentToOwners links n to the owners named by refs, making
// virtual nodes for owners not seen yet (checked by attemptToDelete, which
// removes them when the API server confirms they do not exist).
func (g *graph) addDependentToOwners(n *node, refs []metav1.OwnerReference, out *effects) {
	suspicious := false
	for _, ref := range refs {
		owner, ok := g.nodes[ref.UID]
		if !ok {
			owner = &node{identity: refTo(ref, n.identity.Namespace), dependents: map[*node]struct{}{}}
			g.nodes[ref.UID] = owner
			out.delete(owner)
		} else if owner.identity.Namespace != "" && owner.identity.Namespace != n.identity.Namespace {
			// A namespaced owner in another namespace is no owner.
			suspicious = true
		} else if !owner.identity.matches(ref) {
			suspicious = true
		}
		owner.dependents[n] = struct{}{}
	}
	if suspicious {
		// Let attemptToDelete check the references against the API
		// server: it deletes n if none of its owners exists.
		out.delete(n)
	}
}

func (g *graph) removeDependentFromOwners(n *node, refs []metav1.OwnerReference) {
	for _, ref := range refs {
		if owner, ok := g.nodes[ref.UID]; ok {
			delete(owner.dependents, n)
		}
	}
}

// unblockedOwners queues owners that a removed or no longer blocking
// reference may have been holding up.
func (g *graph) unblockedOwners(removed []metav1.OwnerReference, changed []refPair, out *effects) {
	for _, ref := range removed {
		if blocking(ref) {
			if owner, ok := g.nodes[ref.UID]; ok {
				out.delete(owner)
			}
		}
	}
	for _, c := range changed {
		if blocking(c.old) && !blocking(c.new) {
			if owner, ok := g.nodes[c.new.UID]; ok {
				out.delete(owner)
			}
		}
	}
}

func blocking(ref metav1.OwnerReference) bool {
	return ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion
}

// transitions queues the work an object starting its deletion with the
// orphan or foregroundDeletion finalizer asks for.
func (g *graph) transitions(ev *event, n *node, out *effects) {
	switch {
	case startsWith(ev, metav1.FinalizerOrphanDependents):
		out.attemptToOrphan = append(out.attemptToOrphan, n.identity.UID)
	case startsWith(ev, metav1.FinalizerDeleteDependents):
		n.deletingDependents = true
		for d := range n.dependents {
			out.delete(d)
		}
		out.delete(n)
	}
}

// startsWith reports whether the event shows the object's deletion
// starting (or first seen) with finalizer.
func startsWith(ev *event, finalizer string) bool {
	if !ev.obj.beingDeleted || !ev.obj.has(finalizer) {
		return false
	}
	return ev.old == nil || !ev.old.beingDeleted || !ev.old.has(finalizer)
}

type refPair struct{ old, new metav1.OwnerReference }

// referencesDiffs compares two ownerReferences lists by UID.
func referencesDiffs(old, cur []metav1.OwnerReference) (added, removed []metav1.OwnerReference, changed []refPair) {
	before := make(map[types.UID]metav1.OwnerReference, len(old))
	for _, ref := range old {
		before[ref.UID] = ref
	}
	for _, ref := range cur {
		prev, ok := before[ref.UID]
		if !ok {
			added = append(added, ref)
			continue
		}
		if !reflect.DeepEqual(prev, ref) {
			changed = append(changed, refPair{old: prev, new: ref})
		}
		delete(before, ref.UID)
	}
	for _, ref := range old {
		if _, ok := before[ref.UID]; ok {
			removed = append(removed, ref)
		}
	}
	return added, removed, changed
}
