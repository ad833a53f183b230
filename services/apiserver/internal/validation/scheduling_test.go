package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidatePriorityClass(t *testing.T) {
	valid := func() *schedulingv1.PriorityClass {
		return &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: "high", UID: "5d1d1c2c-95a2-4c49-9ad8-3a9b4d0b5e01"},
			Value:      1000, Description: "for important pods", PreemptionPolicy: ptr(corev1.PreemptLowerPriority),
		}
	}
	tests := []struct {
		name   string
		mutate func(*schedulingv1.PriorityClass)
		want   []want
		msg    string // one error prints this, when set
	}{
		{name: "valid class passes", mutate: func(*schedulingv1.PriorityClass) {}},
		{name: "negative value and global default pass", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Value, pc.GlobalDefault = -100, true
		}},
		{name: "highest user value passes", mutate: func(pc *schedulingv1.PriorityClass) { pc.Value = 1000000000 }},
		{name: "never preempting passes", mutate: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptNever) }},
		{name: "value above the user range", mutate: func(pc *schedulingv1.PriorityClass) { pc.Value = 1000000001 },
			want: []want{forbidden("value", "")},
			msg:  "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"},
		{name: "unknown preemption policy", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.PreemptionPolicy = ptr(corev1.PreemptionPolicy("Sometimes"))
		}, want: []want{notSupported("preemptionPolicy", `supported values: "PreemptLowerPriority", "Never"`)}},
		{name: "empty preemption policy", mutate: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptionPolicy("")) },
			want: []want{required("preemptionPolicy", "")}},
		{name: "name not a DNS subdomain", mutate: func(pc *schedulingv1.PriorityClass) { pc.Name = "High_Priority" },
			want: []want{invalid("metadata.name", "a lowercase RFC 1123 subdomain")}},
		{name: "namespace on a cluster-scoped class", mutate: func(pc *schedulingv1.PriorityClass) { pc.Namespace = "default" },
			want: []want{forbidden("metadata.namespace", "not allowed on this type")}},
		{name: "built-in class as defined passes", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value = "system-node-critical", 2000001000
		}},
		{name: "built-in class with another value", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value = "system-cluster-critical", 5
		}, want: []want{forbidden("metadata.name", "")},
			msg: "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. " +
				"error: value of system-cluster-critical PriorityClass must be 2000000000"},
		{name: "built-in class as global default", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value, pc.GlobalDefault = "system-node-critical", 2000001000, true
		}, want: []want{forbidden("metadata.name", "error: globalDefault of system-node-critical PriorityClass must be false")}},
		{name: "other system- name", mutate: func(pc *schedulingv1.PriorityClass) { pc.Name = "system-mine" },
			want: []want{forbidden("metadata.name", "")},
			msg: "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. " +
				"error: system-mine is not a known system priority class"},
		{name: "system- name above the user range is reported once", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value = "system-mine", 2000000000
		}, want: []want{forbidden("metadata.name", "system-mine is not a known system priority class")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pc := valid()
			tc.mutate(pc)
			errs := ValidateCreate(pc)
			expectErrors(t, errs, tc.want...)
			if tc.msg != "" {
				expectMessage(t, errs, tc.msg)
			}
		})
	}
}

func TestValidatePriorityClassUpdate(t *testing.T) {
	old := &schedulingv1.PriorityClass{
		ObjectMeta: stored(metav1.ObjectMeta{Name: "high", UID: "5d1d1c2c-95a2-4c49-9ad8-3a9b4d0b5e01", Generation: 1}),
		Value:      1000, PreemptionPolicy: ptr(corev1.PreemptLowerPriority),
	}
	tests := []struct {
		name   string
		mutate func(*schedulingv1.PriorityClass)
		want   []want
		msg    string
	}{
		{name: "description, labels and global default may change", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Description, pc.GlobalDefault, pc.Labels = "now the default", true, map[string]string{"tier": "gold"}
		}},
		{name: "value is immutable", mutate: func(pc *schedulingv1.PriorityClass) { pc.Value = 2000 },
			want: []want{forbidden("value", "")}, msg: "value: Forbidden: may not be changed in an update."},
		{name: "preemption policy is immutable", mutate: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptNever) },
			want: []want{invalid("preemptionPolicy", "field is immutable")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pc := old.DeepCopy()
			tc.mutate(pc)
			errs := ValidateUpdate(pc, old)
			expectErrors(t, errs, tc.want...)
			if tc.msg != "" {
				expectMessage(t, errs, tc.msg)
			}
		})
	}

	// As in Kubernetes, an update is not held to the rules of create.
	t.Run("a stored class above the user range may still be updated", func(t *testing.T) {
		big := old.DeepCopy()
		big.Value = 1500000000
		pc := big.DeepCopy()
		pc.Description = "grandfathered"
		expectErrors(t, ValidateUpdate(pc, big))
	})
}
