package bootstrap

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
)

// CAHash is kubeadm's pin of a CA: "sha256:" and the hex SHA-256 of the
// certificate's DER SubjectPublicKeyInfo.
func CAHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParsePin checks a pin, "sha256:<64 hex digits>", and returns it in
// lower case.
func ParsePin(pin string) (string, error) {
	alg, h, ok := strings.Cut(strings.TrimSpace(pin), ":")
	if !ok {
		return "", fmt.Errorf("bootstrap: CA hash %q: want sha256:<64 hex digits>", pin)
	}
	if strings.ToLower(alg) != "sha256" {
		return "", fmt.Errorf("bootstrap: CA hash %q: unsupported algorithm %q, want sha256", pin, alg)
	}
	h = strings.ToLower(h)
	if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("bootstrap: CA hash %q: want sha256: and 64 hex digits", pin)
	}
	return "sha256:" + h, nil
}

// parsePins parses pins; at least one is required.
func parsePins(pins []string) (map[string]bool, error) {
	if len(pins) == 0 {
		return nil, fmt.Errorf("bootstrap: no CA hash: give at least one sha256:<hex> pin of the cluster CA " +
			"(gantry token create --print-join-command prints it)")
	}
	set := map[string]bool{}
	for _, p := range pins {
		n, err := ParsePin(p)
		if err != nil {
			return nil, err
		}
		set[n] = true
	}
	return set, nil
}

// CAHashPEM is CAHash of the first certificate of a PEM bundle, the
// cluster CA of a CA file.
func CAHashPEM(caPEM []byte) (string, error) {
	certs, err := parseCerts(caPEM)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	return CAHash(certs[0]), nil
}

// JoinCommand is the gantry join command line for tok on the cluster at
// server with CA caPEM (its first certificate is the one pinned); with a
// certificate key it joins a control-plane host.
func JoinCommand(server string, caPEM []byte, tok Token, certificateKey string) (string, error) {
	hash, err := CAHashPEM(caPEM)
	if err != nil {
		return "", err
	}
	line := fmt.Sprintf("gantry join --server %s --token %s --discovery-token-ca-cert-hash %s", server, tok, hash)
	if certificateKey != "" {
		line += " --control-plane --certificate-key " + certificateKey
	}
	return line, nil
}
