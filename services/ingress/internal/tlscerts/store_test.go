package tlscerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// keyPair returns PEM certificate and key for cn with the given names.
func keyPair(t *testing.T, cn string, names ...string) (crt, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func secret(name, rv string, crt, key []byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": crt, "tls.key": key}}
}

func tlsIngress(name string, entries ...networkingv1.IngressTLS) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: networkingv1.IngressSpec{TLS: entries}}
}

func cn(c *tls.Certificate) string {
	if c == nil {
		return "<nil>"
	}
	return c.Leaf.Subject.CommonName
}

func TestSelect(t *testing.T) {
	secrets := map[string]*corev1.Secret{}
	add := func(name, cn string, names ...string) {
		crt, key := keyPair(t, cn, names...)
		secrets[name] = secret(name, "1", crt, key)
	}
	add("foo", "foo-cert", "foo.test")
	add("wild", "wild-cert", "*.wild.test")
	add("sans", "sans-cert", "a.sans.test", "b.sans.test")
	add("other", "other-cert", "foo.test")
	secrets["garbage"] = secret("garbage", "1", []byte("not pem"), []byte("nope"))
	secrets["opaque"] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "opaque"},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{}}
	get := func(ns, name string) *corev1.Secret { return secrets[name] }
	fallback, err := SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ings := []*networkingv1.Ingress{
		tlsIngress("first",
			networkingv1.IngressTLS{Hosts: []string{"foo.test", "Upper.Test"}, SecretName: "foo"},
			networkingv1.IngressTLS{Hosts: []string{"*.wild.test"}, SecretName: "wild"},
			networkingv1.IngressTLS{SecretName: "sans"}),
		tlsIngress("second",
			networkingv1.IngressTLS{Hosts: []string{"foo.test"}, SecretName: "other"}, // older one keeps foo.test
			networkingv1.IngressTLS{Hosts: []string{"gone.test"}, SecretName: "missing"},
			networkingv1.IngressTLS{Hosts: []string{"bad.test"}, SecretName: "garbage"},
			networkingv1.IngressTLS{Hosts: []string{"typed.test"}, SecretName: "opaque"},
			networkingv1.IngressTLS{Hosts: []string{"x.wild.test"}, SecretName: "other"}),
	}
	store, problems := Build(ings, get, NewCache(), fallback)
	for _, tc := range []struct{ sni, want string }{
		{"foo.test", "foo-cert"},
		{"FOO.test.", "foo-cert"},
		{"upper.test", "foo-cert"},
		{"a.wild.test", "wild-cert"},
		{"x.wild.test", "other-cert"}, // exact beats wildcard
		{"a.b.wild.test", FakeCertificateCN},
		{"wild.test", FakeCertificateCN},
		{"a.sans.test", "sans-cert"},
		{"b.sans.test", "sans-cert"},
		{"gone.test", FakeCertificateCN},
		{"bad.test", FakeCertificateCN},
		{"", FakeCertificateCN},
	} {
		if got := cn(store.Select(tc.sni)); got != tc.want {
			t.Errorf("Select(%q) = %s, want %s", tc.sni, got, tc.want)
		}
	}
	wantProblems := []struct{ reason, contains string }{
		{ReasonMissingSecret, "spec.tls[1]: secret ns/missing not found"},
		{ReasonInvalidSecret, "spec.tls[2]: secret ns/garbage: bad key pair"},
		{ReasonInvalidSecret, "spec.tls[3]: secret ns/opaque: type kubernetes.io/dockerconfigjson"},
	}
	if len(problems) != len(wantProblems) {
		t.Fatalf("problems = %+v", problems)
	}
	for i, w := range wantProblems {
		if p := problems[i]; p.Ingress != "second" || p.Reason != w.reason || !strings.Contains(p.Message, w.contains) {
			t.Errorf("problem %d = %+v, want %s containing %q", i, p, w.reason, w.contains)
		}
	}
}

func TestCacheRotation(t *testing.T) {
	crt1, key1 := keyPair(t, "v1", "foo.test")
	crt2, key2 := keyPair(t, "v2", "foo.test")
	sec := secret("foo", "1", crt1, key1)
	get := func(ns, name string) *corev1.Secret { return sec }
	ings := []*networkingv1.Ingress{tlsIngress("a", networkingv1.IngressTLS{Hosts: []string{"foo.test"}, SecretName: "foo"})}
	cache := NewCache()
	s1, _ := Build(ings, get, cache, nil)
	if got := cn(s1.Select("foo.test")); got != "v1" {
		t.Fatalf("before rotation: %s", got)
	}
	// Same resourceVersion: the cached pair is used.
	sec = secret("foo", "1", crt2, key2)
	s2, _ := Build(ings, get, cache, nil)
	if got := cn(s2.Select("foo.test")); got != "v1" {
		t.Errorf("same resourceVersion: got %s, want cached v1", got)
	}
	sec = secret("foo", "2", crt2, key2)
	s3, _ := Build(ings, get, cache, nil)
	if got := cn(s3.Select("foo.test")); got != "v2" {
		t.Errorf("after rotation: got %s, want v2", got)
	}
	cache.Prune()
	cache.Prune()
	if len(cache.entries) != 0 {
		t.Errorf("prune kept %d entries", len(cache.entries))
	}
}
