package authn

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Bootstrap tokens, as Kubernetes defines them (kubeadm join, TLS
// bootstrapping): "<token-id>.<token-secret>", kept in the Secret
// kube-system/bootstrap-token-<token-id> of type
// bootstrap.kubernetes.io/token.
const (
	BootstrapTokenSecretType   corev1.SecretType = "bootstrap.kubernetes.io/token"
	BootstrapTokenNamespace                      = "kube-system"
	BootstrapTokenSecretPrefix                   = "bootstrap-token-"

	BootstrapTokenIDKey          = "token-id"
	BootstrapTokenSecretKey      = "token-secret"
	BootstrapTokenExpirationKey  = "expiration"
	BootstrapTokenUsageAuthKey   = "usage-bootstrap-authentication"
	BootstrapTokenExtraGroupsKey = "auth-extra-groups"
)

var (
	bootstrapTokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
	// An extra group must be in the system:bootstrappers: namespace.
	bootstrapGroupRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)
)

// SecretGetter reads a Secret; a missing one is an error.
type SecretGetter func(ctx context.Context, namespace, name string) (*corev1.Secret, error)

// BootstrapTokens authenticates bootstrap tokens against their Secrets.
// Each check reads the Secret anew, so a deleted or expired token stops
// working at once.
type BootstrapTokens struct {
	Secrets SecretGetter
	// Now is the clock expirations are compared with (time.Now if nil).
	Now func() time.Time
}

// ParseBootstrapToken splits "<id>.<secret>" into its parts.
func ParseBootstrapToken(token string) (id, secret string, err error) {
	m := bootstrapTokenRE.FindStringSubmatch(token)
	if m == nil {
		return "", "", errors.New("not a bootstrap token: want [a-z0-9]{6}.[a-z0-9]{16}")
	}
	return m[1], m[2], nil
}

// errBootstrapToken is why a well-formed bootstrap token is refused; the
// caller only ever sees 401.
var errBootstrapToken = errors.New("invalid bootstrap token")

// Authenticate returns the user of a bootstrap token:
// system:bootstrap:<id> in group system:bootstrappers and the Secret's
// auth-extra-groups.
func (b *BootstrapTokens) Authenticate(ctx context.Context, token string) (*User, error) {
	id, secret, err := ParseBootstrapToken(token)
	if err != nil {
		return nil, err
	}
	s, err := b.Secrets(ctx, BootstrapTokenNamespace, BootstrapTokenSecretPrefix+id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBootstrapToken, err)
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	return bootstrapUser(s, id, secret, now())
}

// bootstrapUser checks that s is a usable Secret of the token id.secret
// at time now, and returns its user.
func bootstrapUser(s *corev1.Secret, id, secret string, now time.Time) (*User, error) {
	fail := func(why string) (*User, error) { return nil, fmt.Errorf("%w %s: %s", errBootstrapToken, id, why) }
	if s == nil || s.DeletionTimestamp != nil {
		return fail("secret is being deleted")
	}
	if s.Type != BootstrapTokenSecretType {
		return fail(fmt.Sprintf("secret type is %q", s.Type))
	}
	if subtle.ConstantTimeCompare(s.Data[BootstrapTokenSecretKey], []byte(secret)) != 1 {
		return fail("secret does not match")
	}
	if string(s.Data[BootstrapTokenIDKey]) != id {
		return fail("token-id does not match the secret's name")
	}
	if expired(s, now) {
		return fail("expired")
	}
	if string(s.Data[BootstrapTokenUsageAuthKey]) != "true" {
		return fail("not usable for authentication")
	}
	groups, err := BootstrapExtraGroups(string(s.Data[BootstrapTokenExtraGroupsKey]))
	if err != nil {
		return fail(err.Error())
	}
	return &User{Name: BootstrapUserPrefix + id, Groups: append([]string{BootstrapDefaultGroup}, groups...)}, nil
}

// expired reports whether the token's expiration (RFC 3339) has passed.
// An unreadable expiration counts as expired.
func expired(s *corev1.Secret, now time.Time) bool {
	v := string(s.Data[BootstrapTokenExpirationKey])
	if v == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return true
	}
	return !now.Before(t)
}

// BootstrapExtraGroups parses auth-extra-groups, a comma-separated list of
// groups that must each start with system:bootstrappers:.
func BootstrapExtraGroups(v string) ([]string, error) {
	var out []string
	for _, g := range strings.Split(v, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if !bootstrapGroupRE.MatchString(g) {
			return nil, fmt.Errorf("auth-extra-groups: %q does not match %s", g, bootstrapGroupRE)
		}
		out = append(out, g)
	}
	return out, nil
}
