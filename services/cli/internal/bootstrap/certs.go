package bootstrap

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// The Secret that carries the control plane's shared credentials to
// joining control-plane hosts (kubeadm's kubeadm-certs): bootstrap
// tokens may read it, and every value in it is encrypted with the
// certificate key only the administrator holds.
const (
	CertsSecretNamespace = "kube-system"
	CertsSecretName      = "gantry-certs"
	certsSecretType      = "gantry.dev/certs"
)

// NewCertificateKey returns a new certificate key: 32 random bytes (an
// AES-256 key) in hex, as kubeadm's --certificate-key.
func NewCertificateKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bootstrap: certificate key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func certsAEAD(keyHex string) (cipher.AEAD, error) {
	key, err := hex.DecodeString(keyHex)
	if err != nil || len(key) != 32 {
		return nil, errors.New("bootstrap: the certificate key must be 64 hexadecimal digits (32 bytes), as gantry init printed it")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealCerts encrypts each file with AES-256-GCM under keyHex: a fresh
// nonce, then the ciphertext; the file's name is authenticated with it,
// so values cannot be swapped.
func sealCerts(keyHex string, files map[string][]byte) (map[string][]byte, error) {
	aead, err := certsAEAD(keyHex)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(files))
	for name, data := range files {
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[name] = aead.Seal(nonce, nonce, data, []byte(name))
	}
	return out, nil
}

// openCerts reverses sealCerts.
func openCerts(keyHex string, sealed map[string][]byte) (map[string][]byte, error) {
	aead, err := certsAEAD(keyHex)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(sealed))
	for name, data := range sealed {
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("bootstrap: %s/%s: %s is too short", CertsSecretNamespace, CertsSecretName, name)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(name))
		if err != nil {
			return nil, fmt.Errorf("bootstrap: %s/%s: cannot decrypt %s: wrong certificate key?", CertsSecretNamespace, CertsSecretName, name)
		}
		out[name] = plain
	}
	return out, nil
}

type certsSecret struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   secretMeta        `json:"metadata"`
	Type       string            `json:"type"`
	Data       map[string][]byte `json:"data"`
}

type secretMeta struct {
	Name            string `json:"name"`
	Namespace       string `json:"namespace"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// UploadCerts writes files, encrypted under keyHex, into the Secret
// kube-system/gantry-certs (created or replaced) with an administrator's
// client c.
func UploadCerts(ctx context.Context, c *Client, keyHex string, files map[string][]byte) error {
	sealed, err := sealCerts(keyHex, files)
	if err != nil {
		return err
	}
	s := certsSecret{APIVersion: "v1", Kind: "Secret", Type: certsSecretType, Data: sealed,
		Metadata: secretMeta{Name: CertsSecretName, Namespace: CertsSecretNamespace}}
	coll := "/api/v1/namespaces/" + CertsSecretNamespace + "/secrets"
	err = c.do(ctx, http.MethodPost, coll, s, nil)
	if IsCode(err, http.StatusConflict) {
		var cur certsSecret
		if err := c.do(ctx, http.MethodGet, coll+"/"+CertsSecretName, nil, &cur); err != nil {
			return fmt.Errorf("bootstrap: read %s/%s: %w", CertsSecretNamespace, CertsSecretName, err)
		}
		s.Metadata.ResourceVersion = cur.Metadata.ResourceVersion
		err = c.do(ctx, http.MethodPut, coll+"/"+CertsSecretName, s, nil)
	}
	if err != nil {
		return fmt.Errorf("bootstrap: write %s/%s: %w", CertsSecretNamespace, CertsSecretName, err)
	}
	return nil
}

// DownloadCerts reads kube-system/gantry-certs (a bootstrap token may)
// and decrypts it with keyHex.
func DownloadCerts(ctx context.Context, c *Client, keyHex string) (map[string][]byte, error) {
	if _, err := certsAEAD(keyHex); err != nil {
		return nil, err
	}
	var s certsSecret
	path := "/api/v1/namespaces/" + CertsSecretNamespace + "/secrets/" + CertsSecretName
	if err := c.do(ctx, http.MethodGet, path, nil, &s); err != nil {
		if IsCode(err, http.StatusNotFound) {
			return nil, fmt.Errorf("bootstrap: %s/%s does not exist: make a new certificate key with gantry token create --print-join-command --control-plane on a control-plane host: %w",
				CertsSecretNamespace, CertsSecretName, err)
		}
		return nil, fmt.Errorf("bootstrap: read %s/%s: %w", CertsSecretNamespace, CertsSecretName, err)
	}
	return openCerts(keyHex, s.Data)
}

// APIServers returns the URLs of the cluster's API servers, from the
// default/kubernetes Endpoints every API server adds itself to.
func APIServers(ctx context.Context, c *Client) ([]string, error) {
	var ep struct {
		Subsets []struct {
			Addresses []struct {
				IP string `json:"ip"`
			} `json:"addresses"`
			Ports []struct {
				Name string `json:"name"`
				Port int    `json:"port"`
			} `json:"ports"`
		} `json:"subsets"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/namespaces/default/endpoints/kubernetes", nil, &ep); err != nil {
		return nil, fmt.Errorf("bootstrap: read the API servers (default/kubernetes Endpoints): %w", err)
	}
	var out []string
	for _, s := range ep.Subsets {
		port := 0
		for _, p := range s.Ports {
			if p.Name == "https" || port == 0 {
				port = p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, a := range s.Addresses {
			u := (&url.URL{Scheme: "https", Host: net.JoinHostPort(a.IP, strconv.Itoa(port))}).String()
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// RemoveAPIServer takes address ip out of the default/kubernetes
// Endpoints (an API server that leaves the cluster for good), keeping
// everything else of the object as it is.
func RemoveAPIServer(ctx context.Context, c *Client, ip string) (bool, error) {
	const path = "/api/v1/namespaces/default/endpoints/kubernetes"
	var ep map[string]any
	if err := c.do(ctx, http.MethodGet, path, nil, &ep); err != nil {
		return false, fmt.Errorf("bootstrap: read default/kubernetes Endpoints: %w", err)
	}
	subsets, _ := ep["subsets"].([]any)
	removed := false
	var keptSubsets []any
	for _, s := range subsets {
		sub, _ := s.(map[string]any)
		if sub == nil {
			continue
		}
		addrs, _ := sub["addresses"].([]any)
		var kept []any
		for _, a := range addrs {
			if m, _ := a.(map[string]any); m != nil && m["ip"] == ip {
				removed = true
				continue
			}
			kept = append(kept, a)
		}
		sub["addresses"] = kept
		// A subset needs an address (ready or not) to be valid.
		if notReady, _ := sub["notReadyAddresses"].([]any); len(kept) > 0 || len(notReady) > 0 {
			keptSubsets = append(keptSubsets, sub)
		}
	}
	ep["subsets"] = keptSubsets
	if !removed {
		return false, nil
	}
	if err := c.do(ctx, http.MethodPut, path, ep, nil); err != nil {
		return false, fmt.Errorf("bootstrap: update default/kubernetes Endpoints: %w", err)
	}
	return true, nil
}
