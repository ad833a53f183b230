package volume

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/libs/storageutil"
)

func TestFindMatchingVolume(t *testing.T) {
	claim := testClaim("data", "manual")
	tests := []struct {
		name    string
		claim   *corev1.PersistentVolumeClaim
		volumes []*corev1.PersistentVolume
		node    *corev1.Node
		delay   bool
		want    string
	}{
		{"smallest that fits", claim, []*corev1.PersistentVolume{
			testVolume("big", "10Gi", "manual"), testVolume("small", "512Mi", "manual"), testVolume("fit", "2Gi", "manual")}, nil, false, "fit"},
		{"other class", claim, []*corev1.PersistentVolume{testVolume("fast", "2Gi", "fast")}, nil, false, ""},
		{"too few access modes", testClaim("data", "manual", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}), []*corev1.PersistentVolume{testVolume("rwo", "2Gi", "manual")}, nil, false, ""},
		{"taken", claim, []*corev1.PersistentVolume{testVolume("taken", "2Gi", "manual", claimRefTo(testClaim("other", "manual")))}, nil, false, ""},
		{"pre-bound wins over a better fit", claim, []*corev1.PersistentVolume{
			testVolume("fit", "1Gi", "manual"), testVolume("mine", "5Gi", "manual", claimRefTo(claim))}, nil, false, "mine"},
		{"being deleted", claim, []*corev1.PersistentVolume{testVolume("gone", "2Gi", "manual", deleting)}, nil, false, ""},
		{"block volume for a filesystem claim", claim, []*corev1.PersistentVolume{testVolume("blk", "2Gi", "manual", func(pv *corev1.PersistentVolume) {
			pv.Spec.VolumeMode = new(corev1.PersistentVolumeBlock)
		})}, nil, false, ""},
		{"selector", testClaim("data", "manual", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
		}), []*corev1.PersistentVolume{testVolume("plain", "1Gi", "manual"), testVolume("gold", "5Gi", "manual", func(pv *corev1.PersistentVolume) {
			pv.Labels = map[string]string{"tier": "gold"}
		})}, nil, false, "gold"},
		{"waiting for a node: none", claim, []*corev1.PersistentVolume{testVolume("fit", "2Gi", "manual")}, nil, true, ""},
		{"waiting for a node: pre-bound only", claim, []*corev1.PersistentVolume{testVolume("mine", "2Gi", "manual", claimRefTo(claim))}, nil, true, "mine"},
		{"node selected: its volumes only", claim, []*corev1.PersistentVolume{
			testVolume("there", "1Gi", "manual", onNode("n2")), testVolume("here", "2Gi", "manual", onNode("n1"))}, testNode("n1"), true, "here"},
		{"node selected: pre-bound elsewhere", claim, []*corev1.PersistentVolume{
			testVolume("mine", "1Gi", "manual", onNode("n2"), claimRefTo(claim)), testVolume("here", "2Gi", "manual", onNode("n1"))}, testNode("n1"), true, ""},
		{"immediate binding ignores node affinity", claim, []*corev1.PersistentVolume{testVolume("there", "1Gi", "manual", onNode("n2"))}, nil, false, "there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if pv := findMatchingVolume(tt.claim, tt.volumes, tt.node, tt.delay); pv != nil {
				got = pv.Name
			}
			if got != tt.want {
				t.Errorf("matched %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecideClaim(t *testing.T) {
	manual := testClass("manual", noProvisioner, storagev1.VolumeBindingImmediate)
	local := testClass("local-path", storageutil.LocalPathProvisioner, storagev1.VolumeBindingWaitForFirstConsumer)
	fast := testClass("fast", "example.com/fast", storagev1.VolumeBindingImmediate)
	completed := annotate(storageutil.AnnBindCompleted, "yes")
	volumeName := func(name string) func(*corev1.PersistentVolumeClaim) {
		return func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = name }
	}
	bound := testClaim("data", "manual", volumeName("pv1"), completed)
	tests := []struct {
		name       string
		state      claimState
		action     claimAction
		volume     string
		reason     string
		msgContain string
	}{
		{name: "binds to a matching volume", state: claimState{claim: testClaim("data", "manual"), class: manual,
			volumes: []*corev1.PersistentVolume{testVolume("pv1", "1Gi", "manual")}}, action: claimBind, volume: "pv1"},
		{name: "static class waits for a volume", state: claimState{claim: testClaim("data", "manual"), class: manual},
			action: claimKeep},
		{name: "no class and no volume", state: claimState{claim: testClaim("data", "")},
			action: claimKeep, reason: reasonFailedBinding, msgContain: msgNoVolumeNoClass},
		{name: "missing class", state: claimState{claim: testClaim("data", "gone")},
			action: claimKeep, reason: reasonProvisioningFailed, msgContain: `storageclass.storage.k8s.io "gone" not found`},
		{name: "immediate class is provisioned", state: claimState{claim: testClaim("data", "fast"), class: fast},
			action: claimProvision, reason: reasonExternalProvisioning, msgContain: "external provisioner 'example.com/fast'"},
		{name: "waits for its first consumer", state: claimState{claim: testClaim("data", "local-path"), class: local},
			action: claimKeep, reason: reasonWaitForFirstConsumer, msgContain: msgWaitForFirstConsumer},
		{name: "waits for its pod to be scheduled", state: claimState{claim: testClaim("data", "local-path"), class: local,
			waitingPods: []string{"web-0"}}, action: claimKeep, reason: reasonWaitForPodScheduled, msgContain: "waiting for pod web-0 to be scheduled"},
		{name: "waits for its pods to be scheduled", state: claimState{claim: testClaim("data", "local-path"), class: local,
			waitingPods: []string{"a", "b"}}, action: claimKeep, reason: reasonWaitForPodScheduled, msgContain: "waiting for pods a,b to be scheduled"},
		{name: "node selected: provisioned", state: claimState{claim: testClaim("data", "local-path", annotate(storageutil.AnnSelectedNode, "n1")),
			class: local, node: testNode("n1")}, action: claimProvision, reason: reasonExternalProvisioning},
		{name: "node selected: the provisioned volume binds", state: claimState{
			claim: testClaim("data", "local-path", annotate(storageutil.AnnSelectedNode, "n1")), class: local, node: testNode("n1"),
			volumes: []*corev1.PersistentVolume{testVolume("pvc-data-uid", "1Gi", "local-path", onNode("n1"), claimRefTo(testClaim("data", "local-path")))}},
			action: claimBind, volume: "pvc-data-uid"},
		{name: "pre-bound claim: volume missing", state: claimState{claim: testClaim("data", "manual", volumeName("pv1"))}, action: claimKeep},
		{name: "pre-bound claim: volume binds", state: claimState{claim: testClaim("data", "manual", volumeName("pv1")),
			volumes: []*corev1.PersistentVolume{testVolume("pv1", "1Gi", "manual")}}, action: claimBind, volume: "pv1"},
		{name: "pre-bound claim: volume too small", state: claimState{claim: testClaim("data", "manual", volumeName("pv1")),
			volumes: []*corev1.PersistentVolume{testVolume("pv1", "512Mi", "manual")}},
			action: claimKeep, reason: reasonVolumeMismatch, msgContain: `Cannot bind to requested volume "pv1": requested PV is too small`},
		{name: "pre-bound claim: volume taken", state: claimState{claim: testClaim("data", "manual", volumeName("pv1")),
			volumes: []*corev1.PersistentVolume{testVolume("pv1", "1Gi", "manual", claimRefTo(testClaim("other", "manual")))}},
			action: claimKeep, reason: reasonFailedBinding, msgContain: `volume "pv1" already bound to a different claim.`},
		{name: "bound claim stays bound", state: claimState{claim: bound,
			volumes: []*corev1.PersistentVolume{testVolume("pv1", "1Gi", "manual", claimRefTo(bound))}}, action: claimBind, volume: "pv1"},
		{name: "bound claim: volume lost its claimRef", state: claimState{claim: bound,
			volumes: []*corev1.PersistentVolume{testVolume("pv1", "1Gi", "manual")}}, action: claimBind, volume: "pv1"},
		{name: "bound claim: volume gone", state: claimState{claim: bound},
			action: claimLost, reason: reasonClaimLost, msgContain: "Bound claim has lost its PersistentVolume. Data on the volume is lost!"},
		{name: "bound claim: no volume name", state: claimState{claim: testClaim("data", "manual", completed)},
			action: claimLost, reason: reasonClaimLost, msgContain: "lost reference"},
		{name: "bound claim: volume bound to another", state: claimState{claim: bound,
			volumes: []*corev1.PersistentVolume{testVolume("pv1", "1Gi", "manual", claimRefTo(testClaim("other", "manual")))}},
			action: claimLost, reason: reasonClaimMisbound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := decideClaim(tt.state)
			if plan.action != tt.action {
				t.Errorf("action = %v, want %v", plan.action, tt.action)
			}
			if got := volumeNameOf(plan.volume); got != tt.volume {
				t.Errorf("volume = %q, want %q", got, tt.volume)
			}
			switch {
			case tt.reason == "" && plan.event != nil:
				t.Errorf("unexpected event %+v", *plan.event)
			case tt.reason != "" && (plan.event == nil || plan.event.reason != tt.reason || !strings.Contains(plan.event.message, tt.msgContain)):
				t.Errorf("event = %+v, want %s containing %q", plan.event, tt.reason, tt.msgContain)
			}
		})
	}
}

func volumeNameOf(pv *corev1.PersistentVolume) string {
	if pv == nil {
		return ""
	}
	return pv.Name
}

func TestDecideVolume(t *testing.T) {
	claim := testClaim("data", "manual", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv1" })
	unbound := testClaim("data", "manual")
	elsewhere := testClaim("data", "manual", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv2" })
	recreated := testClaim("data", "manual", func(c *corev1.PersistentVolumeClaim) { c.UID = "new-uid" })
	phase := func(p corev1.PersistentVolumePhase) func(*corev1.PersistentVolume) {
		return func(pv *corev1.PersistentVolume) { pv.Status.Phase = p }
	}
	policy := func(p corev1.PersistentVolumeReclaimPolicy) func(*corev1.PersistentVolume) {
		return func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = p }
	}
	provisioned := func(pv *corev1.PersistentVolume) {
		pv.Annotations = map[string]string{storageutil.AnnDynamicallyProvisioned: storageutil.LocalPathProvisioner}
	}
	byController := func(pv *corev1.PersistentVolume) {
		pv.Annotations = map[string]string{storageutil.AnnBoundByController: "yes"}
	}
	tests := []struct {
		name    string
		pv      *corev1.PersistentVolume
		claim   *corev1.PersistentVolumeClaim
		action  volumeAction
		phase   corev1.PersistentVolumePhase
		reason  string
		enqueue bool
	}{
		{name: "new volume becomes Available", pv: testVolume("pv1", "1Gi", "manual", phase(corev1.VolumePending)),
			action: volumePhase, phase: corev1.VolumeAvailable},
		{name: "available volume stays", pv: testVolume("pv1", "1Gi", "manual"), action: volumeKeep},
		{name: "pre-bound by a user without uid", pv: testVolume("pv1", "1Gi", "manual", phase(corev1.VolumePending), func(pv *corev1.PersistentVolume) {
			pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: "data"}
		}), action: volumePhase, phase: corev1.VolumeAvailable, enqueue: true},
		{name: "bound volume becomes Bound", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim)), claim: claim,
			action: volumePhase, phase: corev1.VolumeBound},
		{name: "provisioned volume waits for the claim to bind", pv: testVolume("pv1", "1Gi", "manual", phase(corev1.VolumePending), claimRefTo(unbound)),
			claim: unbound, action: volumeKeep, enqueue: true},
		{name: "claim gone: Released", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim), phase(corev1.VolumeBound)),
			action: volumePhase, phase: corev1.VolumeReleased},
		{name: "claim made again: Released", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim), phase(corev1.VolumeBound)),
			claim: recreated, action: volumePhase, phase: corev1.VolumeReleased},
		{name: "released, Retain: kept", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim), phase(corev1.VolumeReleased)),
			action: volumeKeep},
		{name: "released, Delete, provisioned: left to its provisioner", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim),
			phase(corev1.VolumeReleased), policy(corev1.PersistentVolumeReclaimDelete), provisioned), action: volumeKeep},
		{name: "released, Delete, static: fails", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim),
			phase(corev1.VolumeReleased), policy(corev1.PersistentVolumeReclaimDelete)),
			action: volumePhase, phase: corev1.VolumeFailed, reason: reasonVolumeFailedDelete},
		{name: "released, Recycle: fails", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim),
			phase(corev1.VolumeReleased), policy(corev1.PersistentVolumeReclaimRecycle)),
			action: volumePhase, phase: corev1.VolumeFailed, reason: reasonVolumeFailedRecycle},
		{name: "claim bound elsewhere: unbind", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim), byController, phase(corev1.VolumeBound)),
			claim: elsewhere, action: volumeUnbind, phase: corev1.VolumeAvailable},
		{name: "being deleted: left alone", pv: testVolume("pv1", "1Gi", "manual", claimRefTo(claim), deleting, phase(corev1.VolumeReleased)),
			action: volumeKeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := decideVolume(tt.pv, tt.claim)
			if plan.action != tt.action || plan.phase != tt.phase || plan.enqueueClaim != tt.enqueue {
				t.Errorf("plan = %+v, want action %v phase %q enqueue %v", plan, tt.action, tt.phase, tt.enqueue)
			}
			if got := ""; plan.event != nil {
				got = plan.event.reason
				if got != tt.reason {
					t.Errorf("event %q, want %q", got, tt.reason)
				}
			} else if tt.reason != "" {
				t.Errorf("no event, want %q", tt.reason)
			}
		})
	}
}

func TestDecideProvision(t *testing.T) {
	local := testClass("local-path", storageutil.LocalPathProvisioner, storagev1.VolumeBindingWaitForFirstConsumer)
	immediate := testClass("local-now", storageutil.LocalPathProvisioner, storagev1.VolumeBindingImmediate)
	other := testClass("fast", "example.com/fast", storagev1.VolumeBindingImmediate)
	handed := annotate(storageutil.AnnStorageProvisioner, storageutil.LocalPathProvisioner)
	selected := annotate(storageutil.AnnSelectedNode, "n1")
	tests := []struct {
		name   string
		state  provisionState
		create bool
		reason string
		retry  bool
	}{
		{name: "provisions on the selected node", state: provisionState{claim: testClaim("data", "local-path", handed, selected),
			class: local, node: testNode("n1")}, create: true},
		{name: "not handed to it yet", state: provisionState{claim: testClaim("data", "local-path", selected), class: local, node: testNode("n1")}},
		{name: "another provisioner's class", state: provisionState{claim: testClaim("data", "fast", handed, selected), class: other, node: testNode("n1")}},
		{name: "no node selected yet", state: provisionState{claim: testClaim("data", "local-path", handed), class: local}},
		{name: "immediate class has no node", state: provisionState{claim: testClaim("data", "local-now", handed), class: immediate},
			reason: reasonProvisioningFailed},
		{name: "selected node unknown", state: provisionState{claim: testClaim("data", "local-path", handed, selected), class: local},
			reason: reasonProvisioningFailed, retry: true},
		{name: "already provisioned", state: provisionState{claim: testClaim("data", "local-path", handed, selected), class: local,
			node: testNode("n1"), existing: testVolume("pvc-data-uid", "1Gi", "local-path")}},
		{name: "already bound", state: provisionState{claim: testClaim("data", "local-path", handed, selected, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.VolumeName = "pv1"
		}), class: local, node: testNode("n1")}},
		{name: "block volumes are not supported", state: provisionState{claim: testClaim("data", "local-path", handed, selected, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.VolumeMode = new(corev1.PersistentVolumeBlock)
		}), class: local, node: testNode("n1")}, reason: reasonProvisioningFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.state.dir = "/var/lib/gantry/storage"
			plan := decideProvision(tt.state)
			if (plan.volume != nil) != tt.create || plan.retry != tt.retry {
				t.Errorf("plan = %+v, want create %v retry %v", plan, tt.create, tt.retry)
			}
			if got := ""; plan.event != nil {
				got = plan.event.reason
				if got != tt.reason {
					t.Errorf("event %q, want %q", got, tt.reason)
				}
			} else if tt.reason != "" {
				t.Errorf("no event, want %q", tt.reason)
			}
		})
	}
}

func TestLocalPathVolume(t *testing.T) {
	claim := testClaim("data", "local-path", func(c *corev1.PersistentVolumeClaim) {
		c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("3Gi")
	})
	retain := corev1.PersistentVolumeReclaimRetain
	class := testClass("local-path", storageutil.LocalPathProvisioner, storagev1.VolumeBindingWaitForFirstConsumer)
	class.ReclaimPolicy = &retain
	node := testNode("n1")
	node.Labels[storageutil.LabelHostname] = "host-1"
	pv := localPathVolume(claim, class, node, "/var/lib/gantry/storage/")
	checks := []struct{ name, got, want string }{
		{"name", pv.Name, "pvc-data-uid"},
		{"path", pv.Spec.HostPath.Path, "/var/lib/gantry/storage/pvc-data-uid_ns_data"},
		{"type", string(*pv.Spec.HostPath.Type), string(corev1.HostPathDirectoryOrCreate)},
		{"capacity", pv.Spec.Capacity.Storage().String(), "3Gi"},
		{"policy", string(pv.Spec.PersistentVolumeReclaimPolicy), "Retain"},
		{"class", pv.Spec.StorageClassName, "local-path"},
		{"claimRef", pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name + "/" + string(pv.Spec.ClaimRef.UID), "ns/data/data-uid"},
		{"node", storageutil.AffinityHostname(pv), "host-1"},
		{"provisioned-by", pv.Annotations[storageutil.AnnDynamicallyProvisioned], storageutil.LocalPathProvisioner},
		{"finalizers", strings.Join(pv.Finalizers, ","), storageutil.LocalPathCleanupFinalizer},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestDecideReclaim(t *testing.T) {
	ours := func(pv *corev1.PersistentVolume) {
		pv.Annotations = map[string]string{storageutil.AnnDynamicallyProvisioned: storageutil.LocalPathProvisioner}
		pv.Finalizers = []string{storageutil.LocalPathCleanupFinalizer}
	}
	released := func(pv *corev1.PersistentVolume) { pv.Status.Phase = corev1.VolumeReleased }
	del := func(pv *corev1.PersistentVolume) {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
	}
	tests := []struct {
		name     string
		pv       *corev1.PersistentVolume
		nodeGone bool
		want     reclaimAction
	}{
		{"released with Delete: deleted", testVolume("v", "1Gi", "local-path", ours, released, del), false, reclaimDelete},
		{"released with Retain: kept", testVolume("v", "1Gi", "local-path", ours, released), false, reclaimKeep},
		{"bound: kept", testVolume("v", "1Gi", "local-path", ours, del), false, reclaimKeep},
		{"not ours: kept", testVolume("v", "1Gi", "local-path", released, del), false, reclaimKeep},
		{"deleting, node there: the agent cleans", testVolume("v", "1Gi", "local-path", ours, released, del, deleting), false, reclaimKeep},
		{"deleting, node gone: forget", testVolume("v", "1Gi", "local-path", ours, released, del, deleting), true, reclaimForget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decideReclaim(tt.pv, tt.nodeGone); got != tt.want {
				t.Errorf("decideReclaim = %v, want %v", got, tt.want)
			}
		})
	}
}
