package controllers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// storageControllers are the controllers the storage tests run.
const storageControllers = "--controllers=persistentvolume-binder,local-path-provisioner"

// stClaim is a 1Gi ReadWriteOnce claim of class ("" for the default one).
func stClaim(name, class string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	return c
}

// stPod is a pod mounting claim at /data.
func stPod(name, claim string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: busybox, Command: []string{"sleep", "3600"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}
}

func (e *env) createClaim(c *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	e.t.Helper()
	out, err := e.kube.CoreV1().PersistentVolumeClaims("default").Create(e.ctx, c, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create claim %s: %v", c.Name, err)
	}
	return out
}

func (e *env) createPod(p *corev1.Pod) {
	e.t.Helper()
	if _, err := e.kube.CoreV1().Pods("default").Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create pod %s: %v", p.Name, err)
	}
}

// claimEvent waits for an event about a claim with reason, and returns
// its message.
func (e *env) claimEvent(claim, reason string) string {
	e.t.Helper()
	var msg string
	e.eventually(30*time.Second, fmt.Sprintf("event %s on claim %s", reason, claim), func() (bool, error) {
		evs, err := e.kube.CoreV1().Events("default").List(e.ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=" + claim + ",reason=" + reason})
		if err != nil || len(evs.Items) == 0 {
			return false, err
		}
		msg = evs.Items[0].Message
		return true, nil
	})
	return msg
}

// runningOn waits until pod runs and returns its node.
func (e *env) runningOn(pod string) string {
	e.t.Helper()
	var node string
	e.eventually(time.Minute, "pod "+pod+" running", func() (bool, error) {
		p, err := e.kube.CoreV1().Pods("default").Get(e.ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = p.Spec.NodeName
		return node != "" && p.Status.Phase == corev1.PodRunning, fmt.Errorf("node %q phase %s", node, p.Status.Phase)
	})
	return node
}

// TestLocalPathStorage: a pod using a claim of the default local-path
// class is scheduled, the claim is provisioned on its node and bound, a
// second pod using the claim goes to the same node, and deleting the
// claim releases the volume, which the provisioner deletes and the
// (simulated) agent cleans up.
func TestLocalPathStorage(t *testing.T) {
	e := newEnv(t)
	e.startControllers(storageControllers)
	e.startScheduler()
	e.startSimulatedNodes("lp", 3)

	claim := e.createClaim(stClaim("data", ""))
	if got := *claim.Spec.StorageClassName; got != "local-path" {
		t.Fatalf("claim class = %q, want the default local-path", got)
	}
	if msg := e.claimEvent("data", "WaitForFirstConsumer"); msg != "waiting for first consumer to be created before binding" {
		t.Errorf("WaitForFirstConsumer message = %q", msg)
	}

	e.createPod(stPod("writer", "data"))
	node := e.runningOn("writer")

	var pv *corev1.PersistentVolume
	e.eventually(30*time.Second, "claim data bound", func() (bool, error) {
		c, err := e.kube.CoreV1().PersistentVolumeClaims("default").Get(e.ctx, "data", metav1.GetOptions{})
		if err != nil || c.Status.Phase != corev1.ClaimBound {
			return false, err
		}
		claim = c
		pv, err = e.kube.CoreV1().PersistentVolumes().Get(e.ctx, c.Spec.VolumeName, metav1.GetOptions{})
		return err == nil && pv.Status.Phase == corev1.VolumeBound, err
	})

	t.Run("claim", func(t *testing.T) {
		want := map[string]string{
			"volume.kubernetes.io/selected-node":            node,
			"volume.kubernetes.io/storage-provisioner":      "gantry.dev/local-path",
			"volume.beta.kubernetes.io/storage-provisioner": "gantry.dev/local-path",
			"pv.kubernetes.io/bind-completed":               "yes",
			"pv.kubernetes.io/bound-by-controller":          "yes",
		}
		for k, v := range want {
			if claim.Annotations[k] != v {
				t.Errorf("annotation %s = %q, want %q", k, claim.Annotations[k], v)
			}
		}
		if got, want := claim.Spec.VolumeName, "pvc-"+string(claim.UID); got != want {
			t.Errorf("volumeName = %q, want %q", got, want)
		}
		if q := claim.Status.Capacity[corev1.ResourceStorage]; q.String() != "1Gi" || len(claim.Status.AccessModes) != 1 {
			t.Errorf("status = %+v, want 1Gi RWO", claim.Status)
		}
		if msg := e.claimEvent("data", "ProvisioningSucceeded"); msg != "Successfully provisioned volume "+pv.Name {
			t.Errorf("ProvisioningSucceeded message = %q", msg)
		}
		e.claimEvent("data", "ExternalProvisioning")
	})

	t.Run("volume", func(t *testing.T) {
		if got := pv.Spec.HostPath; got == nil || got.Path != "/var/lib/gantry/storage/"+pv.Name+"_default_data" ||
			got.Type == nil || *got.Type != corev1.HostPathDirectoryOrCreate {
			t.Errorf("hostPath = %+v", got)
		}
		terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
		if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 || terms[0].MatchExpressions[0].Key != "kubernetes.io/hostname" ||
			strings.Join(terms[0].MatchExpressions[0].Values, ",") != node {
			t.Errorf("node affinity = %+v, want kubernetes.io/hostname In [%s]", terms, node)
		}
		if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != "data" || ref.UID != claim.UID {
			t.Errorf("claimRef = %+v", ref)
		}
		if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.Spec.StorageClassName != "local-path" {
			t.Errorf("policy %s class %s, want Delete local-path", pv.Spec.PersistentVolumeReclaimPolicy, pv.Spec.StorageClassName)
		}
		if pv.Annotations["pv.kubernetes.io/provisioned-by"] != "gantry.dev/local-path" ||
			strings.Join(pv.Finalizers, ",") != "gantry.dev/local-path-cleanup" {
			t.Errorf("annotations %v finalizers %v", pv.Annotations, pv.Finalizers)
		}
		rows := strings.Fields(strings.Split(e.kubectl("get", "pv", pv.Name, "--no-headers"), "\n")[0])
		if want := []string{pv.Name, "1Gi", "RWO", "Delete", "Bound", "default/data", "local-path", "<unset>"}; strings.Join(rows[:8], " ") != strings.Join(want, " ") {
			t.Errorf("kubectl get pv = %v, want %v", rows, want)
		}
	})

	t.Run("second pod goes to the volume's node", func(t *testing.T) {
		e.createPod(stPod("reader", "data"))
		if got := e.runningOn("reader"); got != node {
			t.Errorf("reader runs on %s, want %s (the volume's node)", got, node)
		}
	})

	t.Run("deleting the claim deletes the volume", func(t *testing.T) {
		for _, p := range []string{"writer", "reader"} {
			if err := e.kube.CoreV1().Pods("default").Delete(e.ctx, p, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		e.eventually(time.Minute, "pods gone", func() (bool, error) {
			pods, err := e.kube.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{})
			return err == nil && len(pods.Items) == 0, err
		})
		if err := e.kube.CoreV1().PersistentVolumeClaims("default").Delete(e.ctx, "data", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(time.Minute, "volume "+pv.Name+" deleted", func() (bool, error) {
			_, err := e.kube.CoreV1().PersistentVolumes().Get(e.ctx, pv.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
	})
}

// TestStaticVolumes: a claim of an Immediate class binds to a volume
// made by hand without any pod, a pod using an Immediate claim that
// cannot bind, or a missing claim, is not scheduled, and a Retain volume
// outlives its claim as Released.
func TestStaticVolumes(t *testing.T) {
	e := newEnv(t)
	e.startControllers(storageControllers)
	e.startScheduler()
	e.startSimulatedNodes("sv", 1)

	immediate := storagev1.VolumeBindingImmediate
	if _, err := e.kube.StorageV1().StorageClasses().Create(e.ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "manual"}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &immediate,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, pv := range []struct{ name, size string }{{"small", "512Mi"}, {"big", "5Gi"}, {"fit", "2Gi"}} {
		_, err := e.kube.CoreV1().PersistentVolumes().Create(e.ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: pv.name},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(pv.size)},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName:       "manual",
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + pv.name}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	e.eventually(30*time.Second, "volumes Available", func() (bool, error) {
		pvs, err := e.kube.CoreV1().PersistentVolumes().List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, pv := range pvs.Items {
			if pv.Status.Phase != corev1.VolumeAvailable {
				return false, fmt.Errorf("%s is %s", pv.Name, pv.Status.Phase)
			}
		}
		return len(pvs.Items) == 3, nil
	})

	e.createClaim(stClaim("static", "manual"))
	e.eventually(30*time.Second, "claim static bound to the smallest fitting volume", func() (bool, error) {
		c, err := e.kube.CoreV1().PersistentVolumeClaims("default").Get(e.ctx, "static", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		q := c.Status.Capacity[corev1.ResourceStorage]
		return c.Status.Phase == corev1.ClaimBound && c.Spec.VolumeName == "fit" && q.String() == "2Gi",
			fmt.Errorf("phase %s volume %q capacity %s", c.Status.Phase, c.Spec.VolumeName, q.String())
	})
	row := strings.Fields(e.kubectl("get", "pvc", "static", "--no-headers"))
	if want := "static Bound fit 2Gi RWO manual <unset>"; strings.Join(row[:7], " ") != want {
		t.Errorf("kubectl get pvc = %v, want %q and an age", row, want)
	}

	t.Run("unbound immediate claim", func(t *testing.T) {
		e.createClaim(func() *corev1.PersistentVolumeClaim {
			c := stClaim("toobig", "manual")
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("100Gi")
			return c
		}())
		e.createPod(stPod("stuck", "toobig"))
		e.podUnschedulable("stuck", "pod has unbound immediate PersistentVolumeClaims")
	})

	t.Run("missing claim", func(t *testing.T) {
		e.createPod(stPod("orphan", "nope"))
		e.podUnschedulable("orphan", `persistentvolumeclaim "nope" not found`)
		// Creating the claim (bound to a free volume) lets it run.
		e.createClaim(stClaim("nope", "manual"))
		e.runningOn("orphan")
	})

	t.Run("retained volume outlives its claim", func(t *testing.T) {
		if err := e.kube.CoreV1().PersistentVolumeClaims("default").Delete(e.ctx, "static", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(30*time.Second, "volume fit Released", func() (bool, error) {
			pv, err := e.kube.CoreV1().PersistentVolumes().Get(e.ctx, "fit", metav1.GetOptions{})
			return err == nil && pv.Status.Phase == corev1.VolumeReleased, err
		})
	})
}

// podUnschedulable waits for a pod's PodScheduled=False condition whose
// message contains msg.
func (e *env) podUnschedulable(pod, msg string) {
	e.t.Helper()
	e.eventually(30*time.Second, "pod "+pod+" unschedulable: "+msg, func() (bool, error) {
		p, err := e.kube.CoreV1().Pods("default").Get(e.ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return strings.Contains(c.Message, msg), fmt.Errorf("condition message %q", c.Message)
			}
		}
		return false, nil
	})
}
