package authn

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseBootstrapToken(t *testing.T) {
	for _, tc := range []struct {
		token, id, secret string
		ok                bool
	}{
		{"abcdef.0123456789abcdef", "abcdef", "0123456789abcdef", true},
		{"abcde.0123456789abcdef", "", "", false},
		{"abcdef.0123456789abcde", "", "", false},
		{"ABCDEF.0123456789abcdef", "", "", false},
		{"abcdef0123456789abcdef", "", "", false},
		{"abcdef.0123456789abcdef.", "", "", false},
		{"", "", "", false},
	} {
		id, secret, err := ParseBootstrapToken(tc.token)
		if (err == nil) != tc.ok || id != tc.id || secret != tc.secret {
			t.Errorf("ParseBootstrapToken(%q) = %q, %q, %v; want %q, %q, ok=%v", tc.token, id, secret, err, tc.id, tc.secret, tc.ok)
		}
	}
}

func tokenSecret(mutate func(*corev1.Secret)) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-abcdef", Namespace: "kube-system"},
		Type:       BootstrapTokenSecretType,
		Data: map[string][]byte{
			"token-id":                       []byte("abcdef"),
			"token-secret":                   []byte("0123456789abcdef"),
			"usage-bootstrap-authentication": []byte("true"),
		},
	}
	if mutate != nil {
		mutate(s)
	}
	return s
}

func TestBootstrapTokenAuthenticate(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const token = "abcdef.0123456789abcdef"
	for _, tc := range []struct {
		name   string
		secret *corev1.Secret // nil: not found
		token  string
		groups []string // nil: refused
	}{
		{name: "valid", secret: tokenSecret(nil), groups: []string{"system:bootstrappers"}},
		{name: "extra groups", secret: tokenSecret(func(s *corev1.Secret) {
			s.Data["auth-extra-groups"] = []byte("system:bootstrappers:kubeadm:default-node-token, system:bootstrappers:x")
		}), groups: []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:bootstrappers:x"}},
		{name: "extra group outside the namespace", secret: tokenSecret(func(s *corev1.Secret) {
			s.Data["auth-extra-groups"] = []byte("system:masters")
		})},
		{name: "not expired yet", secret: tokenSecret(func(s *corev1.Secret) {
			s.Data["expiration"] = []byte(now.Add(time.Minute).Format(time.RFC3339))
		}), groups: []string{"system:bootstrappers"}},
		{name: "expired", secret: tokenSecret(func(s *corev1.Secret) {
			s.Data["expiration"] = []byte(now.Add(-time.Second).Format(time.RFC3339))
		})},
		{name: "unreadable expiration", secret: tokenSecret(func(s *corev1.Secret) { s.Data["expiration"] = []byte("tomorrow") })},
		{name: "wrong secret", secret: tokenSecret(nil), token: "abcdef.0123456789abcdee"},
		{name: "not found"},
		{name: "wrong type", secret: tokenSecret(func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque })},
		{name: "not for authentication", secret: tokenSecret(func(s *corev1.Secret) { delete(s.Data, "usage-bootstrap-authentication") })},
		{name: "id mismatch", secret: tokenSecret(func(s *corev1.Secret) { s.Data["token-id"] = []byte("zzzzzz") })},
		{name: "being deleted", secret: tokenSecret(func(s *corev1.Secret) { s.DeletionTimestamp = &metav1.Time{Time: now} })},
		{name: "malformed token", secret: tokenSecret(nil), token: "abcdef:0123456789abcdef"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked string
			b := &BootstrapTokens{
				Now: func() time.Time { return now },
				Secrets: func(_ context.Context, ns, name string) (*corev1.Secret, error) {
					asked = ns + "/" + name
					if tc.secret == nil {
						return nil, errors.New("not found")
					}
					return tc.secret, nil
				},
			}
			tok := token
			if tc.token != "" {
				tok = tc.token
			}
			u, err := b.Authenticate(context.Background(), tok)
			if tc.groups == nil {
				if err == nil {
					t.Fatalf("authenticated as %+v, want refusal", u)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if asked != "kube-system/bootstrap-token-abcdef" {
				t.Errorf("read secret %s", asked)
			}
			if u.Name != "system:bootstrap:abcdef" || !slices.Equal(u.Groups, tc.groups) {
				t.Errorf("user %+v, want system:bootstrap:abcdef in %v", u, tc.groups)
			}
		})
	}
}

func TestAuthenticatorBootstrapTokens(t *testing.T) {
	a, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(context.Background(), "abcdef.0123456789abcdef"); err == nil {
		t.Fatal("bootstrap token accepted while disabled")
	}
	secret := tokenSecret(nil)
	a.EnableBootstrapTokens(func(context.Context, string, string) (*corev1.Secret, error) {
		if secret == nil {
			return nil, errors.New("not found")
		}
		return secret, nil
	})
	u, err := a.Token(context.Background(), "abcdef.0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"system:bootstrappers", "system:authenticated"}
	if u.Name != "system:bootstrap:abcdef" || !slices.Equal(u.Groups, want) {
		t.Errorf("user %+v, want groups %v", u, want)
	}
	secret = nil // deleted
	if _, err := a.Token(context.Background(), "abcdef.0123456789abcdef"); err == nil {
		t.Error("token of a deleted secret accepted")
	}
}
