// Package authn identifies the caller of a request: a bearer token from
// the token file (Kubernetes' --token-auth-file CSV format), a bootstrap
// token (a Secret of type bootstrap.kubernetes.io/token in kube-system, see
// bootstrap.go), or a client certificate signed by the client CA (CN =
// user, O = groups). A request without any credentials is anonymous
// (system:anonymous); what it may do is the authorizer's decision. The
// gRPC facade and the REST facade share it.
package authn

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// User is an authenticated caller.
type User struct {
	Name   string
	UID    string
	Groups []string
}

type userKey struct{}

// WithUser stores u in ctx.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the caller stored in ctx, if any.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok
}

// ErrUnauthorized means no valid credentials were presented.
var ErrUnauthorized = errors.New("Unauthorized")

// Anonymous user and group names, as Kubernetes has them.
const (
	AnonymousUser         = "system:anonymous"
	UnauthenticatedGroup  = "system:unauthenticated"
	AuthenticatedGroup    = "system:authenticated"
	BootstrapUserPrefix   = "system:bootstrap:"
	BootstrapDefaultGroup = "system:bootstrappers"
)

// Anonymous returns the user of a request without credentials.
func Anonymous() *User {
	return &User{Name: AnonymousUser, Groups: []string{UnauthenticatedGroup}}
}

// IsAnonymous reports whether u is the anonymous user (or nil).
func IsAnonymous(u *User) bool {
	return u == nil || u.Name == AnonymousUser
}

// InGroup reports whether u is a member of group.
func (u *User) InGroup(group string) bool {
	if u == nil {
		return false
	}
	for _, g := range u.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// Authenticator checks tokens and certificates.
type Authenticator struct {
	tokens map[string]*User
	// bootstrap checks bootstrap tokens; nil when they are disabled.
	bootstrap *BootstrapTokens
}

// EnableBootstrapTokens makes Token accept bootstrap tokens, checked
// against the Secrets that secrets finds. Call it before serving.
func (a *Authenticator) EnableBootstrapTokens(secrets SecretGetter) {
	a.bootstrap = &BootstrapTokens{Secrets: secrets}
}

// New reads the token file (may be empty: no tokens).
func New(tokenFile string) (*Authenticator, error) {
	a := &Authenticator{tokens: map[string]*User{}}
	if tokenFile == "" {
		return a, nil
	}
	f, err := os.Open(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("token file %s: %w", tokenFile, err)
		}
		if len(rec) < 3 || rec[0] == "" || rec[1] == "" {
			return nil, fmt.Errorf("token file %s, line %d: want token,user,uid[,\"group1,group2\"]", tokenFile, line)
		}
		u := &User{Name: rec[1], UID: rec[2]}
		if len(rec) > 3 && rec[3] != "" {
			u.Groups = strings.Split(rec[3], ",")
		}
		a.tokens[rec[0]] = u
	}
	return a, nil
}

// Token authenticates a bearer token: one of the token file, or a
// bootstrap token when they are enabled.
func (a *Authenticator) Token(ctx context.Context, token string) (*User, error) {
	for t, u := range a.tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			return withAuthenticated(u), nil
		}
	}
	if a.bootstrap != nil {
		if u, err := a.bootstrap.Authenticate(ctx, token); err == nil {
			return withAuthenticated(u), nil
		}
	}
	return nil, ErrUnauthorized
}

// Certificate authenticates a verified client certificate chain.
func (a *Authenticator) Certificate(chains [][]*x509.Certificate) (*User, error) {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return nil, ErrUnauthorized
	}
	c := chains[0][0]
	if c.Subject.CommonName == "" {
		return nil, ErrUnauthorized
	}
	return withAuthenticated(&User{Name: c.Subject.CommonName, Groups: c.Subject.Organization}), nil
}

func withAuthenticated(u *User) *User {
	out := *u
	out.Groups = append(append([]string{}, u.Groups...), AuthenticatedGroup)
	return &out
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
