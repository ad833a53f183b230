package validation

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateLease(t *testing.T) {
	valid := func() *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: objectMeta("kube-scheduler"), Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr("node-1_abc"), LeaseDurationSeconds: ptr(int32(15)), LeaseTransitions: ptr(int32(3))}}
	}
	tests := []struct {
		name   string
		mutate func(*coordinationv1.Lease)
		want   []want
	}{
		{name: "valid lease passes", mutate: func(*coordinationv1.Lease) {}},
		{name: "non-positive duration and negative transitions", mutate: func(l *coordinationv1.Lease) {
			l.Spec.LeaseDurationSeconds, l.Spec.LeaseTransitions = ptr(int32(0)), ptr(int32(-1))
		}, want: []want{
			invalid("spec.leaseDurationSeconds", "must be greater than 0"),
			invalid("spec.leaseTransitions", "must be greater than or equal to 0"),
		}},
		{name: "unknown strategy", mutate: func(l *coordinationv1.Lease) {
			l.Spec.Strategy = ptr(coordinationv1.CoordinatedLeaseStrategy("Newest"))
		},
			want: []want{notSupported("spec.strategy.strategy", `supported values: "OldestEmulationVersion"`)}},
		{name: "preferred holder without strategy", mutate: func(l *coordinationv1.Lease) { l.Spec.PreferredHolder = ptr("node-2") },
			want: []want{forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := valid()
			tc.mutate(l)
			expectErrors(t, ValidateCreate(l), tc.want...)
		})
	}

	old := valid()
	old.ObjectMeta = stored(old.ObjectMeta)
	t.Run("renewal passes", func(t *testing.T) {
		l := old.DeepCopy()
		l.Spec.RenewTime = ptr(metav1.NowMicro())
		expectErrors(t, ValidateUpdate(l, old))
	})
}

func TestValidateEndpointSlice(t *testing.T) {
	valid := func() *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  objectMeta("web-abc12"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.7"}, Hostname: ptr("web-0"),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
			Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP)}},
		}
	}
	tests := []struct {
		name   string
		mutate func(*discoveryv1.EndpointSlice)
		want   []want
	}{
		{name: "valid endpoint slice passes", mutate: func(*discoveryv1.EndpointSlice) {}},
		{name: "address type missing", mutate: func(e *discoveryv1.EndpointSlice) { e.AddressType = "" },
			want: []want{required("addressType", "")}},
		{name: "deprecated address type on create", mutate: func(e *discoveryv1.EndpointSlice) { e.AddressType = "IP" },
			want: []want{notSupported("addressType", `supported values: "FQDN", "IPv4", "IPv6"`)}},
		{name: "addresses of the wrong family or none", mutate: func(e *discoveryv1.EndpointSlice) {
			e.Endpoints = append(e.Endpoints, discoveryv1.Endpoint{Addresses: []string{"fd00::7", "10.244"}}, discoveryv1.Endpoint{})
		}, want: []want{
			invalid("endpoints[1].addresses[0]", "must be an IPv4 address"),
			invalid("endpoints[1].addresses[1]", "must be a valid IP address"),
			required("endpoints[2].addresses", "must contain at least 1 address"),
		}},
		{name: "ports", mutate: func(e *discoveryv1.EndpointSlice) {
			e.Ports = append(e.Ports, discoveryv1.EndpointPort{Name: ptr("http"), Protocol: ptr(corev1.Protocol("QUIC"))}, discoveryv1.EndpointPort{Name: ptr("metrics")})
		}, want: []want{
			duplicate("ports[1].name"),
			notSupported("ports[1].protocol", `supported values: "SCTP", "TCP", "UDP"`),
			required("ports[2].protocol", ""),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := valid()
			tc.mutate(e)
			expectErrors(t, ValidateCreate(e), tc.want...)
		})
	}

	old := valid()
	old.ObjectMeta = stored(old.ObjectMeta)
	t.Run("address type is immutable", func(t *testing.T) {
		e := old.DeepCopy()
		e.AddressType = discoveryv1.AddressTypeIPv6
		e.Endpoints[0].Addresses = []string{"fd00::7"}
		expectErrors(t, ValidateUpdate(e, old), invalid("addressType", "field is immutable"))
	})
}

func TestValidateScaleAndEviction(t *testing.T) {
	scale := &autoscalingv1.Scale{ObjectMeta: objectMeta("web"), Spec: autoscalingv1.ScaleSpec{Replicas: 3}}
	t.Run("valid scale passes", func(t *testing.T) { expectErrors(t, ValidateCreate(scale)) })
	t.Run("negative replicas", func(t *testing.T) {
		s := scale.DeepCopy()
		s.Spec.Replicas = -1
		expectErrors(t, ValidateUpdate(s, scale), invalid("spec.replicas", "must be greater than or equal to 0"))
	})

	ev := &policyv1.Eviction{ObjectMeta: objectMeta("web"), DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}}
	t.Run("valid eviction passes", func(t *testing.T) { expectErrors(t, ValidateCreate(ev)) })
	t.Run("bad delete options", func(t *testing.T) {
		e := ev.DeepCopy()
		e.DeleteOptions.PropagationPolicy = ptr(metav1.DeletionPropagation("Eventually"))
		e.DeleteOptions.DryRun = []string{"Some"}
		expectErrors(t, ValidateCreate(e),
			notSupported("propagationPolicy", `supported values: "Foreground", "Background", "Orphan", "nil"`),
			notSupported("dryRun", `supported values: "All"`))
	})
}

func TestUnsupportedAndMismatchedObjects(t *testing.T) {
	errs := ValidateCreate(&corev1.PodTemplate{})
	expectErrors(t, errs, want{field.ErrorTypeInternal, "<nil>", "no validation for *v1.PodTemplate"})

	errs = ValidateUpdate(validPod(), validService())
	expectErrors(t, errs, want{field.ErrorTypeInternal, "<nil>", "cannot validate an update of *v1.Pod from *v1.Service"})

	errs = ValidateStatusUpdate(&corev1.ConfigMap{}, &corev1.ConfigMap{})
	expectErrors(t, errs, want{field.ErrorTypeInternal, "<nil>", "no validation for *v1.ConfigMap"})
}

func TestUpdateReportsEachErrorOnce(t *testing.T) {
	// Pod updates check metadata as an update and as a create.
	old := storedPod()
	p := old.DeepCopy()
	p.Labels = map[string]string{"bad key!": "x"}
	p.Finalizers = []string{"cleanup"}
	expectErrors(t, ValidateUpdate(p, old),
		invalid("metadata.labels", "name part must consist of"),
		invalid("metadata.finalizers[0]", "name is neither a standard finalizer name nor is it fully qualified"))
}

func TestUpdateChecksMetadataAsOnCreate(t *testing.T) {
	old := validDeployment()
	old.ObjectMeta = stored(old.ObjectMeta)
	d := old.DeepCopy()
	d.Finalizers = []string{"example.com/a/b"}
	expectErrors(t, ValidateUpdate(d, old), invalid("metadata.finalizers", "a valid label key must consist of"))
}

func TestNilObjects(t *testing.T) {
	var pod *corev1.Pod
	nilErr := want{field.ErrorTypeInternal, "<nil>", "no object to validate"}
	expectErrors(t, ValidateCreate(nil), nilErr)
	expectErrors(t, ValidateCreate(pod), nilErr)
	expectErrors(t, ValidateUpdate(validPod(), pod), nilErr)
	expectErrors(t, ValidateStatusUpdate(pod, validPod()), nilErr)
}
