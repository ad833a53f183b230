package tlscerts

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
)

// Current holds the Store handshakes use, swapped as Secrets and
// Ingresses change.
type Current struct {
	p atomic.Pointer[Store]
}

// Set makes s the Store of new handshakes.
func (c *Current) Set(s *Store) { c.p.Store(s) }

// GetCertificate is tls.Config.GetCertificate.
func (c *Current) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := c.p.Load()
	if s == nil {
		return nil, errors.New("no certificates loaded yet")
	}
	if cert := s.Select(hello.ServerName); cert != nil {
		return cert, nil
	}
	return nil, errors.New("no certificate")
}
