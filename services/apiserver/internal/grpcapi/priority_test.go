package grpcapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPriorityClasses drives PriorityClasses and the Priority admission of
// pods through the typed client. Classes are cluster-scoped and the store
// is shared by the package's tests, so the global default made here is
// deleted before the test ends.
func TestPriorityClasses(t *testing.T) {
	cl := newCluster(t)
	addr, _ := cl.startServer(t)
	c := cl.adminClient(t, addr)
	ns := namespace(t, c)
	pcs, pods := client.PriorityClasses(c), client.Pods(c)
	ctx := context.Background()

	t.Run("built-in classes", func(t *testing.T) {
		want := map[string]int32{"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
		for name, value := range want {
			var pc *schedulingv1.PriorityClass
			eventually(t, 10*time.Second, name+" exists", func() bool {
				var err error
				pc, err = pcs.Get(ctx, "", name, metav1.GetOptions{})
				return err == nil
			})
			if pc.Value != value || pc.GlobalDefault || pc.Description == "" ||
				pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
				t.Errorf("%s: value %d, globalDefault %v, description %q, policy %v", name, pc.Value, pc.GlobalDefault, pc.Description, pc.PreemptionPolicy)
			}
		}
	})

	gold := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "gold-" + randomHex(3)}, Value: 1000}
	created, err := pcs.Create(ctx, gold, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create class: %v", err)
	}
	t.Cleanup(func() { _ = pcs.Delete(context.Background(), "", gold.Name, metav1.DeleteOptions{}) })
	if created.Generation != 1 || created.PreemptionPolicy == nil || *created.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Errorf("created class: generation %d, policy %v; want 1, PreemptLowerPriority", created.Generation, created.PreemptionPolicy)
	}

	newPod := func(name, className string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.PodSpec{PriorityClassName: className, Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}
	}

	t.Run("pod gets its class's priority", func(t *testing.T) {
		pod, err := pods.Create(ctx, newPod("ranked", gold.Name), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.Priority == nil || *pod.Spec.Priority != 1000 || pod.Spec.PreemptionPolicy == nil ||
			*pod.Spec.PreemptionPolicy != corev1.PreemptLowerPriority {
			t.Fatalf("priority %v, policy %v; want 1000, PreemptLowerPriority", pod.Spec.Priority, pod.Spec.PreemptionPolicy)
		}
		// A replace that leaves the priority out keeps it, as Kubernetes' admission does.
		pod.Spec.Priority, pod.Spec.PreemptionPolicy = nil, nil
		pod.Labels = map[string]string{"tier": "gold"}
		updated, err := pods.Update(ctx, pod, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update without priority: %v", err)
		}
		if updated.Spec.Priority == nil || *updated.Spec.Priority != 1000 || updated.Generation != pod.Generation {
			t.Errorf("after update: priority %v, generation %d (was %d)", updated.Spec.Priority, updated.Generation, pod.Generation)
		}
	})

	t.Run("pod without class gets priority 0", func(t *testing.T) {
		pod, err := pods.Create(ctx, newPod("plain", ""), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.Priority == nil || *pod.Spec.Priority != 0 || pod.Spec.PriorityClassName != "" {
			t.Errorf("priority %v, class %q; want 0 and none", pod.Spec.Priority, pod.Spec.PriorityClassName)
		}
	})

	refused := []struct {
		name string
		pod  func() *corev1.Pod
		want string
	}{
		{"unknown class", func() *corev1.Pod { return newPod("lost", "no-such-class") },
			`pods "lost" is forbidden: no PriorityClass with name no-such-class was found`},
		{"priority that disagrees", func() *corev1.Pod {
			p := newPod("pushy", gold.Name)
			p.Spec.Priority = new(int32(5))
			return p
		}, `pods "pushy" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name`},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pods.Create(ctx, tc.pod(), metav1.CreateOptions{})
			if !apierrors.IsForbidden(err) || err.Error() != tc.want {
				t.Errorf("create: %v, want 403 %q", err, tc.want)
			}
		})
	}

	t.Run("value is immutable", func(t *testing.T) {
		pc, err := pcs.Get(ctx, "", gold.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pc.Value = 2000
		_, err = pcs.Update(ctx, pc, metav1.UpdateOptions{})
		want := `PriorityClass.scheduling.k8s.io "` + gold.Name + `" is invalid: value: Forbidden: may not be changed in an update.`
		if !apierrors.IsInvalid(err) || err.Error() != want {
			t.Errorf("update: %v, want 422 %q", err, want)
		}
	})

	t.Run("one global default", func(t *testing.T) {
		def := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "default-" + randomHex(3)}, Value: -5,
			GlobalDefault: true, PreemptionPolicy: new(corev1.PreemptNever)}
		if _, err := pcs.Create(ctx, def, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pcs.Delete(context.Background(), "", def.Name, metav1.DeleteOptions{}) })

		second := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "other-" + randomHex(3)}, Value: 1, GlobalDefault: true}
		_, err := pcs.Create(ctx, second, metav1.CreateOptions{})
		want := `priorityclasses.scheduling.k8s.io "` + second.Name + `" is forbidden: PriorityClass ` + def.Name +
			` is already marked as default. Only one default can exist`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("second default: %v, want 403 %q", err, want)
		}
		pc, err := pcs.Get(ctx, "", gold.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pc.GlobalDefault = true
		if _, err := pcs.Update(ctx, pc, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("marking a second class default: %v, want 403", err)
		}

		// A pod naming no class gets the default, once the watch cache has it.
		var pod *corev1.Pod
		eventually(t, 5*time.Second, "a pod gets the default class", func() bool {
			pod, err = pods.Create(ctx, newPod("defaulted", ""), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err == nil && pod.Spec.PriorityClassName == def.Name
		})
		if pod.Spec.Priority == nil || *pod.Spec.Priority != -5 || pod.Spec.PreemptionPolicy == nil || *pod.Spec.PreemptionPolicy != corev1.PreemptNever {
			t.Errorf("defaulted pod: priority %v, policy %v; want -5, Never", pod.Spec.Priority, pod.Spec.PreemptionPolicy)
		}
	})
}
