// Package volumebinding is the VolumeBinding plugin: it keeps a pod that
// uses PersistentVolumeClaims to the nodes its volumes can be used on,
// and, for claims of WaitForFirstConsumer classes, tells the volume
// controllers which node was chosen before the pod is bound, as
// kube-scheduler's plugin of that name does.
//
//   - PreFilter reads the pod's claims (persistentVolumeClaim volumes, and
//     the <pod>-<volume> claims of ephemeral volumes). A missing claim
//     (`persistentvolumeclaim "x" not found`), a claim being deleted, or
//     an unbound claim of an Immediate class ("pod has unbound immediate
//     PersistentVolumeClaims") makes the pod unschedulable until the
//     claims change.
//   - Filter: a claim bound to a volume with a node affinity admits only
//     the nodes the affinity matches ("node(s) had volume node affinity
//     conflict"); an unbound claim of a WaitForFirstConsumer class admits
//     the nodes its class's allowedTopologies allow, and, for classes
//     without a provisioner (kubernetes.io/no-provisioner), only the nodes
//     where an available volume would satisfy it ("node(s) didn't find
//     available persistent volumes to bind").
//   - PreBind sets volume.kubernetes.io/selected-node on each unbound
//     claim of a WaitForFirstConsumer class and waits, polling with
//     back-off, until every claim of the pod is bound (the binder and the
//     provisioner do the binding), for at most the bind timeout (10
//     minutes by default, Args.BindTimeoutSeconds). The pod is bound
//     only then, so that its node agent finds its volumes ready.
//
// The plugin reads the storage objects through the Handle's
// framework.VolumeListerProvider; with a Handle without one it lets every
// pod through.
package volumebinding

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gantry-dev/gantry/libs/storageutil"
	"github.com/gantry-dev/gantry/services/scheduler/framework"
	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "VolumeBinding"

// Rejection reasons, as Kubernetes words them.
const (
	ErrReasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
	ErrReasonNodeConflict     = "node(s) had volume node affinity conflict"
	ErrReasonBindConflict     = "node(s) didn't find available persistent volumes to bind"
	ErrReasonPVNotExist       = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
)

// DefaultBindTimeout is how long PreBind waits for the claims to bind.
const DefaultBindTimeout = 10 * time.Minute

const stateKey framework.StateKey = "PreFilter" + Name

// Args are the plugin's arguments, as in Kubernetes' VolumeBindingArgs.
type Args struct {
	// BindTimeoutSeconds bounds PreBind's wait (default 600).
	BindTimeoutSeconds *int64 `json:"bindTimeoutSeconds,omitempty"`
}

type rawArgs struct {
	helper.TypeMeta
	Args
}

// VolumeBinding filters nodes by the pod's volumes and binds
// WaitForFirstConsumer claims.
type VolumeBinding struct {
	handle      framework.Handle
	bindTimeout time.Duration
	// pollMin and pollMax bound PreBind's polling interval.
	pollMin, pollMax time.Duration
}

var (
	_ framework.PreFilterPlugin   = (*VolumeBinding)(nil)
	_ framework.FilterPlugin      = (*VolumeBinding)(nil)
	_ framework.PreBindPlugin     = (*VolumeBinding)(nil)
	_ framework.EnqueueExtensions = (*VolumeBinding)(nil)
)

// New builds the plugin from its JSON arguments (nil for the defaults).
func New(args json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	var in rawArgs
	if err := helper.DecodeArgs(Name, args, &in); err != nil {
		return nil, err
	}
	if err := in.CheckKind(Name, "VolumeBindingArgs"); err != nil {
		return nil, err
	}
	timeout := DefaultBindTimeout
	if s := in.BindTimeoutSeconds; s != nil {
		if *s < 0 {
			return nil, fmt.Errorf("%s args: bindTimeoutSeconds: Invalid value: %d: must be greater than or equal to 0", Name, *s)
		}
		timeout = time.Duration(*s) * time.Second
	}
	return &VolumeBinding{handle: h, bindTimeout: timeout, pollMin: 50 * time.Millisecond, pollMax: 2 * time.Second}, nil
}

// Name returns the plugin's name.
func (pl *VolumeBinding) Name() string { return Name }

// EventsToRegister: claims, volumes and classes appearing or changing,
// and nodes (labels matched by volume node affinity).
func (pl *VolumeBinding) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.ResourcePersistentVolumeClaim, Action: framework.ActionAdd | framework.ActionUpdate, Label: "PvcChange"},
		{Resource: framework.ResourcePersistentVolume, Action: framework.ActionAdd | framework.ActionUpdate, Label: "PvChange"},
		{Resource: framework.ResourceStorageClass, Action: framework.ActionAdd | framework.ActionUpdate, Label: "StorageClassChange"},
		{Resource: framework.ResourceNode, Action: framework.ActionAdd | framework.ActionUpdateNodeLabel, Label: "NodeChange"},
	}
}

func (pl *VolumeBinding) volumes() framework.VolumeLister {
	if p, ok := pl.handle.(framework.VolumeListerProvider); ok {
		return p.VolumeLister()
	}
	return nil
}

// unboundClaim is a claim of a WaitForFirstConsumer class not bound yet.
type unboundClaim struct {
	claim *corev1.PersistentVolumeClaim
	class *storagev1.StorageClass
}

// state is what PreFilter found of the pod's claims. It is never
// modified after PreFilter, so Clone shares it.
type state struct {
	// bound are the volumes of the pod's bound claims.
	bound []*corev1.PersistentVolume
	// unbound are the claims that wait for a node.
	unbound []unboundClaim
	// missingVolume: a claim names a volume that does not exist.
	missingVolume bool
	// candidates are the available volumes (for classes without a
	// provisioner).
	candidates []*corev1.PersistentVolume
}

func (s *state) Clone() framework.StateData { return s }

// claimNames lists the names of the claims the pod uses.
func claimNames(pod *corev1.Pod) []string {
	var names []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			names = append(names, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			names = append(names, pod.Name+"-"+v.Name)
		}
	}
	return names
}

// PreFilter reads the pod's claims; a pod without any skips the plugin.
func (pl *VolumeBinding) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	names := claimNames(pod)
	vl := pl.volumes()
	if len(names) == 0 || vl == nil {
		return nil, framework.NewStatus(framework.Skip)
	}
	s, st := readClaims(vl, pod.Namespace, names)
	if st != nil {
		return nil, st
	}
	cs.Write(stateKey, s)
	return nil, nil
}

// readClaims classifies the claims: bound (with their volumes) or
// waiting for a node; anything else rejects the pod.
func readClaims(vl framework.VolumeLister, ns string, names []string) (*state, *framework.Status) {
	s := &state{}
	needCandidates := false
	for _, name := range names {
		claim, err := vl.Claim(ns, name)
		if apierrors.IsNotFound(err) {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", name))
		}
		if err != nil {
			return nil, framework.AsStatus(err)
		}
		if claim.DeletionTimestamp != nil {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", name))
		}
		if claim.Spec.VolumeName != "" {
			pv, err := vl.Volume(claim.Spec.VolumeName)
			if apierrors.IsNotFound(err) {
				s.missingVolume = true
				continue
			}
			if err != nil {
				return nil, framework.AsStatus(err)
			}
			s.bound = append(s.bound, pv)
			continue
		}
		var class *storagev1.StorageClass
		if className := storageutil.ClaimClass(claim); className != "" {
			class, err = vl.StorageClass(className)
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, framework.AsStatus(err)
			}
		}
		if class == nil || storageutil.BindingMode(class) != storagev1.VolumeBindingWaitForFirstConsumer {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnboundImmediate)
		}
		s.unbound = append(s.unbound, unboundClaim{claim: claim, class: class})
		needCandidates = needCandidates || class.Provisioner == noProvisioner
	}
	if needCandidates {
		all, err := vl.Volumes()
		if err != nil {
			return nil, framework.AsStatus(err)
		}
		for _, pv := range all {
			if pv.Spec.ClaimRef == nil && pv.DeletionTimestamp == nil {
				s.candidates = append(s.candidates, pv)
			}
		}
	}
	return s, nil
}

// noProvisioner is the provisioner of classes of static volumes only.
const noProvisioner = "kubernetes.io/no-provisioner"

// Filter checks the node against the pod's volumes.
func (pl *VolumeBinding) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil // PreFilter skipped the plugin
	}
	s := d.(*state)
	node := ni.Node
	if node == nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node not found")
	}
	if s.missingVolume {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPVNotExist)
	}
	for _, pv := range s.bound {
		if ok, err := storageutil.VolumeNodeMatches(pv, node); !ok || err != nil {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeConflict)
		}
	}
	taken := map[string]bool{}
	for _, u := range s.unbound {
		if !topologyAllows(u.class, node) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonBindConflict)
		}
		if u.class.Provisioner != noProvisioner {
			continue
		}
		pv := staticVolumeFor(u.claim, s.candidates, node, taken)
		if pv == nil {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonBindConflict)
		}
		taken[pv.Name] = true
	}
	return nil
}

// topologyAllows reports whether the class may provision on node: it has
// no allowedTopologies, or one term matches the node's labels.
func topologyAllows(class *storagev1.StorageClass, node *corev1.Node) bool {
	if len(class.AllowedTopologies) == 0 {
		return true
	}
	for _, term := range class.AllowedTopologies {
		ok := true
		for _, e := range term.MatchLabelExpressions {
			v, has := node.Labels[e.Key]
			if !has || !contains(e.Values, v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// staticVolumeFor finds an available volume, not taken by another claim
// of the pod, that satisfies claim on node.
func staticVolumeFor(claim *corev1.PersistentVolumeClaim, candidates []*corev1.PersistentVolume, node *corev1.Node, taken map[string]bool) *corev1.PersistentVolume {
	want := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	var selector labels.Selector
	if claim.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(claim.Spec.Selector)
		if err != nil {
			return nil
		}
		selector = s
	}
	for _, pv := range candidates {
		have := pv.Spec.Capacity[corev1.ResourceStorage]
		switch {
		case taken[pv.Name], have.Cmp(want) < 0, storageutil.VolumeClass(pv) != storageutil.ClaimClass(claim),
			selector != nil && !selector.Matches(labels.Set(pv.Labels)), !modesContain(pv.Spec.AccessModes, claim.Spec.AccessModes):
			continue
		}
		if ok, err := storageutil.VolumeNodeMatches(pv, node); ok && err == nil {
			return pv
		}
	}
	return nil
}

func modesContain(have, want []corev1.PersistentVolumeAccessMode) bool {
	for _, w := range want {
		if !contains(accessModeStrings(have), string(w)) {
			return false
		}
	}
	return true
}

func accessModeStrings(modes []corev1.PersistentVolumeAccessMode) []string {
	out := make([]string, len(modes))
	for i, m := range modes {
		out[i] = string(m)
	}
	return out
}
