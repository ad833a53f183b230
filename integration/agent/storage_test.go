package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A pod using a claim waits (FailedMount) until the claim is bound; then
// the volume's host directory is created and bind-mounted (read-only for
// a readOnly claim volume); deleting the local-path volume afterwards
// makes the agent remove the directory and the volume's finalizer. The
// test plays the volume controllers' part.
func TestPersistentVolumeClaimHostPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	node, err := e.cs.CoreV1().Nodes().Get(e.ctx, e.node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pvName := "pvc-" + e.ns
	dir := filepath.Join(t.TempDir(), pvName+"_"+e.ns+"_data")
	e.apply(`
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local-path
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: stateful}
spec:
  nodeName: {{NODE}}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: ro, persistentVolumeClaim: {claimName: data, readOnly: true}}
  containers:
  - name: main
    image: {{IMAGE}}
    command: [sh, -c, 'echo kept > /data/file; sleep 3600']
    volumeMounts: [{name: data, mountPath: /data}, {name: ro, mountPath: /ro}]
`)

	// Unbound: the pod waits with a FailedMount event.
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := e.cs.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=stateful,reason=FailedMount"})
		if err == nil && len(evs.Items) > 0 {
			if msg := evs.Items[0].Message; !strings.Contains(msg, "error processing PVC "+e.ns+"/data: PVC is not bound") {
				t.Errorf("FailedMount message = %q", msg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no FailedMount event for the unbound claim (err %v)", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if p := e.pod("stateful"); p.Status.Phase != corev1.PodPending {
		t.Fatalf("pod with an unbound claim is %s, want Pending", p.Status.Phase)
	}

	// Bind, as the provisioner and the binder would.
	claim, err := e.cs.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName,
			Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": "gantry.dev/local-path"},
			Finalizers:  []string{"gantry.dev/local-path-cleanup"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              "local-path",
			ClaimRef:                      &corev1.ObjectReference{Namespace: e.ns, Name: "data", UID: claim.UID},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &dirOrCreate}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn,
					Values: []string{node.Labels["kubernetes.io/hostname"]}}}}}}},
		},
	}
	if _, err := e.cs.CoreV1().PersistentVolumes().Create(e.ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // should the test fail before the volume is gone
		p, err := e.cs.CoreV1().PersistentVolumes().Get(e.ctx, pvName, metav1.GetOptions{})
		if err == nil {
			p.Finalizers = nil
			_, _ = e.cs.CoreV1().PersistentVolumes().Update(e.ctx, p, metav1.UpdateOptions{})
			_ = e.cs.CoreV1().PersistentVolumes().Delete(e.ctx, pvName, metav1.DeleteOptions{})
		}
	})
	claim.Spec.VolumeName = pvName
	if claim, err = e.cs.CoreV1().PersistentVolumeClaims(e.ns).Update(e.ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: pv.Spec.Capacity,
		AccessModes: pv.Spec.AccessModes}
	if _, err := e.cs.CoreV1().PersistentVolumeClaims(e.ns).UpdateStatus(e.ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	e.waitRunning("stateful")
	got, err := os.ReadFile(filepath.Join(dir, "file"))
	if err != nil || string(got) != "kept\n" {
		t.Errorf("host file = %q, %v; want the pod's write", got, err)
	}
	out, _, err := e.kubectl("exec", "stateful", "--", "sh", "-c", "cat /ro/file; touch /ro/x 2>/dev/null && echo writable || echo read-only")
	if err != nil || out != "kept\nread-only\n" {
		t.Errorf("readOnly claim volume: %q, %v", out, err)
	}

	// Deleting the volume: once the pod is gone, the agent removes the
	// directory, then the finalizer.
	if err := e.cs.CoreV1().PersistentVolumes().Delete(e.ctx, pvName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("directory removed while the pod uses it: %v", err)
	}
	zero := int64(0)
	if err := e.cs.CoreV1().Pods(e.ns).Delete(e.ctx, "stateful", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		_, err := e.cs.CoreV1().PersistentVolumes().Get(e.ctx, pvName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("volume %s still there (err %v)", pvName, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still there: %v", dir, err)
	}
}
