package tlscerts

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Reasons of Problems, used as Event reasons.
const (
	// ReasonMissingSecret: a spec.tls Secret does not exist.
	ReasonMissingSecret = "MissingSecret"
	// ReasonInvalidSecret: the Secret is not a usable TLS key pair.
	ReasonInvalidSecret = "InvalidSecret"
)

// Problem is a spec.tls entry that could not be used.
type Problem struct {
	Namespace, Ingress string
	Reason, Message    string
}

// Store is an immutable SNI → certificate map.
type Store struct {
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // by the name without "*."
	fallback *tls.Certificate
}

// Select returns the certificate for a handshake naming serverName
// (empty without SNI).
func (s *Store) Select(serverName string) *tls.Certificate {
	name := strings.TrimSuffix(strings.ToLower(serverName), ".")
	if c, ok := s.exact[name]; ok {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c, ok := s.wildcard[name[i+1:]]; ok {
			return c
		}
	}
	return s.fallback
}

// Hosts returns the number of names with a certificate of their own.
func (s *Store) Hosts() int { return len(s.exact) + len(s.wildcard) }

// SecretGetter returns a Secret, nil when there is none.
type SecretGetter func(namespace, name string) *corev1.Secret

// Build returns the Store of ings' spec.tls entries, with fallback for
// every other name. ings must be sorted oldest first (routes.SortIngresses).
func Build(ings []*networkingv1.Ingress, secrets SecretGetter, cache *Cache, fallback *tls.Certificate) (*Store, []Problem) {
	s := &Store{exact: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{}, fallback: fallback}
	var problems []Problem
	for _, ing := range ings {
		for i, t := range ing.Spec.TLS {
			if t.SecretName == "" {
				continue // TLS on the default certificate
			}
			cert, reason, msg := cache.get(ing.Namespace, t.SecretName, secrets)
			if cert == nil {
				problems = append(problems, Problem{Namespace: ing.Namespace, Ingress: ing.Name, Reason: reason,
					Message: fmt.Sprintf("spec.tls[%d]: %s; its hosts get the default certificate", i, msg)})
				continue
			}
			hosts := t.Hosts
			if len(hosts) == 0 {
				hosts = cert.Leaf.DNSNames
			}
			for _, h := range hosts {
				h = strings.TrimSuffix(strings.ToLower(h), ".")
				m, key := s.exact, h
				if strings.HasPrefix(h, "*.") {
					m, key = s.wildcard, h[2:]
				}
				if _, taken := m[key]; !taken && key != "" {
					m[key] = cert
				}
			}
		}
	}
	return s, problems
}

// Cache keeps parsed key pairs by Secret and resourceVersion.
type Cache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	used    map[string]bool
}

type cacheEntry struct {
	rv     string
	cert   *tls.Certificate
	reason string
	msg    string
}

// NewCache returns an empty Cache.
func NewCache() *Cache { return &Cache{entries: map[string]cacheEntry{}, used: map[string]bool{}} }

func (c *Cache) get(ns, name string, secrets SecretGetter) (*tls.Certificate, string, string) {
	key := ns + "/" + name
	sec := secrets(ns, name)
	if sec == nil {
		return nil, ReasonMissingSecret, fmt.Sprintf("secret %s not found", key)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used[key] = true
	if e, ok := c.entries[key]; ok && e.rv == sec.ResourceVersion && sec.ResourceVersion != "" {
		return e.cert, e.reason, e.msg
	}
	cert, err := KeyPair(sec)
	e := cacheEntry{rv: sec.ResourceVersion, cert: cert}
	if err != nil {
		e.reason, e.msg = ReasonInvalidSecret, fmt.Sprintf("secret %s: %v", key, err)
	}
	c.entries[key] = e
	return e.cert, e.reason, e.msg
}

// Prune forgets the Secrets not used since the last Prune.
func (c *Cache) Prune() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if !c.used[k] {
			delete(c.entries, k)
		}
	}
	c.used = map[string]bool{}
}

// KeyPair parses the key pair of a kubernetes.io/tls Secret (tls.crt and
// tls.key), with the leaf certificate parsed.
func KeyPair(sec *corev1.Secret) (*tls.Certificate, error) {
	if sec.Type != corev1.SecretTypeTLS && sec.Type != corev1.SecretTypeOpaque && sec.Type != "" {
		return nil, fmt.Errorf("type %s, want %s", sec.Type, corev1.SecretTypeTLS)
	}
	crt, key := sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return nil, fmt.Errorf("needs %s and %s", corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	cert, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return nil, fmt.Errorf("bad key pair: %w", err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("bad certificate: %w", err)
		}
	}
	return &cert, nil
}
