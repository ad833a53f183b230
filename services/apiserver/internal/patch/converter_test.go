package patch

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// TestConverterKeepsManagedFields checks that leaving out the validation
// of an update's objects changes no managed fields: client-go's own
// converter, validating, gives the same entries for creates and updates,
// including objects the validation walk objects to (a list-map item
// without its key) or allows (duplicate keys).
func TestConverterKeepsManagedFields(t *testing.T) {
	ours := newPatcher(t)
	if _, ok := ours.typeConverter.(*converter); !ok {
		t.Fatalf("the Patcher's TypeConverter is %T, want *converter", ours.typeConverter)
	}
	// theirs is the field managers as Kubernetes builds them: client-go's
	// converter, validating, and the scheme's conversions, copying.
	theirs := &Patcher{typeConverter: applyconfigurations.NewTypeConverter(api.Scheme), objectConvertor: api.Scheme,
		managers: map[managerKey]*managedfields.FieldManager{}}

	withEnv := func(env ...corev1.EnvVar) *corev1.Pod {
		p := pod()
		p.Spec.Containers[0].Env = env
		return p
	}
	noName := pod()
	noName.Spec.Containers[1].Name = ""
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
		}},
	}
	svc2 := svc.DeepCopy()
	svc2.Spec.Ports = append(svc2.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443), Protocol: corev1.ProtocolTCP})
	scaled := deployment()
	scaled.Spec.Replicas = int32p(5)
	scaled.Spec.Template.Spec.Containers[0].Image = "nginx:1.26"

	for _, tc := range []struct {
		name      string
		old, next runtime.Object
	}{
		{"create a pod", nil, pod()},
		{"create a deployment", nil, deployment()},
		{"create a service", nil, svc},
		{"update a deployment", deployment(), scaled},
		{"update a service", svc, svc2},
		{"update a pod's labels", pod(), func() *corev1.Pod { p := pod(); p.Labels["x"] = "y"; return p }()},
		{"create with duplicate env names", nil, withEnv(corev1.EnvVar{Name: "A", Value: "1"}, corev1.EnvVar{Name: "A", Value: "2"})},
		{"create with a container without a name", nil, noName},
		{"update to a container without a name", pod(), noName},
		{"update from a container without a name", noName, pod()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var olds [2]runtime.Object
			if tc.old != nil {
				// The stored object carries the entries of its create.
				for i, p := range []*Patcher{ours, theirs} {
					olds[i] = recorded(t, p, tc.old, nil, "creator", "")
				}
			}
			var got [2][]metav1.ManagedFieldsEntry
			for i, p := range []*Patcher{ours, theirs} {
				out := recorded(t, p, tc.next, olds[i], "writer", "")
				got[i] = withoutTimes(out.(metav1.Object).GetManagedFields())
			}
			if !equality.Semantic.DeepEqual(got[0], got[1]) {
				t.Errorf("managed fields differ:\n ours:   %s\n theirs: %s", entries(got[0]), entries(got[1]))
			}
			if len(got[1]) == 0 && tc.name != "create with a container without a name" && tc.name != "update to a container without a name" {
				t.Errorf("no managed fields at all (the case tests nothing): %v", got[1])
			}
		})
	}
	// The cases went through the unvalidated conversion.
	if _, ok := ours.typeConverter.(*converter).types.Load(podGVK); !ok {
		t.Error("no pod was converted without validation")
	}
}

// TestConvertor checks that a typed object of the version asked for comes
// back as it is, and that anything else goes through the scheme.
func TestConvertor(t *testing.T) {
	c := convertor{api.Scheme}
	v1 := corev1.SchemeGroupVersion
	typed := pod()
	typed.SetGroupVersionKind(podGVK)
	if out, err := c.ConvertToVersion(typed, v1); err != nil || out != runtime.Object(typed) {
		t.Errorf("a v1 Pod to v1: %p, %v; want the object itself", out, err)
	}
	noKind := pod()
	if out, err := c.ConvertToVersion(noKind, v1); err != nil || out == runtime.Object(noKind) || out.GetObjectKind().GroupVersionKind() != podGVK {
		t.Errorf("a Pod without its kind to v1: %p %v, %v; want a copy with the kind set", out, out.GetObjectKind().GroupVersionKind(), err)
	}
	if noKind.GetObjectKind().GroupVersionKind() != (schema.GroupVersionKind{}) {
		t.Error("the Pod without its kind got one: the scheme's conversion should have copied it")
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(deploymentGVK)
	u.SetName("web")
	out, err := c.ConvertToVersion(u, appsv1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := out.(*appsv1.Deployment); !ok || d.Name != "web" {
		t.Errorf("an unstructured Deployment to apps/v1: %T %v; want the typed Deployment", out, out)
	}
}

// BenchmarkCreateManagedFields is the managed fields of a pod's create
// as Kubernetes computes them and as ours does.
func BenchmarkCreateManagedFields(b *testing.B) {
	tc := applyconfigurations.NewTypeConverter(api.Scheme)
	for _, c := range []struct {
		name string
		tc   managedfields.TypeConverter
		oc   runtime.ObjectConvertor
	}{
		{"as Kubernetes", tc, api.Scheme},
		{"unvalidated", &converter{TypeConverter: tc}, api.Scheme},
		{"unvalidated, not copied", &converter{TypeConverter: tc}, convertor{api.Scheme}},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := &Patcher{typeConverter: c.tc, objectConvertor: c.oc, managers: map[managerKey]*managedfields.FieldManager{}}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.RecordManagedFields(pod(), nil, "m", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func withoutTimes(mf []metav1.ManagedFieldsEntry) []metav1.ManagedFieldsEntry {
	out := make([]metav1.ManagedFieldsEntry, len(mf))
	for i, e := range mf {
		e.Time = nil
		out[i] = e
	}
	return out
}

func entries(mf []metav1.ManagedFieldsEntry) string {
	s := ""
	for _, e := range mf {
		raw := ""
		if e.FieldsV1 != nil {
			raw = string(e.FieldsV1.Raw)
		}
		s += e.Manager + "/" + string(e.Operation) + ": " + raw + "; "
	}
	return s
}
