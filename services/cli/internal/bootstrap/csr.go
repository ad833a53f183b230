package bootstrap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Node client certificates: the signer csrapproving approves for and
// csrsigning signs with the cluster CA.
const (
	kubeletClientSigner  = "kubernetes.io/kube-apiserver-client-kubelet"
	kubeletServingSigner = "kubernetes.io/kubelet-serving"
	csrPath              = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
)

// pollInterval is how often RequestNodeCredentials reads the request.
var pollInterval = time.Second

var nodeNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// csr is the part of a certificatesv1.CertificateSigningRequest this
// package writes and reads.
type csr struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Request           []byte   `json:"request"`
		SignerName        string   `json:"signerName"`
		Usages            []string `json:"usages"`
		ExpirationSeconds *int32   `json:"expirationSeconds,omitempty"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type    string `json:"type"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
		Certificate []byte `json:"certificate"`
	} `json:"status"`
}

// RequestOption tunes RequestNodeCredentials.
type RequestOption func(*csr)

// WithExpiration asks for a certificate valid for d (the signer may cut
// it short; it is rounded down to seconds, at least 600 as Kubernetes
// requires, at most MaxInt32).
func WithExpiration(d time.Duration) RequestOption {
	return func(c *csr) {
		s := int32(min(max(d/time.Second, 600), math.MaxInt32))
		c.Spec.ExpirationSeconds = &s
	}
}

// RequestNodeCredentials gets a client certificate for node nodeName
// from the cluster at server (whose CA is caPEM, from Discover),
// authenticating with the bootstrap token "<id>.<secret>". It makes an
// ECDSA P-256 key, creates a CertificateSigningRequest for CN
// system:node:<nodeName>, O system:nodes, and waits up to timeout for
// gantry-controllers to approve and sign it. It returns the certificate
// and the key (SEC 1), both PEM.
func RequestNodeCredentials(ctx context.Context, server string, caPEM []byte, token, nodeName string,
	timeout time.Duration, opts ...RequestOption) (certPEM, keyPEM []byte, err error) {
	if _, err := ParseToken(token); err != nil {
		return nil, nil, err
	}
	if len(nodeName) > 253 || !nodeNameRE.MatchString(nodeName) {
		return nil, nil, fmt.Errorf("bootstrap: node name %q: want a lower-case DNS name", nodeName)
	}
	if timeout <= 0 {
		return nil, nil, fmt.Errorf("bootstrap: timeout %v: want a positive duration", timeout)
	}
	c, err := NewClient(server, caPEM, token)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}},
	}
	certPEM, keyPEM, err = requestCertificate(ctx, c, tmpl, kubeletClientSigner,
		[]string{"digital signature", "client auth"}, timeout, opts...)
	if IsCode(err, http.StatusUnauthorized) {
		return nil, nil, fmt.Errorf("bootstrap: %s refused the token (unknown, expired or deleted?): %w", c.server, err)
	}
	return certPEM, keyPEM, err
}

// RequestServingCertificate gets node nodeName's serving certificate
// (for its agent's streaming server: logs, exec, port-forward) for the
// DNS name nodeName and the addresses ips, from signer
// kubernetes.io/kubelet-serving. c must authenticate as the node itself
// (its client certificate from RequestNodeCredentials): gantry-controllers
// approve such a request only when the node asks for its own.
func RequestServingCertificate(ctx context.Context, c *Client, nodeName string, ips []net.IP,
	timeout time.Duration, opts ...RequestOption) (certPEM, keyPEM []byte, err error) {
	if len(nodeName) > 253 || !nodeNameRE.MatchString(nodeName) {
		return nil, nil, fmt.Errorf("bootstrap: node name %q: want a lower-case DNS name", nodeName)
	}
	if timeout <= 0 {
		return nil, nil, fmt.Errorf("bootstrap: timeout %v: want a positive duration", timeout)
	}
	tmpl := &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}},
		DNSNames:    []string{nodeName},
		IPAddresses: ips,
	}
	return requestCertificate(ctx, c, tmpl, kubeletServingSigner,
		[]string{"digital signature", "server auth"}, timeout, opts...)
}

// requestCertificate makes an ECDSA P-256 key, creates a
// CertificateSigningRequest for tmpl with signer and usages, and waits
// up to timeout for it to be approved and signed. It returns the
// certificate and the key (SEC 1), both PEM.
func requestCertificate(ctx context.Context, c *Client, tmpl *x509.CertificateRequest, signer string,
	usages []string, timeout time.Duration, opts ...RequestOption) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("bootstrap: key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, nil, fmt.Errorf("bootstrap: certificate request: %w", err)
	}
	req := csr{APIVersion: "certificates.k8s.io/v1", Kind: "CertificateSigningRequest",
		Metadata: objectMeta{GenerateName: "node-csr-"}}
	req.Spec.Request = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	req.Spec.SignerName = signer
	req.Spec.Usages = usages
	for _, o := range opts {
		o(&req)
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var created csr
	if err := c.do(ctx, http.MethodPost, csrPath, req, &created); err != nil {
		return nil, nil, fmt.Errorf("bootstrap: create CertificateSigningRequest: %w", err)
	}
	name := created.Metadata.Name
	if name == "" {
		return nil, nil, errors.New("bootstrap: the API server returned a CertificateSigningRequest without a name")
	}
	cert, err := waitCertificate(ctx, c, name, timeout)
	if err != nil {
		return nil, nil, err
	}
	if err := checkCert(cert, key); err != nil {
		return nil, nil, fmt.Errorf("bootstrap: CertificateSigningRequest %s: %w", name, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// waitCertificate polls the request name until it has a certificate or
// is denied or failed, or ctx ends.
func waitCertificate(ctx context.Context, c *Client, name string, timeout time.Duration) ([]byte, error) {
	path := csrPath + "/" + url.PathEscape(name)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		var cur csr
		err := c.do(ctx, http.MethodGet, path, nil, &cur)
		if err == nil {
			if len(cur.Status.Certificate) > 0 {
				return cur.Status.Certificate, nil
			}
			for _, cond := range cur.Status.Conditions {
				if cond.Type == "Denied" || cond.Type == "Failed" {
					return nil, fmt.Errorf("bootstrap: CertificateSigningRequest %s %s: %s: %s", name, cond.Type, cond.Reason, cond.Message)
				}
			}
		} else if ctx.Err() == nil {
			// 401/403 and 404 will not get better; anything else may.
			var ae *APIError
			if errors.As(err, &ae) && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusForbidden || ae.Code == http.StatusNotFound) {
				return nil, fmt.Errorf("bootstrap: read CertificateSigningRequest %s: %w", name, err)
			}
		}
		select {
		case <-ctx.Done():
			last := ""
			if err != nil && !errors.Is(err, ctx.Err()) {
				last = fmt.Sprintf(" (last error: %v)", err)
			}
			return nil, fmt.Errorf("bootstrap: CertificateSigningRequest %s got no certificate within %v: "+
				"it must be approved and signed, by gantry-controllers started with "+
				"--cluster-signing-cert-file and --cluster-signing-key-file%s", name, timeout, last)
		case <-tick.C:
		}
	}
}

// checkCert checks that certPEM is a certificate for key.
func checkCert(certPEM []byte, key *ecdsa.PrivateKey) error {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("the issued certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("the issued certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return errors.New("the issued certificate is not for the requested key")
	}
	return nil
}
