package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Config says where the API servers are and how to authenticate to them.
type Config struct {
	// Endpoints are the API servers, "host:port" or "https://host:port".
	// The client connects to one of them, picked at random, and fails
	// over to another when it becomes unreachable.
	Endpoints []string

	// CAFile or CAData (PEM) verify the servers' certificates; without
	// either the system roots do.
	CAFile string
	CAData []byte
	// ServerName overrides the name the servers' certificates are checked
	// against (default: each endpoint's host).
	ServerName string

	// CertFile and KeyFile, or CertData and KeyData (PEM), are the
	// client certificate: CN is the user, O the groups.
	CertFile, KeyFile string
	CertData, KeyData []byte

	// Token or TokenFile is a bearer token, sent on every call. A client
	// may present a certificate, a token or both (the certificate wins).
	Token     string
	TokenFile string

	// UserAgent names the client; its first word is the default field
	// manager of writes. Default: the program's name.
	UserAgent string

	// MaxRecvBytes bounds one response (a list); default 256 MiB.
	MaxRecvBytes int

	// Log receives the warnings the server attaches to patches.
	Log *slog.Logger
}

func (cfg Config) withDefaults() Config {
	if cfg.UserAgent == "" {
		cfg.UserAgent = filepath.Base(os.Args[0])
	}
	if cfg.MaxRecvBytes == 0 {
		cfg.MaxRecvBytes = 256 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return cfg
}

// endpoint is one API server address.
type endpoint struct {
	addr string // host:port
	host string
}

// endpoints parses cfg.Endpoints.
func (cfg Config) endpoints() ([]endpoint, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("client: no API server endpoints")
	}
	out := make([]endpoint, 0, len(cfg.Endpoints))
	for _, e := range cfg.Endpoints {
		ep, err := parseEndpoint(e)
		if err != nil {
			return nil, err
		}
		out = append(out, ep)
	}
	return out, nil
}

func parseEndpoint(s string) (endpoint, error) {
	hostport := strings.TrimSpace(s)
	if strings.Contains(hostport, "://") {
		u, err := url.Parse(hostport)
		if err != nil {
			return endpoint{}, fmt.Errorf("client: endpoint %q: %w", s, err)
		}
		if u.Scheme != "https" {
			return endpoint{}, fmt.Errorf("client: endpoint %q: only https is served", s)
		}
		hostport = u.Host
		if u.Port() == "" {
			hostport = net.JoinHostPort(u.Hostname(), "443")
		}
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return endpoint{}, fmt.Errorf("client: endpoint %q: want host:port: %w", s, err)
	}
	return endpoint{addr: hostport, host: host}, nil
}

// tlsConfig builds the TLS configuration of the connections.
func (cfg Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	ca, err := pemFrom(cfg.CAData, cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("client: CA: %w", err)
	}
	if ca != nil {
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(ca) {
			return nil, errors.New("client: the CA holds no PEM certificate")
		}
	}
	cert, err := pemFrom(cfg.CertData, cfg.CertFile)
	if err != nil {
		return nil, fmt.Errorf("client: certificate: %w", err)
	}
	key, err := pemFrom(cfg.KeyData, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("client: key: %w", err)
	}
	if (cert == nil) != (key == nil) {
		return nil, errors.New("client: a client certificate needs both the certificate and its key")
	}
	if cert != nil {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("client: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// token is the bearer token of cfg, if any.
func (cfg Config) token() (string, error) {
	if cfg.Token != "" || cfg.TokenFile == "" {
		return cfg.Token, nil
	}
	b, err := os.ReadFile(cfg.TokenFile)
	if err != nil {
		return "", fmt.Errorf("client: token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// pemFrom returns data, or the content of file when data is empty.
func pemFrom(data []byte, file string) ([]byte, error) {
	if len(data) > 0 || file == "" {
		return data, nil
	}
	return os.ReadFile(file)
}
