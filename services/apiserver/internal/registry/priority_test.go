package registry

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/defaults"
	"github.com/gantry-dev/gantry/services/apiserver/internal/validation"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeClasses serves classes from memory; err fails every read.
type fakeClasses struct {
	classes []*schedulingv1.PriorityClass
	err     error
}

func (f fakeClasses) get(_ context.Context, name string) (*schedulingv1.PriorityClass, error) {
	if f.err != nil {
		return nil, f.err
	}
	for _, pc := range f.classes {
		if pc.Name == name {
			return pc, nil
		}
	}
	return nil, apierrors.NewNotFound(priorityClassesGR, name)
}

func (f fakeClasses) list(context.Context) ([]*schedulingv1.PriorityClass, error) {
	return f.classes, f.err
}

// class is a stored, defaulted PriorityClass.
func class(name string, value int32, globalDefault bool, policy corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value,
		GlobalDefault: globalDefault, PreemptionPolicy: &policy}
}

func builtIns() []*schedulingv1.PriorityClass {
	out := api.SystemPriorityClasses()
	for _, pc := range out {
		defaults.Default(pc)
	}
	return out
}

func TestAdmitPodPriority(t *testing.T) {
	high := class("high", 1000, false, corev1.PreemptLowerPriority)
	polite := class("polite", 500, false, corev1.PreemptNever)
	batch := class("batch", -10, true, corev1.PreemptNever)
	stock := append(builtIns(), high, polite)
	withDefault := append(append([]*schedulingv1.PriorityClass{}, stock...), batch)

	tests := []struct {
		name      string
		classes   []*schedulingv1.PriorityClass
		namespace string // default when empty
		spec      corev1.PodSpec
		// wantClass, wantPriority and wantPolicy are the pod's after admission.
		wantClass    string
		wantPriority int32
		wantPolicy   corev1.PreemptionPolicy
		// wantErr is the whole message of a 403 Forbidden, when admission refuses.
		wantErr string
	}{
		{name: "class sets priority and policy", classes: stock, spec: corev1.PodSpec{PriorityClassName: "high"},
			wantClass: "high", wantPriority: 1000, wantPolicy: corev1.PreemptLowerPriority},
		{name: "class that never preempts", classes: stock, spec: corev1.PodSpec{PriorityClassName: "polite"},
			wantClass: "polite", wantPriority: 500, wantPolicy: corev1.PreemptNever},
		{name: "no class and no default: priority 0", classes: stock,
			wantPriority: 0, wantPolicy: corev1.PreemptLowerPriority},
		{name: "no class: the global default applies", classes: withDefault,
			wantClass: "batch", wantPriority: -10, wantPolicy: corev1.PreemptNever},
		{name: "a named class wins over the default", classes: withDefault, spec: corev1.PodSpec{PriorityClassName: "high"},
			wantClass: "high", wantPriority: 1000, wantPolicy: corev1.PreemptLowerPriority},
		{name: "two defaults after a race: the lowest value", classes: append(withDefault, class("other", 7, true, corev1.PreemptLowerPriority)),
			wantClass: "batch", wantPriority: -10, wantPolicy: corev1.PreemptNever},
		{name: "priority stated as computed", classes: stock,
			spec:      corev1.PodSpec{PriorityClassName: "high", Priority: new(int32(1000)), PreemptionPolicy: new(corev1.PreemptLowerPriority)},
			wantClass: "high", wantPriority: 1000, wantPolicy: corev1.PreemptLowerPriority},
		{name: "unknown class", classes: stock, spec: corev1.PodSpec{PriorityClassName: "gold"},
			wantErr: `pods "web" is forbidden: no PriorityClass with name gold was found`},
		{name: "priority that disagrees with the class", classes: stock, spec: corev1.PodSpec{PriorityClassName: "high", Priority: new(int32(5))},
			wantErr: `pods "web" is forbidden: the integer value of priority (5) must not be provided in pod spec; ` +
				`priority admission controller computed 1000 from the given PriorityClass name`},
		{name: "priority without class or default", classes: stock, spec: corev1.PodSpec{Priority: new(int32(5))},
			wantErr: `pods "web" is forbidden: the integer value of priority (5) must not be provided in pod spec; ` +
				`priority admission controller computed 0 from the given PriorityClass name`},
		{name: "policy that disagrees with the class", classes: stock,
			spec: corev1.PodSpec{PriorityClassName: "polite", PreemptionPolicy: new(corev1.PreemptLowerPriority)},
			wantErr: `pods "web" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; ` +
				`priority admission controller computed Never from the given PriorityClass name`},
		{name: "built-in class in kube-system", classes: stock, namespace: "kube-system",
			spec:      corev1.PodSpec{PriorityClassName: "system-node-critical"},
			wantClass: "system-node-critical", wantPriority: 2000001000, wantPolicy: corev1.PreemptLowerPriority},
		{name: "built-in class elsewhere (allowed since Kubernetes 1.17)", classes: stock, spec: corev1.PodSpec{PriorityClassName: "system-cluster-critical"},
			wantClass: "system-cluster-critical", wantPriority: 2000000000, wantPolicy: corev1.PreemptLowerPriority},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := tc.namespace
			if ns == "" {
				ns = "default"
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: tc.spec}
			err := admitPodPriority(context.Background(), pod, "web", fakeClasses{classes: tc.classes})
			if tc.wantErr != "" {
				if !apierrors.IsForbidden(err) || err.Error() != tc.wantErr {
					t.Fatalf("error = %v (forbidden %v), want 403 %q", err, apierrors.IsForbidden(err), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := pod.Spec
			if s.PriorityClassName != tc.wantClass || s.Priority == nil || *s.Priority != tc.wantPriority ||
				s.PreemptionPolicy == nil || *s.PreemptionPolicy != tc.wantPolicy {
				t.Errorf("class %q priority %v policy %v, want %q %d %s",
					s.PriorityClassName, show(s.Priority), show(s.PreemptionPolicy), tc.wantClass, tc.wantPriority, tc.wantPolicy)
			}
		})
	}

	t.Run("a generated name is reported as its generateName", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-7d4b9-x2k4q", GenerateName: "web-7d4b9-", Namespace: "default"},
			Spec: corev1.PodSpec{PriorityClassName: "gold"}}
		err := admitPodPriority(context.Background(), pod, "web-7d4b9-", fakeClasses{classes: stock})
		if want := `pods "web-7d4b9-" is forbidden: no PriorityClass with name gold was found`; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %q", err, want)
		}
	})
	t.Run("a store failure is not a 403", func(t *testing.T) {
		boom := errors.New("store unavailable")
		for _, spec := range []corev1.PodSpec{{PriorityClassName: "high"}, {}} {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: spec}
			err := admitPodPriority(context.Background(), pod, "web", fakeClasses{err: boom})
			if !errors.Is(err, boom) || apierrors.IsForbidden(err) {
				t.Errorf("class %q: error = %v, want the store's", spec.PriorityClassName, err)
			}
		}
	})
}

// show is *p, or "<nil>", for comparison with !=.
func show[T any](p *T) any {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestCheckGlobalDefault(t *testing.T) {
	batch := class("batch", -10, true, corev1.PreemptLowerPriority)
	high := class("high", 1000, false, corev1.PreemptLowerPriority)
	tests := []struct {
		name    string
		pc      *schedulingv1.PriorityClass
		update  bool
		stored  []*schedulingv1.PriorityClass
		wantErr string
	}{
		{name: "first default", pc: batch, stored: builtIns()},
		{name: "not a default", pc: class("low", 1, false, corev1.PreemptLowerPriority), stored: []*schedulingv1.PriorityClass{batch}},
		{name: "second default", pc: class("gold", 1, true, corev1.PreemptLowerPriority), stored: []*schedulingv1.PriorityClass{high, batch},
			wantErr: `priorityclasses.scheduling.k8s.io "gold" is forbidden: PriorityClass batch is already marked as default. Only one default can exist`},
		{name: "the default updated", pc: batch, update: true, stored: []*schedulingv1.PriorityClass{high, batch}},
		{name: "another class made the default", pc: class("high", 1000, true, corev1.PreemptLowerPriority), update: true,
			stored:  []*schedulingv1.PriorityClass{high, batch},
			wantErr: `priorityclasses.scheduling.k8s.io "high" is forbidden: PriorityClass batch is already marked as default. Only one default can exist`},
		{name: "a default created again (dry run of the same name)", pc: batch, stored: []*schedulingv1.PriorityClass{batch},
			wantErr: `priorityclasses.scheduling.k8s.io "batch" is forbidden: PriorityClass batch is already marked as default. Only one default can exist`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkGlobalDefault(tc.pc, tc.update, tc.stored)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error = %v, want none", err)
			case tc.wantErr != "" && (!apierrors.IsForbidden(err) || err.Error() != tc.wantErr):
				t.Errorf("error = %v, want 403 %q", err, tc.wantErr)
			}
			if err != nil {
				if code := err.(apierrors.APIStatus).Status().Code; code != http.StatusForbidden {
					t.Errorf("code = %d, want 403", code)
				}
			}
		})
	}
}

func TestKeepPodPriority(t *testing.T) {
	old := &corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: "high", Priority: new(int32(1000)), PreemptionPolicy: new(corev1.PreemptNever)}}
	t.Run("left out", func(t *testing.T) {
		pod := &corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: "high"}}
		if err := keepPodPriority(context.Background(), pod, old); err != nil {
			t.Fatal(err)
		}
		if show(pod.Spec.Priority) != int32(1000) || show(pod.Spec.PreemptionPolicy) != corev1.PreemptNever {
			t.Errorf("priority %v policy %v, want the stored 1000 Never", show(pod.Spec.Priority), show(pod.Spec.PreemptionPolicy))
		}
		if pod.Spec.Priority == old.Spec.Priority || pod.Spec.PreemptionPolicy == old.Spec.PreemptionPolicy {
			t.Error("the update shares pointers with the stored pod")
		}
	})
	t.Run("changed is left for validation", func(t *testing.T) {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Priority: new(int32(7))}}
		_ = keepPodPriority(context.Background(), pod, old)
		if show(pod.Spec.Priority) != int32(7) {
			t.Errorf("priority = %v, want the update's 7", show(pod.Spec.Priority))
		}
	})
}

// TestSystemPriorityClassesAreValid: the classes bootstrap creates pass
// defaulting and validation as they are.
func TestSystemPriorityClassesAreValid(t *testing.T) {
	for _, pc := range builtIns() {
		if errs := validation.ValidateCreate(pc); len(errs) > 0 {
			t.Errorf("%s: %v", pc.Name, errs)
		}
		if show(pc.PreemptionPolicy) != corev1.PreemptLowerPriority {
			t.Errorf("%s: preemptionPolicy %v, want PreemptLowerPriority", pc.Name, show(pc.PreemptionPolicy))
		}
	}
}
