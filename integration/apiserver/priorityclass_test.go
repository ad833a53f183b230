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
)

// priorityClass is a PriorityClass manifest.
func priorityClass(name string, value int32, globalDefault bool) string {
	return fmt.Sprintf(`apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: %s
value: %d
globalDefault: %v
description: made by the priority class test
`, name, value, globalDefault)
}

// classPod is a pod manifest naming a PriorityClass ("" for none).
func classPod(name, class string) string {
	s := pod(name, "")
	if class != "" {
		s += "  priorityClassName: " + class + "\n"
	}
	return s
}

// priorityClassHeader is what kubectl prints over PriorityClasses.
var priorityClassHeader = []string{"NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"}

// priorityClassRow finds a class's row in `kubectl get priorityclasses`
// output, with AGE left out.
func priorityClassRow(t *testing.T, rows [][]string, name string) []string {
	t.Helper()
	if len(rows) == 0 || strings.Join(rows[0], " ") != strings.Join(priorityClassHeader, " ") {
		t.Fatalf("header = %v, want %v", rows, priorityClassHeader)
	}
	for _, r := range rows[1:] {
		if len(r) == len(priorityClassHeader) && r[0] == name {
			return []string{r[0], r[1], r[2], r[4]}
		}
	}
	t.Fatalf("no row for %s in %v", name, rows)
	return nil
}

func TestPriorityClasses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "priority")

	t.Run("built-ins", func(t *testing.T) {
		rows := fields(e.mustKubectl("", "get", "priorityclasses"))
		for _, want := range [][]string{
			{"system-cluster-critical", "2000000000", "false", "PreemptLowerPriority"},
			{"system-node-critical", "2000001000", "false", "PreemptLowerPriority"},
		} {
			if got := priorityClassRow(t, rows, want[0]); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("row %v, want %v (AGE aside)", got, want)
			}
		}
		pc, err := e.kube.SchedulingV1().PriorityClasses().Get(e.ctx, "system-node-critical", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := "Used for system critical pods that must not be moved from their current node."; pc.Description != want {
			t.Errorf("description = %q, want %q", pc.Description, want)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		want := "priorityclasses pc scheduling.k8s.io/v1 false PriorityClass"
		found := false
		for _, r := range fields(e.mustKubectl("", "api-resources")) {
			found = found || strings.Join(r, " ") == want
		}
		if !found {
			t.Errorf("kubectl api-resources has no row %q", want)
		}
		if out := e.mustKubectl("", "explain", "priorityclass.preemptionPolicy"); !strings.Contains(out, "PriorityClass") ||
			!strings.Contains(out, "preemptionPolicy") {
			t.Errorf("kubectl explain printed %q", out)
		}
	})

	gold := uniqueName("gold")
	if got, want := e.mustKubectl(priorityClass(gold, 1000, false), "apply", "-f", "-"), "priorityclass.scheduling.k8s.io/"+gold+" created\n"; got != want {
		t.Fatalf("kubectl apply printed %q, want %q", got, want)
	}
	t.Cleanup(func() {
		_ = e.kube.SchedulingV1().PriorityClasses().Delete(context.Background(), gold, metav1.DeleteOptions{})
	})

	t.Run("created class", func(t *testing.T) {
		row := priorityClassRow(t, fields(e.mustKubectl("", "get", "pc", gold)), gold)
		if want := []string{gold, "1000", "false", "PreemptLowerPriority"}; strings.Join(row, " ") != strings.Join(want, " ") {
			t.Errorf("kubectl get pc = %v, want %v", row, want)
		}
		// Stored where Kubernetes keeps it.
		cli, err := clientv3.New(clientv3.Config{Endpoints: shared.store.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		resp, err := cli.Get(e.ctx, "/registry/priorityclasses/"+gold, clientv3.WithCountOnly())
		if err != nil || resp.Count != 1 {
			t.Errorf("store key /registry/priorityclasses/%s: count %v, error %v", gold, resp, err)
		}
	})

	t.Run("pod gets its class's priority", func(t *testing.T) {
		e.mustKubectl(classPod("ranked", gold), "apply", "-f", "-")
		p, err := e.kube.CoreV1().Pods(e.ns).Get(e.ctx, "ranked", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.Priority == nil || *p.Spec.Priority != 1000 || p.Spec.PreemptionPolicy == nil ||
			*p.Spec.PreemptionPolicy != corev1.PreemptLowerPriority {
			t.Errorf("priority %v, preemptionPolicy %v; want 1000, PreemptLowerPriority", p.Spec.Priority, p.Spec.PreemptionPolicy)
		}
		// Applying the same manifest again changes nothing.
		if got, want := e.mustKubectl(classPod("ranked", gold), "apply", "-f", "-"), "pod/ranked unchanged\n"; got != want {
			t.Errorf("second apply printed %q, want %q", got, want)
		}
	})

	t.Run("server-side apply", func(t *testing.T) {
		silver := uniqueName("silver")
		if got, want := e.mustKubectl(priorityClass(silver, 500, false), "apply", "--server-side", "-f", "-"),
			"priorityclass.scheduling.k8s.io/"+silver+" serverside-applied\n"; got != want {
			t.Errorf("kubectl apply --server-side printed %q, want %q", got, want)
		}
		t.Cleanup(func() {
			_ = e.kube.SchedulingV1().PriorityClasses().Delete(context.Background(), silver, metav1.DeleteOptions{})
		})
		// A pod created by apply goes through admission too.
		e.mustKubectl(classPod("applied", silver), "apply", "--server-side", "-f", "-")
		if got, want := e.mustKubectl("", "get", "pod", "applied", "-o", "jsonpath={.spec.priority}"), "500"; got != want {
			t.Errorf("priority = %q, want %q", got, want)
		}
		want := `Error from server (Forbidden): pods "stray" is forbidden: no PriorityClass with name no-such-class was found` + "\n"
		if got := e.kubectlFails(classPod("stray", "no-such-class"), "apply", "--server-side", "-f", "-"); got != want {
			t.Errorf("kubectl apply --server-side printed %q, want %q", got, want)
		}
	})

	t.Run("describe", func(t *testing.T) {
		got := map[string]string{}
		for _, line := range strings.Split(e.mustKubectl("", "describe", "priorityclass", "system-node-critical"), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				got[k] = strings.TrimSpace(v)
			}
		}
		for k, want := range map[string]string{"Name": "system-node-critical", "Value": "2000001000", "GlobalDefault": "false",
			"PreemptionPolicy": "PreemptLowerPriority",
			"Description":      "Used for system critical pods that must not be moved from their current node."} {
			if got[k] != want {
				t.Errorf("describe %s: %q, want %q", k, got[k], want)
			}
		}
	})

	t.Run("pod without class", func(t *testing.T) {
		e.mustKubectl(classPod("plain", ""), "apply", "-f", "-")
		if got, want := e.mustKubectl("", "get", "pod", "plain", "-o", "jsonpath={.spec.priority} {.spec.preemptionPolicy}"), "0 PreemptLowerPriority"; got != want {
			t.Errorf("priority and policy = %q, want %q", got, want)
		}
	})

	t.Run("unknown class", func(t *testing.T) {
		want := `Error from server (Forbidden): error when creating "STDIN": pods "lost" is forbidden: no PriorityClass with name no-such-class was found` + "\n"
		if got := e.kubectlFails(classPod("lost", "no-such-class"), "apply", "-f", "-"); got != want {
			t.Errorf("kubectl apply printed %q, want %q", got, want)
		}
	})

	t.Run("priority that disagrees", func(t *testing.T) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pushy"}, Spec: corev1.PodSpec{
			PriorityClassName: gold, Priority: new(int32(7)), Containers: []corev1.Container{{Name: "main", Image: "nginx:1.25"}}}}
		_, err := e.kube.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{})
		want := `pods "pushy" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("create: %v, want 403 %q", err, want)
		}
	})

	t.Run("value is immutable", func(t *testing.T) {
		want := `The PriorityClass "` + gold + `" is invalid: value: Forbidden: may not be changed in an update.` + "\n"
		if got := e.kubectlFails(priorityClass(gold, 2000, false), "apply", "-f", "-"); got != want {
			t.Errorf("kubectl apply printed %q, want %q", got, want)
		}
	})

	t.Run("reserved names and values", func(t *testing.T) {
		want := `The PriorityClass "system-mine" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class` + "\n"
		if got := e.kubectlFails(priorityClass("system-mine", 10, false), "apply", "-f", "-"); got != want {
			t.Errorf("kubectl apply printed %q, want %q", got, want)
		}
		huge := uniqueName("huge")
		want = `The PriorityClass "` + huge + `" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000` + "\n"
		if got := e.kubectlFails(priorityClass(huge, 1000000001, false), "apply", "-f", "-"); got != want {
			t.Errorf("kubectl apply printed %q, want %q", got, want)
		}
	})
}

// TestPriorityClassGlobalDefault makes a class the cluster's global
// default, which every new pod without a class would get: it does not run
// in parallel, and removes the class before the parallel tests start.
func TestPriorityClassGlobalDefault(t *testing.T) {
	e := newEnv(t, "priority-default")
	first, second := uniqueName("fallback"), uniqueName("another")
	e.mustKubectl(priorityClass(first, -5, true), "apply", "-f", "-")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.kube.SchedulingV1().PriorityClasses().Delete(ctx, first, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete %s: %v", first, err)
		}
		// Both API servers must have let go of the default before the
		// parallel tests create pods.
		for i := range e.cp.Servers {
			eventually(t, 10*time.Second, func() error {
				name, err := dryRunPodClass(ctx, e, i)
				if err == nil && name != "" {
					err = fmt.Errorf("API server %d still gives new pods the class %q", i, name)
				}
				return err
			})
		}
	})

	t.Run("listed as the default", func(t *testing.T) {
		row := priorityClassRow(t, fields(e.mustKubectl("", "get", "priorityclasses")), first)
		if want := []string{first, "-5", "true", "PreemptLowerPriority"}; strings.Join(row, " ") != strings.Join(want, " ") {
			t.Errorf("row %v, want %v", row, want)
		}
	})

	t.Run("second default is refused", func(t *testing.T) {
		want := fmt.Sprintf(`Error from server (Forbidden): error when creating "STDIN": priorityclasses.scheduling.k8s.io %q is forbidden: PriorityClass %s is already marked as default. Only one default can exist`+"\n", second, first)
		if got := e.kubectlFails(priorityClass(second, 10, true), "apply", "-f", "-"); got != want {
			t.Errorf("kubectl apply printed %q, want %q", got, want)
		}
		if _, err := e.kube.SchedulingV1().PriorityClasses().Get(e.ctx, second, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get refused class: %v, want NotFound", err)
		}
	})

	t.Run("pods without class get the default", func(t *testing.T) {
		// Admission reads classes from the watch cache, as Kubernetes'
		// reads them from an informer: wait until it has the new one.
		eventually(t, 10*time.Second, func() error {
			name, err := dryRunPodClass(e.ctx, e, 0)
			if err == nil && name != first {
				err = fmt.Errorf("new pods get class %q", name)
			}
			return err
		})
		e.mustKubectl(classPod("defaulted", ""), "apply", "-f", "-")
		if got, want := e.mustKubectl("", "get", "pod", "defaulted", "-o", "jsonpath={.spec.priorityClassName} {.spec.priority}"), first+" -5"; got != want {
			t.Errorf("class and priority = %q, want %q", got, want)
		}
	})
}

// dryRunPodClass creates a pod without class on API server i, in dry run,
// and returns the class admission gave it.
func dryRunPodClass(ctx context.Context, e *env, i int) (string, error) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "main", Image: "nginx:1.25"}}}}
	out, err := e.client(i).CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return "", err
	}
	return out.Spec.PriorityClassName, nil
}
