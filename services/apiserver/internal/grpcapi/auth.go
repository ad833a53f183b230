package grpcapi

import (
	"context"

	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// authenticate identifies the caller as the REST facade does: a verified
// client certificate first, then a bearer token. The caller is stored in
// the returned context; unknown callers get 401 (UNAUTHENTICATED).
func (s *Service) authenticate(ctx context.Context) (context.Context, error) {
	if u := s.certificateUser(ctx); u != nil {
		return authn.WithUser(ctx, u), nil
	}
	if u := s.tokenUser(ctx); u != nil {
		return authn.WithUser(ctx, u), nil
	}
	return ctx, apierrors.NewUnauthorized("Unauthorized")
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
		if u, err := s.auth.Token(token); err == nil {
			return u
		}
	}
	return nil
}
