package csrsigning

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/services/controllers/internal/csrutil/csrtest"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func TestParseCA(t *testing.T) {
	now := time.Now()
	ec := csrtest.Key(t)
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caOf := func(k crypto.Signer) []byte { return csrtest.CA(t, k, now.Add(-time.Hour), now.Add(24*time.Hour)) }
	ecCA, rsaCA := caOf(ec), caOf(rsaKey)
	leaf := func() []byte {
		tmpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: now, NotAfter: now.Add(time.Hour), BasicConstraintsValid: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ec.Public(), ec)
		if err != nil {
			t.Fatal(err)
		}
		return pemBlock("CERTIFICATE", der)
	}()
	ecParams := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	for _, tc := range []struct {
		name      string
		cert, key []byte
		wantErr   string
	}{
		{"EC, SEC 1", ecCA, pemBlock("EC PRIVATE KEY", ecDER), ""},
		{"EC, SEC 1 after EC PARAMETERS", ecCA, append(ecParams, pemBlock("EC PRIVATE KEY", ecDER)...), ""},
		{"EC, PKCS#8", ecCA, pkcs8(t, ec), ""},
		{"EC P-384, PKCS#8", caOf(ec384), pkcs8(t, ec384), ""},
		{"RSA, PKCS#1", rsaCA, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), ""},
		{"RSA, PKCS#8", rsaCA, pkcs8(t, rsaKey), ""},
		{"Ed25519 refused", caOf(edKey), pkcs8(t, edKey), "want ECDSA or RSA"},
		{"key of another CA", ecCA, pkcs8(t, rsaKey), "does not match"},
		{"not a CA", leaf, pkcs8(t, ec), "not a CA"},
		{"no certificate", []byte("hello"), pkcs8(t, ec), "no PEM CERTIFICATE"},
		{"bad certificate", pemBlock("CERTIFICATE", []byte{1, 2}), pkcs8(t, ec), "parse certificate"},
		{"no key", ecCA, []byte("hello"), "no PEM private key"},
		{"certificate as key", ecCA, ecCA, "no PEM private key"},
		{"bad EC key", ecCA, pemBlock("EC PRIVATE KEY", []byte{1, 2}), "parse EC private key"},
		{"bad RSA key", ecCA, pemBlock("RSA PRIVATE KEY", []byte{1, 2}), "parse RSA private key"},
		{"bad PKCS#8 key", ecCA, pemBlock("PRIVATE KEY", []byte{1, 2}), "parse PKCS#8"},
		{"encrypted key", ecCA, pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2}), "encrypted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, err := ParseCA(tc.cert, tc.key)
			if tc.wantErr == "" {
				if err != nil || ca.Cert == nil || ca.Key == nil {
					t.Fatalf("ca %v, err %v", ca, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one with %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	dir := t.TempDir()
	key := csrtest.Key(t)
	certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if err := os.WriteFile(certFile, csrtest.CA(t, key, time.Now(), time.Now().Add(time.Hour)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pkcs8(t, key), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(filepath.Join(dir, "missing.crt"), keyFile); err == nil || !strings.Contains(err.Error(), "missing.crt") {
		t.Errorf("missing certificate: err %v", err)
	}
	if _, err := LoadCA(certFile, filepath.Join(dir, "missing.key")); err == nil || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("missing key: err %v", err)
	}
	if _, err := LoadCA(keyFile, certFile); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("swapped files: err %v", err)
	}
}

func bigOne() *big.Int { return big.NewInt(1) }
