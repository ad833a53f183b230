package validation

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateNamespace(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Namespace)
		want   []want
	}{
		{name: "valid namespace passes", mutate: func(*corev1.Namespace) {}},
		{name: "name not a DNS label", mutate: func(n *corev1.Namespace) { n.Name = "team.a" },
			want: []want{invalid("metadata.name", "must not contain dots")}},
		{name: "namespace set on a cluster-scoped object", mutate: func(n *corev1.Namespace) { n.Namespace = "default" },
			want: []want{forbidden("metadata.namespace", "not allowed on this type")}},
		{name: "unqualified spec finalizer", mutate: func(n *corev1.Namespace) { n.Spec.Finalizers = []corev1.FinalizerName{"cleanup"} },
			want: []want{invalid("spec.finalizers", "name is neither a standard finalizer name nor is it fully qualified")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
			tc.mutate(ns)
			expectErrors(t, ValidateCreate(ns), tc.want...)
		})
	}

	old := &corev1.Namespace{ObjectMeta: stored(metav1.ObjectMeta{Name: "team-a", UID: "u1"}), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	t.Run("labels may change", func(t *testing.T) {
		ns := old.DeepCopy()
		ns.Labels = map[string]string{"team": "a"}
		expectErrors(t, ValidateUpdate(ns, old))
	})
	t.Run("name is immutable", func(t *testing.T) {
		ns := old.DeepCopy()
		ns.Name = "team-b"
		expectErrors(t, ValidateUpdate(ns, old), invalid("metadata.name", "field is immutable"))
	})
	t.Run("phase must agree with deletion", func(t *testing.T) {
		ns := old.DeepCopy()
		ns.Status.Phase = corev1.NamespaceTerminating
		expectErrors(t, ValidateStatusUpdate(ns, old), invalid("status.Phase", "may only be 'Active' if `deletionTimestamp` is empty"))
	})
}

func TestValidateNode(t *testing.T) {
	valid := func() *corev1.Node {
		return &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "node-1.example.com"},
			Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.1.0/24", "fd00:10:244:1::/64"},
				Taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}},
		}
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Node)
		want   []want
	}{
		{name: "valid node passes", mutate: func(*corev1.Node) {}},
		{name: "name not a DNS subdomain", mutate: func(n *corev1.Node) { n.Name = "Node_1" },
			want: []want{invalid("metadata.name", "a lowercase RFC 1123 subdomain")}},
		{name: "bad taints", mutate: func(n *corev1.Node) {
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule},
				corev1.Taint{Key: "x", Effect: "Evict"}, corev1.Taint{Key: "y"})
		}, want: []want{
			duplicate("metadata.taints[1]"),
			notSupported("metadata.taints[2].effect", `supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`),
			required("metadata.taints[3].effect", ""),
		}},
		{name: "pod CIDRs of one family", mutate: func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "10.244.2.0/24"} },
			want: []want{invalid("spec.podCIDRs", "may specify no more than one CIDR for each IP family")}},
		{name: "bad pod CIDR", mutate: func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0"} },
			want: []want{invalid("spec.podCIDRs[0]", "must be a valid CIDR value")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := valid()
			tc.mutate(n)
			expectErrors(t, ValidateCreate(n), tc.want...)
		})
	}

	old := valid()
	old.ObjectMeta = stored(old.ObjectMeta)
	t.Run("taints and unschedulable may change", func(t *testing.T) {
		n := old.DeepCopy()
		n.Spec.Unschedulable = true
		n.Spec.Taints = nil
		expectErrors(t, ValidateUpdate(n, old))
	})
	t.Run("pod CIDR set once", func(t *testing.T) {
		n := old.DeepCopy()
		n.Spec.PodCIDRs = []string{"10.244.9.0/24", "fd00:10:244:1::/64"}
		expectErrors(t, ValidateUpdate(n, old), forbidden("spec.podCIDRs", `node updates may not change podCIDR except from "" to valid`))
	})
	t.Run("pod CIDR may be assigned", func(t *testing.T) {
		unassigned := old.DeepCopy()
		unassigned.Spec.PodCIDRs = nil
		expectErrors(t, ValidateUpdate(old.DeepCopy(), unassigned))
	})
	t.Run("status addresses must be unique", func(t *testing.T) {
		n := old.DeepCopy()
		a := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}
		n.Status.Addresses = []corev1.NodeAddress{a, a}
		expectErrors(t, ValidateStatusUpdate(n, old), duplicate("status.addresses[1]"))
	})
}

func TestValidateConfigMap(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.ConfigMap)
		want   []want
	}{
		{name: "valid config map passes", mutate: func(*corev1.ConfigMap) {}},
		{name: "bad keys", mutate: func(c *corev1.ConfigMap) {
			c.Data["app/config"] = "x"
			c.Data[".."] = "y"
		}, want: []want{
			invalid("data[app/config]", "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"),
			invalid("data[..]", "must not be '..'"),
		}},
		{name: "key in data and binaryData", mutate: func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"app.yaml": {1}} },
			want: []want{invalid("data[app.yaml]", "duplicate of key present in binaryData")}},
		{name: "more than 1 MiB", mutate: func(c *corev1.ConfigMap) {
			c.Data["big"] = strings.Repeat("x", 1024*1024)
		},
			// Kubernetes reports the whole object, whose empty path prints as "[]".
			want: []want{tooLong("[]", "may not be more than 1048576 bytes")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.ConfigMap{ObjectMeta: objectMeta("web-conf"), Data: map[string]string{"app.yaml": "port: 80"}}
			tc.mutate(c)
			expectErrors(t, ValidateCreate(c), tc.want...)
		})
	}

	old := &corev1.ConfigMap{ObjectMeta: stored(objectMeta("web-conf")), Data: map[string]string{"a": "1"}}
	t.Run("data may change", func(t *testing.T) {
		c := old.DeepCopy()
		c.Data["a"] = "2"
		expectErrors(t, ValidateUpdate(c, old))
	})
	t.Run("immutable config map", func(t *testing.T) {
		frozen := old.DeepCopy()
		frozen.Immutable = ptr(true)
		c := frozen.DeepCopy()
		c.Data["a"] = "2"
		c.Immutable = nil
		expectErrors(t, ValidateUpdate(c, frozen),
			forbidden("immutable", "field is immutable when `immutable` is set"),
			forbidden("data", "field is immutable when `immutable` is set"))
	})
}

func TestValidateSecret(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Secret)
		want   []want
	}{
		{name: "valid secret passes", mutate: func(*corev1.Secret) {}},
		{name: "string data counts as data", mutate: func(s *corev1.Secret) { s.StringData = map[string]string{"bad key": "x"} },
			want: []want{invalid("data[bad key]", "a valid config key must consist of")}},
		{name: "TLS secret without keys", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeTLS },
			want: []want{required("data[tls.crt]", ""), required("data[tls.key]", "")}},
		{name: "docker config that is not JSON", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data = map[string][]byte{corev1.DockerConfigJsonKey: []byte("{")}
		}, want: []want{invalid("data[.dockerconfigjson]", "unexpected end of JSON input")}},
		{name: "service account token without the account", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeServiceAccountToken },
			want: []want{required("metadata.annotations[kubernetes.io/service-account.name]", "")}},
		{name: "more than 1 MiB", mutate: func(s *corev1.Secret) { s.Data["big"] = make([]byte, 1024*1024) },
			want: []want{tooLong("data", "may not be more than 1048576 bytes")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: objectMeta("web"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"token": []byte("s3cr3t")}}
			tc.mutate(s)
			expectErrors(t, ValidateCreate(s), tc.want...)
		})
	}

	old := &corev1.Secret{ObjectMeta: stored(objectMeta("web")), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1")}}
	t.Run("type is immutable", func(t *testing.T) {
		s := old.DeepCopy()
		s.Type = corev1.SecretTypeBasicAuth
		s.Data["username"] = []byte("u")
		expectErrors(t, ValidateUpdate(s, old), invalid("type", "field is immutable"))
	})
	t.Run("immutable secret", func(t *testing.T) {
		frozen := old.DeepCopy()
		frozen.Immutable = ptr(true)
		s := frozen.DeepCopy()
		s.Data["a"] = []byte("2")
		expectErrors(t, ValidateUpdate(s, frozen), forbidden("data", "field is immutable when `immutable` is set"))
	})
}

func TestValidateServiceAccount(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: objectMeta("builder")}
	expectErrors(t, ValidateCreate(sa))
	sa.Name = "Builder"
	expectErrors(t, ValidateCreate(sa), invalid("metadata.name", "a lowercase RFC 1123 subdomain"))

	old := &corev1.ServiceAccount{ObjectMeta: stored(objectMeta("builder"))}
	upd := old.DeepCopy()
	upd.Labels = map[string]string{"ci": "true"}
	expectErrors(t, ValidateUpdate(upd, old))
}

func TestValidateEvent(t *testing.T) {
	valid := func() *corev1.Event {
		return &corev1.Event{
			ObjectMeta:     objectMeta("web.17f3a"),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
			Reason:         "Started", Message: "Started container app", Type: corev1.EventTypeNormal, Count: 1,
		}
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Event)
		want   []want
	}{
		{name: "valid event passes", mutate: func(*corev1.Event) {}},
		{name: "cluster-scoped object's event in default passes", mutate: func(e *corev1.Event) { e.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-1"} }},
		{name: "involved object in another namespace", mutate: func(e *corev1.Event) { e.InvolvedObject.Namespace = "kube-system" },
			want: []want{invalid("involvedObject.namespace", "does not match event.namespace")}},
		{name: "name with a slash", mutate: func(e *corev1.Event) { e.Name = "web/1" },
			want: []want{invalid("metadata.name", "may not contain '/'")}},
		{name: "event with eventTime needs reporting fields", mutate: func(e *corev1.Event) {
			e.EventTime = metav1.NewMicroTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
			e.Reason = strings.Repeat("r", 129)
		}, want: []want{
			required("reportingController", ""), invalid("reportingController", "name part must be non-empty"),
			invalid("reportingController", "name part must consist of"),
			required("reportingInstance", ""), required("action", ""),
			invalid("reason", "can have at most 128 characters"),
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
	t.Run("count may change", func(t *testing.T) {
		e := old.DeepCopy()
		e.Count = 2
		expectErrors(t, ValidateUpdate(e, old))
	})
}
