package apiserver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// claim is a PersistentVolumeClaim manifest; class "" leaves the class
// out (admission gives the default one), size "" the storage request.
func claim(name, class, size string) string {
	s := fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: %s
spec:
  accessModes: [ReadWriteOnce]
`, name)
	if class != "" {
		s += "  storageClassName: " + class + "\n"
	}
	if size != "" {
		s += "  resources:\n    requests:\n      storage: " + size + "\n"
	}
	return s
}

// hostPathVolume is a PersistentVolume manifest of type hostPath.
func hostPathVolume(name, class string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: %s
spec:
  capacity:
    storage: 2Gi
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: %s
  hostPath:
    path: /tmp/%s
`, name, class, name)
}

// storeHas reports whether the store holds key.
func storeHas(t *testing.T, ctx context.Context, key string) bool {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: shared.store.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, key, clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count == 1
}

// rowOf finds the row of name (its first cell) in kubectl get output and
// checks the header.
func rowOf(t *testing.T, out string, header []string, name string) []string {
	t.Helper()
	rows := fields(out)
	if len(rows) == 0 || strings.Join(rows[0], " ") != strings.Join(header, " ") {
		t.Fatalf("header = %v, want %v", rows, header)
	}
	for _, r := range rows[1:] {
		if r[0] == name {
			return r
		}
	}
	t.Fatalf("no row for %s in %q", name, out)
	return nil
}

func TestStorage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "storage")

	t.Run("discovery", func(t *testing.T) {
		want := map[string]bool{
			"persistentvolumeclaims pvc v1 true PersistentVolumeClaim": false,
			"persistentvolumes pv v1 false PersistentVolume":           false,
			"storageclasses sc storage.k8s.io/v1 false StorageClass":   false,
		}
		for _, r := range fields(e.mustKubectl("", "api-resources")) {
			if _, ok := want[strings.Join(r, " ")]; ok {
				want[strings.Join(r, " ")] = true
			}
		}
		for row, found := range want {
			if !found {
				t.Errorf("kubectl api-resources has no row %q", row)
			}
		}
		if out := e.mustKubectl("", "explain", "pvc.spec.storageClassName"); !strings.Contains(out, "PersistentVolumeClaim") {
			t.Errorf("kubectl explain printed %q", out)
		}
	})

	t.Run("built-in local-path class", func(t *testing.T) {
		row := rowOf(t, e.mustKubectl("", "get", "sc"),
			[]string{"NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"}, "local-path")
		if want := "local-path (default) gantry.dev/local-path Delete WaitForFirstConsumer false"; strings.Join(row[:6], " ") != want {
			t.Errorf("row %v, want %q and an age", row, want)
		}
		if !storeHas(t, e.ctx, "/registry/storageclasses/local-path") {
			t.Error("no store key /registry/storageclasses/local-path")
		}
		out := e.mustKubectl("", "describe", "sc", "local-path")
		for _, want := range []string{"IsDefaultClass:        Yes", "Provisioner:           gantry.dev/local-path", "VolumeBindingMode:     WaitForFirstConsumer"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl describe sc has no %q:\n%s", want, out)
			}
		}
	})

	t.Run("claim gets the default class", func(t *testing.T) {
		if got, want := e.mustKubectl(claim("data", "", "1Gi"), "apply", "-f", "-"), "persistentvolumeclaim/data created\n"; got != want {
			t.Fatalf("kubectl apply printed %q, want %q", got, want)
		}
		row := rowOf(t, e.mustKubectl("", "get", "pvc", "data"),
			[]string{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"}, "data")
		// VOLUME, CAPACITY and ACCESS MODES are empty until it binds.
		if want := "data Pending local-path <unset>"; strings.Join(row[:4], " ") != want {
			t.Errorf("row %v, want %q and an age", row, want)
		}
		if got := e.mustKubectl("", "get", "pvc", "data", "-o", "jsonpath={.spec.volumeMode}"); got != "Filesystem" {
			t.Errorf("volumeMode = %q, want Filesystem", got)
		}
		if !storeHas(t, e.ctx, "/registry/persistentvolumeclaims/"+e.ns+"/data") {
			t.Errorf("no store key /registry/persistentvolumeclaims/%s/data", e.ns)
		}
		out := e.mustKubectl("", "describe", "pvc", "data")
		for _, want := range []string{"StorageClass:  local-path", "Status:        Pending", "Access Modes:  \n", "VolumeMode:    Filesystem"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl describe pvc has no %q:\n%s", want, out)
			}
		}
	})

	t.Run("claim without class by choice", func(t *testing.T) {
		e.mustKubectl(claim("static", `""`, "1Gi"), "apply", "-f", "-")
		if got := e.mustKubectl("", "get", "pvc", "static", "-o", "jsonpath={.spec.storageClassName}"); got != "" {
			t.Errorf("storageClassName = %q, want empty", got)
		}
	})

	pv := uniqueName("pv")
	t.Cleanup(func() {
		_ = e.kube.CoreV1().PersistentVolumes().Delete(context.Background(), pv, metav1.DeleteOptions{})
	})
	t.Run("volume", func(t *testing.T) {
		if got, want := e.mustKubectl(hostPathVolume(pv, "manual"), "create", "-f", "-"), "persistentvolume/"+pv+" created\n"; got != want {
			t.Fatalf("kubectl create printed %q, want %q", got, want)
		}
		row := rowOf(t, e.mustKubectl("", "get", "pv", pv),
			[]string{"NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"}, pv)
		// CLAIM and REASON are empty.
		if want := pv + " 2Gi RWO,ROX Retain Pending manual <unset>"; strings.Join(row[:7], " ") != want {
			t.Errorf("row %v, want %q and an age", row, want)
		}
		if got := e.mustKubectl("", "get", "pv", pv, "-o", "wide"); !strings.Contains(got, "VOLUMEMODE") || !strings.Contains(got, "Filesystem") {
			t.Errorf("kubectl get pv -o wide printed %q", got)
		}
		if !storeHas(t, e.ctx, "/registry/persistentvolumes/"+pv) {
			t.Errorf("no store key /registry/persistentvolumes/%s", pv)
		}
		out := e.mustKubectl("", "describe", "pv", pv)
		for _, want := range []string{"StorageClass:    manual", "Reclaim Policy:  Retain", "Type:          HostPath (bare host directory volume)", "Path:          /tmp/" + pv} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl describe pv has no %q:\n%s", want, out)
			}
		}
		// Status is written through the subresource only.
		got, err := e.kube.CoreV1().PersistentVolumes().Get(e.ctx, pv, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got.Status.Phase = corev1.VolumeAvailable
		if got, err = e.kube.CoreV1().PersistentVolumes().UpdateStatus(e.ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != corev1.VolumeAvailable || got.Status.LastPhaseTransitionTime == nil {
			t.Errorf("status after UpdateStatus = %+v, want Available with a transition time", got.Status)
		}
	})

	t.Run("validation", func(t *testing.T) {
		want := `The PersistentVolumeClaim "nosize" is invalid: spec.resources[storage]: Required value` + "\n"
		if got := e.kubectlFails(claim("nosize", "", ""), "apply", "-f", "-"); got != want {
			t.Errorf("kubectl apply printed %q, want %q", got, want)
		}
		bad := uniqueName("bad")
		noSource := strings.Replace(hostPathVolume(bad, "manual"), "  hostPath:\n    path: /tmp/"+bad+"\n", "", 1)
		want = `The PersistentVolume "` + bad + `" is invalid: spec: Required value: must specify a volume type` + "\n"
		if got := e.kubectlFails(noSource, "create", "-f", "-"); got != want {
			t.Errorf("kubectl create printed %q, want %q", got, want)
		}
		badClass := strings.Replace(storageClassManifest("Bad_Class", "example.com/x"), "Bad_Class", "bad-class", 1)
		badClass = strings.Replace(badClass, "provisioner: example.com/x", "provisioner: a/b/c", 1)
		if got := e.kubectlFails(badClass, "create", "-f", "-"); !strings.Contains(got, `The StorageClass "bad-class" is invalid: provisioner: Invalid value: "a/b/c"`) {
			t.Errorf("kubectl create printed %q", got)
		}

		// A claim's spec is immutable: 422 with Kubernetes' message.
		patch := []byte(`{"spec":{"accessModes":["ReadWriteMany"]}}`)
		_, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Patch(e.ctx, "data", types.MergePatchType, patch, metav1.PatchOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims") {
			t.Errorf("patch accessModes: %v, want 422 spec is immutable", err)
		}
		// Binding (setting volumeName once) is allowed.
		patch = []byte(`{"spec":{"volumeName":"` + pv + `"}}`)
		if _, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Patch(e.ctx, "static", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Errorf("setting volumeName: %v", err)
		}
		// A class's provisioner and parameters are immutable.
		_, err = e.kube.StorageV1().StorageClasses().Patch(e.ctx, "local-path", types.MergePatchType,
			[]byte(`{"provisioner":"example.com/other"}`), metav1.PatchOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provisioner: Forbidden: updates to provisioner are forbidden.") {
			t.Errorf("patch provisioner: %v, want 422", err)
		}
	})
}

// storageClassManifest is a StorageClass manifest.
func storageClassManifest(name, provisioner string) string {
	return fmt.Sprintf(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: %s
provisioner: %s
`, name, provisioner)
}
