package volumebinding

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/libs/storageutil"
	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// fakeVolumes serves storage objects from memory.
type fakeVolumes struct {
	mu       sync.Mutex
	claims   map[string]*corev1.PersistentVolumeClaim
	volumes  map[string]*corev1.PersistentVolume
	classes  map[string]*storagev1.StorageClass
	selected map[string]string
	// onSelect runs after SelectNode (the controllers' part).
	onSelect func(f *fakeVolumes, claim string)
}

func newFake() *fakeVolumes {
	return &fakeVolumes{claims: map[string]*corev1.PersistentVolumeClaim{}, volumes: map[string]*corev1.PersistentVolume{},
		classes: map[string]*storagev1.StorageClass{}, selected: map[string]string{}}
}

func notFound(resource, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

func (f *fakeVolumes) Claim(ns, name string) (*corev1.PersistentVolumeClaim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.claims[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, notFound("persistentvolumeclaims", name)
}

func (f *fakeVolumes) Volume(name string) (*corev1.PersistentVolume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pv, ok := f.volumes[name]; ok {
		return pv, nil
	}
	return nil, notFound("persistentvolumes", name)
}

func (f *fakeVolumes) Volumes() ([]*corev1.PersistentVolume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*corev1.PersistentVolume
	for _, pv := range f.volumes {
		out = append(out, pv)
	}
	return out, nil
}

func (f *fakeVolumes) StorageClass(name string) (*storagev1.StorageClass, error) {
	if sc, ok := f.classes[name]; ok {
		return sc, nil
	}
	return nil, notFound("storageclasses", name)
}

func (f *fakeVolumes) SelectNode(_ context.Context, claim *corev1.PersistentVolumeClaim, node string) error {
	f.mu.Lock()
	key := claim.Namespace + "/" + claim.Name
	f.selected[key] = node
	next := f.claims[key].DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[storageutil.AnnSelectedNode] = node
	f.claims[key] = next
	f.mu.Unlock()
	if f.onSelect != nil {
		f.onSelect(f, key)
	}
	return nil
}

// bind plays the binder: the claim is bound to a volume named after it.
func (f *fakeVolumes) bind(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	claim := f.claims[key].DeepCopy()
	claim.Spec.VolumeName = "pvc-" + claim.Name
	claim.Annotations[storageutil.AnnBindCompleted] = "yes"
	f.claims[key] = claim
	f.volumes[claim.Spec.VolumeName] = volume(claim.Spec.VolumeName, "1Gi", storageutil.ClaimClass(claim),
		func(pv *corev1.PersistentVolume) {
			pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: claim.Name, UID: claim.UID}
		})
}

// handle is a framework.Handle that provides volumes.
type handle struct {
	framework.Handle
	v framework.VolumeLister
}

func (h handle) VolumeLister() framework.VolumeLister { return h.v }

func claim(name, class, volumeName string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name + "-uid")},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			StorageClassName: &class, VolumeName: volumeName,
		},
	}
}

func volume(name, size, class string, mut ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:         corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: class,
		},
	}
	for _, m := range mut {
		m(pv)
	}
	return pv
}

func onHost(host string) func(*corev1.PersistentVolume) {
	return func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = storageutil.HostnameAffinity(host) }
}

func class(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
}

func podWith(claims ...string) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "web-uid"}}
	for _, c := range claims {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: c,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return pod
}

func nodeInfo(name string, labels map[string]string) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	l := map[string]string{storageutil.LabelHostname: name}
	for k, v := range labels {
		l[k] = v
	}
	ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}})
	return ni
}

func fixture() *fakeVolumes {
	f := newFake()
	for _, sc := range []*storagev1.StorageClass{
		class("local-path", storageutil.LocalPathProvisioner, storagev1.VolumeBindingWaitForFirstConsumer),
		class("fast", "example.com/fast", storagev1.VolumeBindingImmediate),
		class("local-static", noProvisioner, storagev1.VolumeBindingWaitForFirstConsumer),
		func() *storagev1.StorageClass {
			sc := class("zonal", "example.com/zonal", storagev1.VolumeBindingWaitForFirstConsumer)
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
				{Key: "zone", Values: []string{"a"}}}}}
			return sc
		}(),
	} {
		f.classes[sc.Name] = sc
	}
	for _, c := range []*corev1.PersistentVolumeClaim{
		claim("on-n1", "local-path", "pv-n1"), claim("anywhere", "fast", "pv-any"), claim("wffc", "local-path", ""),
		claim("immediate", "fast", ""), claim("no-class", "", ""), claim("dangling", "fast", "gone"),
		claim("static", "local-static", ""), claim("zonal", "zonal", ""),
		func() *corev1.PersistentVolumeClaim {
			c := claim("deleting", "fast", "")
			now := metav1.Now()
			c.DeletionTimestamp = &now
			return c
		}(),
	} {
		f.claims["default/"+c.Name] = c
	}
	f.volumes["pv-n1"] = volume("pv-n1", "1Gi", "local-path", onHost("n1"))
	f.volumes["pv-any"] = volume("pv-any", "1Gi", "fast")
	f.volumes["static-n2"] = volume("static-n2", "5Gi", "local-static", onHost("n2"))
	return f
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name          string
		pod           *corev1.Pod
		wantPreFilter framework.Code
		preReason     string
		nodes         map[string]framework.Code // node -> code
		reason        string
	}{
		{name: "no claims: skipped", pod: podWith(), wantPreFilter: framework.Skip},
		{name: "bound to a node-local volume", pod: podWith("on-n1"),
			nodes: map[string]framework.Code{"n1": framework.Success, "n2": framework.UnschedulableAndUnresolvable}, reason: ErrReasonNodeConflict},
		{name: "bound to a volume without affinity", pod: podWith("anywhere"),
			nodes: map[string]framework.Code{"n1": framework.Success, "n2": framework.Success}},
		{name: "waits for its first consumer: any node", pod: podWith("wffc", "anywhere"),
			nodes: map[string]framework.Code{"n1": framework.Success, "n2": framework.Success}},
		{name: "missing claim", pod: podWith("nope"), wantPreFilter: framework.UnschedulableAndUnresolvable,
			preReason: `persistentvolumeclaim "nope" not found`},
		{name: "claim being deleted", pod: podWith("deleting"), wantPreFilter: framework.UnschedulableAndUnresolvable,
			preReason: `persistentvolumeclaim "deleting" is being deleted`},
		{name: "unbound immediate claim", pod: podWith("immediate"), wantPreFilter: framework.UnschedulableAndUnresolvable,
			preReason: ErrReasonUnboundImmediate},
		{name: "unbound claim without class", pod: podWith("no-class"), wantPreFilter: framework.UnschedulableAndUnresolvable,
			preReason: ErrReasonUnboundImmediate},
		{name: "bound to a missing volume", pod: podWith("dangling"),
			nodes: map[string]framework.Code{"n1": framework.UnschedulableAndUnresolvable}, reason: ErrReasonPVNotExist},
		{name: "static class: only where a volume waits", pod: podWith("static"),
			nodes: map[string]framework.Code{"n1": framework.UnschedulableAndUnresolvable, "n2": framework.Success}, reason: ErrReasonBindConflict},
		{name: "allowed topologies", pod: podWith("zonal"),
			nodes: map[string]framework.Code{"n1": framework.Success, "n2": framework.UnschedulableAndUnresolvable}, reason: ErrReasonBindConflict},
	}
	zones := map[string]string{"n1": "a", "n2": "b"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(nil, handle{v: fixture()})
			if err != nil {
				t.Fatal(err)
			}
			pl := p.(*VolumeBinding)
			cs := framework.NewCycleState()
			_, st := pl.PreFilter(context.Background(), cs, tt.pod, nil)
			if st.Code() != tt.wantPreFilter || !strings.Contains(st.Message(), tt.preReason) {
				t.Fatalf("PreFilter = %v, want %v %q", st, tt.wantPreFilter, tt.preReason)
			}
			if !st.IsSuccess() {
				return
			}
			for node, want := range tt.nodes {
				st := pl.Filter(context.Background(), cs, tt.pod, nodeInfo(node, map[string]string{"zone": zones[node]}))
				if st.Code() != want {
					t.Errorf("Filter(%s) = %v, want %v", node, st, want)
				}
				if want != framework.Success && st.Message() != tt.reason {
					t.Errorf("Filter(%s) reason %q, want %q", node, st.Message(), tt.reason)
				}
			}
		})
	}
}

func TestPreBind(t *testing.T) {
	t.Run("selects the node and waits until bound", func(t *testing.T) {
		f := fixture()
		f.onSelect = func(f *fakeVolumes, key string) { go f.bind(key) }
		p, _ := New(nil, handle{v: f})
		pl := p.(*VolumeBinding)
		cs := framework.NewCycleState()
		pod := podWith("wffc", "on-n1")
		if _, st := pl.PreFilter(context.Background(), cs, pod, nil); !st.IsSuccess() {
			t.Fatal(st)
		}
		if st := pl.PreBind(context.Background(), cs, pod, "n1"); !st.IsSuccess() {
			t.Fatalf("PreBind = %v", st)
		}
		if got := f.selected["default/wffc"]; got != "n1" {
			t.Errorf("selected node = %q, want n1", got)
		}
		if len(f.selected) != 1 {
			t.Errorf("annotated %v; only the waiting claim should be", f.selected)
		}
	})
	t.Run("times out", func(t *testing.T) {
		f := fixture()
		timeout := json.RawMessage(`{"bindTimeoutSeconds": 0}`)
		p, err := New(timeout, handle{v: f})
		if err != nil {
			t.Fatal(err)
		}
		pl := p.(*VolumeBinding)
		cs := framework.NewCycleState()
		pod := podWith("wffc")
		pl.PreFilter(context.Background(), cs, pod, nil)
		st := pl.PreBind(context.Background(), cs, pod, "n1")
		if st.Code() != framework.Error || !strings.Contains(st.Message(), "timed out") {
			t.Errorf("PreBind = %v, want a time-out error", st)
		}
	})
	t.Run("claim deleted while waiting", func(t *testing.T) {
		f := fixture()
		f.onSelect = func(f *fakeVolumes, key string) {
			f.mu.Lock()
			delete(f.claims, key)
			f.mu.Unlock()
		}
		p, _ := New(nil, handle{v: f})
		pl := p.(*VolumeBinding)
		cs := framework.NewCycleState()
		pod := podWith("wffc")
		pl.PreFilter(context.Background(), cs, pod, nil)
		done := make(chan *framework.Status)
		go func() { done <- pl.PreBind(context.Background(), cs, pod, "n1") }()
		select {
		case st := <-done:
			if err := st.AsError(); err == nil || !strings.Contains(err.Error(), `persistentvolumeclaim "wffc" was deleted`) {
				t.Errorf("PreBind = %v", st)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("PreBind did not return")
		}
	})
	t.Run("nothing to wait for", func(t *testing.T) {
		p, _ := New(nil, handle{v: fixture()})
		pl := p.(*VolumeBinding)
		cs := framework.NewCycleState()
		pod := podWith("on-n1")
		pl.PreFilter(context.Background(), cs, pod, nil)
		if st := pl.PreBind(context.Background(), cs, pod, "n1"); !st.IsSuccess() {
			t.Errorf("PreBind = %v", st)
		}
	})
}

func TestArgs(t *testing.T) {
	if _, err := New(json.RawMessage(`{"bindTimeoutSeconds": -1}`), nil); err == nil {
		t.Error("negative timeout accepted")
	}
	if _, err := New(json.RawMessage(`{"kind": "NodePortsArgs"}`), nil); err == nil {
		t.Error("wrong kind accepted")
	}
	p, err := New(json.RawMessage(`{"bindTimeoutSeconds": 30}`), nil)
	if err != nil || p.(*VolumeBinding).bindTimeout != 30*time.Second {
		t.Errorf("New = %v, %v", p, err)
	}
	// Without a VolumeListerProvider every pod passes.
	_, st := p.(*VolumeBinding).PreFilter(context.Background(), framework.NewCycleState(), podWith("x"), nil)
	if !st.IsSkip() {
		t.Errorf("PreFilter without volumes = %v, want Skip", st)
	}
}
