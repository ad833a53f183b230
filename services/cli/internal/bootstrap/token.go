package bootstrap

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Token is a bootstrap token, <ID>.<Secret>.
type Token struct {
	ID     string // [a-z0-9]{6}
	Secret string // [a-z0-9]{16}
	// Expires is when the API server stops accepting it; zero for never.
	Expires time.Time
}

// String is the token as a joining host presents it: <id>.<secret>.
func (t Token) String() string { return t.ID + "." + t.Secret }

// SecretName is the name of the token's Secret in kube-system.
func (t Token) SecretName() string { return "bootstrap-token-" + t.ID }

var (
	tokenRE      = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
	extraGroupRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)
)

// ParseToken parses "<id>.<secret>".
func ParseToken(s string) (Token, error) {
	m := tokenRE.FindStringSubmatch(s)
	if m == nil {
		return Token{}, errors.New("bootstrap: a token is <id>.<secret>, [a-z0-9]{6}.[a-z0-9]{16}")
	}
	return Token{ID: m[1], Secret: m[2]}, nil
}

const tokenChars = "0123456789abcdefghijklmnopqrstuvwxyz"

// randomString returns n characters of tokenChars from crypto/rand,
// uniformly (bytes at or above 252 = 7*36 are drawn again).
func randomString(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("bootstrap: random token: %w", err)
		}
		for _, b := range buf {
			if b < 252 && len(out) < n {
				out = append(out, tokenChars[int(b)%len(tokenChars)])
			}
		}
	}
	return string(out), nil
}

// NewToken returns a random token that never expires.
func NewToken() (Token, error) {
	id, err := randomString(6)
	if err != nil {
		return Token{}, err
	}
	secret, err := randomString(16)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: id, Secret: secret}, nil
}

// secret is the part of a corev1.Secret this package writes.
type secret struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   objectMeta        `json:"metadata"`
	Type       string            `json:"type"`
	Data       map[string][]byte `json:"data"`
}

// tokenSecret is the Secret of t as kubeadm writes it, with the usages
// authentication and signing.
func tokenSecret(t Token, description string, extraGroups []string) secret {
	data := map[string][]byte{
		"token-id":                       []byte(t.ID),
		"token-secret":                   []byte(t.Secret),
		"usage-bootstrap-authentication": []byte("true"),
		"usage-bootstrap-signing":        []byte("true"),
	}
	if description != "" {
		data["description"] = []byte(description)
	}
	if !t.Expires.IsZero() {
		data["expiration"] = []byte(t.Expires.UTC().Format(time.RFC3339))
	}
	if len(extraGroups) > 0 {
		data["auth-extra-groups"] = []byte(strings.Join(extraGroups, ","))
	}
	return secret{
		APIVersion: "v1", Kind: "Secret",
		Metadata: objectMeta{Name: t.SecretName(), Namespace: "kube-system"},
		Type:     "bootstrap.kubernetes.io/token",
		Data:     data,
	}
}

// maxCollisions is how many ids CreateToken tries before giving up.
const maxCollisions = 5

// CreateToken creates a random bootstrap token valid for ttl (0: it
// never expires) with an administrator's client c. extraGroups are
// groups besides system:bootstrappers the token authenticates in; each
// must be system:bootstrappers:<something>. Another id is drawn if the
// Secret exists already.
func CreateToken(ctx context.Context, c *Client, ttl time.Duration, description string, extraGroups []string) (Token, error) {
	if ttl < 0 {
		return Token{}, fmt.Errorf("bootstrap: negative token TTL %v", ttl)
	}
	for _, g := range extraGroups {
		if !extraGroupRE.MatchString(g) {
			return Token{}, fmt.Errorf("bootstrap: extra group %q: must match %s", g, extraGroupRE)
		}
	}
	for range maxCollisions {
		t, err := NewToken()
		if err != nil {
			return Token{}, err
		}
		if ttl > 0 {
			t.Expires = time.Now().Add(ttl).Truncate(time.Second)
		}
		err = c.do(ctx, http.MethodPost, "/api/v1/namespaces/kube-system/secrets", tokenSecret(t, description, extraGroups), nil)
		if IsCode(err, http.StatusConflict) {
			continue
		}
		if err != nil {
			return Token{}, fmt.Errorf("bootstrap: create Secret kube-system/%s: %w", t.SecretName(), err)
		}
		return t, nil
	}
	return Token{}, fmt.Errorf("bootstrap: %d random token ids all exist already", maxCollisions)
}
