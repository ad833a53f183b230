package grpcapi

import (
	"context"

	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	"github.com/gantry-dev/gantry/services/apiserver/internal/authz"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// authenticate identifies the caller as the REST facade does: a verified
// client certificate first, then a bearer token. The caller is stored in
// the returned context; callers with invalid credentials get 401
// (UNAUTHENTICATED). A caller without any credentials is anonymous (nil
// user): authorize decides what it may do.
func (s *Service) authenticate(ctx context.Context) (context.Context, *authn.User, error) {
	if u := s.certificateUser(ctx); u != nil {
		return authn.WithUser(ctx, u), u, nil
	}
	if u := s.tokenUser(ctx); u != nil {
		return authn.WithUser(ctx, u), u, nil
	}
	if s.presentsCredentials(ctx) {
		return ctx, nil, apierrors.NewUnauthorized("Unauthorized")
	}
	return authn.WithUser(ctx, authn.Anonymous()), nil, nil
}

// presentsCredentials reports whether the call carries a client
// certificate or an authorization header.
func (s *Service) presentsCredentials(ctx context.Context) bool {
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
			return true
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get("authorization")) > 0
}

// authorize asks the authorizer about a call, with the verbs REST uses:
// updatestatus is an update of status, bind a create of binding.
func authorize(u *authn.User, verb string, c *call) error {
	a := authz.Attributes{
		ResourceRequest: true, Verb: verb, APIGroup: c.res.Group, Resource: c.res.Resource,
		Subresource: c.sub, Namespace: c.ns, Name: c.name,
	}
	switch verb {
	case "updatestatus":
		a.Verb, a.Subresource = "update", "status"
	case "bind":
		a.Verb, a.Subresource = "create", "binding"
	}
	return authz.Authorize(u, a)
}

func (s *Service) certificateUser(ctx context.Context) *authn.User {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 {
		return nil
	}
	u, err := s.auth.Certificate(info.State.VerifiedChains)
	if err != nil {
		return nil
	}
	return u
}

func (s *Service) tokenUser(ctx context.Context) *authn.User {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, h := range md.Get("authorization") {
		token, ok := authn.BearerToken(h)
		if !ok {
			continue
		}
		if u, err := s.auth.Token(ctx, token); err == nil {
			return u
		}
	}
	return nil
}
