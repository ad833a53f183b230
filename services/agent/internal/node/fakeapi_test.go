package node

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	nodesGR  = schema.GroupResource{Resource: "nodes"}
	leasesGR = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
)

// fakeAPI keeps Nodes and Leases in memory with the API server's rules
// that the node relies on: compare-and-swap on resourceVersion, status
// and spec written apart, objects round-tripped through JSON (so times
// lose their nanoseconds, as on the wire).
type fakeAPI struct {
	mu     sync.Mutex
	nodes  map[string]*corev1.Node
	leases map[string]*coordinationv1.Lease
	rv     int
	calls  map[string]int

	// down fails every call as an unreachable server would.
	down bool
	// keepStatusOnCreate stores a new Node's status, as Kubernetes does;
	// without it the status is dropped, as Gantry's API server does.
	keepStatusOnCreate bool
	// statusConflicts fails that many status updates with a conflict.
	statusConflicts int
	// invalid rejects Node creation as invalid.
	invalid bool
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{nodes: map[string]*corev1.Node{}, leases: map[string]*coordinationv1.Lease{}, calls: map[string]int{}}
}

// enterLocked counts a call and fails it when the server is down.
func (f *fakeAPI) enterLocked(call string) error {
	f.calls[call]++
	if f.down {
		return apierrors.NewServiceUnavailable("connection refused")
	}
	return nil
}

// count is how often call was made.
func (f *fakeAPI) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[call]
}

func (f *fakeAPI) setDown(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = v
}

func (f *fakeAPI) nextRV() string {
	f.rv++
	return strconv.Itoa(f.rv)
}

func roundTrip[T any](obj T) T {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func (f *fakeAPI) GetNode(_ context.Context, name string, _ metav1.GetOptions) (*corev1.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enterLocked("GetNode"); err != nil {
		return nil, err
	}
	n, ok := f.nodes[name]
	if !ok {
		return nil, apierrors.NewNotFound(nodesGR, name)
	}
	return n.DeepCopy(), nil
}

func (f *fakeAPI) CreateNode(_ context.Context, node *corev1.Node) (*corev1.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enterLocked("CreateNode"); err != nil {
		return nil, err
	}
	if f.invalid {
		return nil, apierrors.NewInvalid(schema.GroupKind{Kind: "Node"}, node.Name,
			field.ErrorList{field.Invalid(field.NewPath("metadata", "labels"), "x", "bad label")})
	}
	if _, ok := f.nodes[node.Name]; ok {
		return nil, apierrors.NewAlreadyExists(nodesGR, node.Name)
	}
	n := roundTrip(node)
	n.UID = types.UID("uid-" + f.nextRV())
	n.ResourceVersion = strconv.Itoa(f.rv)
	if !f.keepStatusOnCreate {
		n.Status = corev1.NodeStatus{}
	}
	f.nodes[n.Name] = n
	return n.DeepCopy(), nil
}

// put stores node as it is (a test's setup, or another writer).
func (f *fakeAPI) put(node *corev1.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := roundTrip(node)
	n.ResourceVersion = f.nextRV()
	f.nodes[n.Name] = n
}

// get returns the stored node.
func (f *fakeAPI) get(name string) *corev1.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[name].DeepCopy()
}

func (f *fakeAPI) deleteNode(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.nodes, name)
}

func (f *fakeAPI) UpdateNode(_ context.Context, node *corev1.Node) (*corev1.Node, error) {
	return f.updateNode("UpdateNode", node, func(cur, next *corev1.Node) { next.Status = cur.Status })
}

func (f *fakeAPI) UpdateNodeStatus(_ context.Context, node *corev1.Node) (*corev1.Node, error) {
	return f.updateNode("UpdateNodeStatus", node, func(cur, next *corev1.Node) {
		status := next.Status
		*next = *cur.DeepCopy()
		next.Status = status
	})
}

func (f *fakeAPI) updateNode(call string, node *corev1.Node, merge func(cur, next *corev1.Node)) (*corev1.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enterLocked(call); err != nil {
		return nil, err
	}
	cur, ok := f.nodes[node.Name]
	if !ok {
		return nil, apierrors.NewNotFound(nodesGR, node.Name)
	}
	if call == "UpdateNodeStatus" && f.statusConflicts > 0 {
		f.statusConflicts--
		return nil, apierrors.NewConflict(nodesGR, node.Name, errors.New("the object has been modified"))
	}
	if node.ResourceVersion != cur.ResourceVersion {
		return nil, apierrors.NewConflict(nodesGR, node.Name, errors.New("the object has been modified"))
	}
	next := roundTrip(node)
	merge(cur, next)
	next.ResourceVersion = f.nextRV()
	f.nodes[next.Name] = next
	return next.DeepCopy(), nil
}

func (f *fakeAPI) GetLease(_ context.Context, namespace, name string) (*coordinationv1.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enterLocked("GetLease"); err != nil {
		return nil, err
	}
	l, ok := f.leases[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(leasesGR, name)
	}
	return l.DeepCopy(), nil
}

func (f *fakeAPI) CreateLease(_ context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enterLocked("CreateLease"); err != nil {
		return nil, err
	}
	key := lease.Namespace + "/" + lease.Name
	if _, ok := f.leases[key]; ok {
		return nil, apierrors.NewAlreadyExists(leasesGR, lease.Name)
	}
	l := roundTrip(lease)
	l.ResourceVersion = f.nextRV()
	f.leases[key] = l
	return l.DeepCopy(), nil
}

func (f *fakeAPI) UpdateLease(_ context.Context, lease *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enterLocked("UpdateLease"); err != nil {
		return nil, err
	}
	key := lease.Namespace + "/" + lease.Name
	cur, ok := f.leases[key]
	if !ok {
		return nil, apierrors.NewNotFound(leasesGR, lease.Name)
	}
	if lease.ResourceVersion != cur.ResourceVersion {
		return nil, apierrors.NewConflict(leasesGR, lease.Name, errors.New("the object has been modified"))
	}
	l := roundTrip(lease)
	l.ResourceVersion = f.nextRV()
	f.leases[key] = l
	return l.DeepCopy(), nil
}

// lease returns the stored Lease of node name.
func (f *fakeAPI) lease(name string) *coordinationv1.Lease {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leases[corev1.NamespaceNodeLease+"/"+name].DeepCopy()
}

// touchLease is another writer updating the Lease.
func (f *fakeAPI) touchLease(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leases[corev1.NamespaceNodeLease+"/"+name].ResourceVersion = f.nextRV()
}

func (f *fakeAPI) deleteLease(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.leases, corev1.NamespaceNodeLease+"/"+name)
}
