// Package tlsutil builds crypto/tls configurations from the certificate,
// key and CA file flags every Gantry daemon takes.
package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Files names PEM files. An empty CertFile means plain TCP.
type Files struct {
	CertFile      string
	KeyFile       string
	TrustedCAFile string
	// ClientCertAuth makes a server require client certificates signed by
	// TrustedCAFile.
	ClientCertAuth bool
}

// Empty reports whether no TLS is configured.
func (f Files) Empty() bool { return f.CertFile == "" && f.KeyFile == "" && f.TrustedCAFile == "" }

// ServerConfig returns the server side configuration, or nil for plain TCP.
func (f Files) ServerConfig() (*tls.Config, error) {
	if f.Empty() {
		if f.ClientCertAuth {
			return nil, errors.New("client certificate authentication needs a certificate, key and trusted CA")
		}
		return nil, nil
	}
	cert, err := f.keyPair()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	if f.TrustedCAFile != "" {
		pool, err := loadPool(f.TrustedCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
	}
	if f.ClientCertAuth {
		if cfg.ClientCAs == nil {
			return nil, errors.New("client certificate authentication needs a trusted CA file")
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientConfig returns the client side configuration presenting the same
// certificate, or nil for plain TCP.
func (f Files) ClientConfig() (*tls.Config, error) {
	if f.Empty() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CertFile != "" {
		cert, err := f.keyPair()
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.TrustedCAFile != "" {
		pool, err := loadPool(f.TrustedCAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (f Files) keyPair() (tls.Certificate, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return tls.Certificate{}, errors.New("TLS needs both a certificate file and a key file")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load key pair %s, %s: %w", f.CertFile, f.KeyFile, err)
	}
	return cert, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("trusted CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}
