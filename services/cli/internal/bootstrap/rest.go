package bootstrap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls the API server's REST API with a bearer token over TLS
// verified with the cluster CA.
type Client struct {
	server string // https://host:port
	token  string
	hc     *http.Client
}

// NewClient returns a client of server ("https://host:port" or
// "host:port") that trusts caPEM and sends token; an empty token makes
// anonymous requests.
func NewClient(server string, caPEM []byte, token string) (*Client, error) {
	base, cfg, err := clientTLS(server, caPEM)
	if err != nil {
		return nil, err
	}
	return &Client{server: base, token: token, hc: newHTTPClient(cfg)}, nil
}

// NewCertClient returns a client of server that trusts caPEM and
// authenticates with the client certificate certPEM and its key keyPEM.
func NewCertClient(server string, caPEM, certPEM, keyPEM []byte) (*Client, error) {
	base, cfg, err := clientTLS(server, caPEM)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: client certificate: %w", err)
	}
	cfg.Certificates = []tls.Certificate{pair}
	return &Client{server: base, hc: newHTTPClient(cfg)}, nil
}

// clientTLS normalizes server and returns a TLS config trusting caPEM.
func clientTLS(server string, caPEM []byte) (string, *tls.Config, error) {
	base, err := normalizeServer(server)
	if err != nil {
		return "", nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return "", nil, errors.New("bootstrap: no PEM certificate in the CA data")
	}
	return base, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Server is the API server this client calls, as https://host:port.
func (c *Client) Server() string { return c.server }

// normalizeServer returns server as https://host:port without a path.
func normalizeServer(server string) (string, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return "", errors.New("bootstrap: no API server address")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("bootstrap: API server address %q: %w", server, err)
	}
	if u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("bootstrap: API server address %q: want https://host:port", server)
	}
	return "https://" + u.Host, nil
}

func newHTTPClient(cfg *tls.Config) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     cfg,
			TLSHandshakeTimeout: 10 * time.Second,
			Proxy:               http.ProxyFromEnvironment,
		},
	}
}

// APIError is an API server's answer other than 2xx: its HTTP code and,
// when the body is a Kubernetes Status, its reason and message.
type APIError struct {
	Code    int
	Reason  string
	Message string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	if e.Reason != "" {
		return fmt.Sprintf("%s (%d %s)", msg, e.Code, e.Reason)
	}
	return fmt.Sprintf("%s (%d)", msg, e.Code)
}

// IsCode reports whether err is an APIError with HTTP code code.
func IsCode(err error, code int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

// do sends method path with in as JSON (unless nil) and decodes the
// answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "gantry")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Code: resp.StatusCode}
		var st struct {
			Kind    string `json:"kind"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &st) == nil && st.Kind == "Status" {
			ae.Reason, ae.Message = st.Reason, st.Message
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// objectMeta is the part of metav1.ObjectMeta this package writes and
// reads.
type objectMeta struct {
	Name         string `json:"name,omitempty"`
	GenerateName string `json:"generateName,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
}

// Get reads path and decodes the JSON answer into out (a
// *json.RawMessage keeps it as is).
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}
