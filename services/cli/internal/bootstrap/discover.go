package bootstrap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"
)

// clusterInfoPath is the ConfigMap kube-public/cluster-info, readable
// anonymously.
const clusterInfoPath = "/api/v1/namespaces/kube-public/configmaps/cluster-info"

// configMap is the part of a corev1.ConfigMap this package reads.
type configMap struct {
	Data map[string]string `json:"data"`
}

// clusterInfo is what cluster-info's kubeconfig says.
type clusterInfo struct {
	raw    string // the kubeconfig as served
	caPEM  []byte
	server string
}

// Discover finds the cluster behind server ("https://host:port" or
// "host:port"): it reads kube-public/cluster-info without verifying the
// server's certificate, accepts the CA it names only if the CA's
// public key hash (CAHash) is one of pins, then reads cluster-info
// again over TLS verified with that CA and checks it is the same. It
// returns the CA (PEM) and the API server URL cluster-info names.
func Discover(ctx context.Context, server string, pins []string) (caPEM []byte, serverURL string, err error) {
	want, err := parsePins(pins)
	if err != nil {
		return nil, "", err
	}
	base, err := normalizeServer(server)
	if err != nil {
		return nil, "", err
	}
	insecure := &Client{server: base, hc: newHTTPClient(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})}
	first, err := fetchClusterInfo(ctx, insecure)
	if err != nil {
		return nil, "", err
	}
	certs, err := parseCerts(first.caPEM)
	if err != nil {
		return nil, "", fmt.Errorf("bootstrap: cluster-info of %s: %w", base, err)
	}
	var got []string
	matched := false
	for _, c := range certs {
		h := CAHash(c)
		got = append(got, h)
		matched = matched || want[h]
	}
	if !matched {
		return nil, "", fmt.Errorf("bootstrap: the CA of %s (%s) matches no given CA hash: "+
			"the server is not the cluster you expect, or the hash is wrong", base, strings.Join(got, ", "))
	}
	verified, err := NewClient(base, first.caPEM, "")
	if err != nil {
		return nil, "", err
	}
	second, err := fetchClusterInfo(ctx, verified)
	if err != nil {
		return nil, "", fmt.Errorf("%w (over TLS verified with the pinned CA)", err)
	}
	if second.raw != first.raw {
		return nil, "", fmt.Errorf("bootstrap: cluster-info of %s changed between the unverified and the verified read", base)
	}
	return first.caPEM, first.server, nil
}

// fetchClusterInfo reads and parses cluster-info, anonymously.
func fetchClusterInfo(ctx context.Context, c *Client) (clusterInfo, error) {
	var cm configMap
	err := c.do(ctx, http.MethodGet, clusterInfoPath, nil, &cm)
	switch {
	case IsCode(err, http.StatusNotFound):
		return clusterInfo{}, fmt.Errorf("bootstrap: %s has no ConfigMap kube-public/cluster-info "+
			"(the API server publishes it when it knows the cluster CA): %w", c.server, err)
	case IsCode(err, http.StatusUnauthorized), IsCode(err, http.StatusForbidden):
		return clusterInfo{}, fmt.Errorf("bootstrap: %s refuses anonymous reads of kube-public/cluster-info: %w", c.server, err)
	case err != nil:
		return clusterInfo{}, fmt.Errorf("bootstrap: read cluster-info from %s: %w", c.server, err)
	}
	raw, ok := cm.Data["kubeconfig"]
	if !ok {
		return clusterInfo{}, fmt.Errorf("bootstrap: cluster-info of %s has no key kubeconfig", c.server)
	}
	ci, err := parseClusterInfo(raw)
	if err != nil {
		return clusterInfo{}, fmt.Errorf("bootstrap: cluster-info of %s: %w", c.server, err)
	}
	return ci, nil
}

// parseClusterInfo reads the one cluster of cluster-info's kubeconfig.
func parseClusterInfo(raw string) (clusterInfo, error) {
	var kc struct {
		Clusters []struct {
			Cluster struct {
				Server string `yaml:"server"`
				CAData string `yaml:"certificate-authority-data"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
	}
	if err := yaml.Unmarshal([]byte(raw), &kc); err != nil {
		return clusterInfo{}, fmt.Errorf("kubeconfig: %w", err)
	}
	if len(kc.Clusters) != 1 {
		return clusterInfo{}, fmt.Errorf("kubeconfig has %d clusters, want 1", len(kc.Clusters))
	}
	cl := kc.Clusters[0].Cluster
	if cl.Server == "" {
		return clusterInfo{}, errors.New("kubeconfig names no server")
	}
	if cl.CAData == "" {
		return clusterInfo{}, errors.New("kubeconfig has no certificate-authority-data")
	}
	ca, err := base64.StdEncoding.DecodeString(cl.CAData)
	if err != nil {
		return clusterInfo{}, fmt.Errorf("kubeconfig certificate-authority-data: %w", err)
	}
	return clusterInfo{raw: raw, caPEM: ca, server: cl.Server}, nil
}

// parseCerts returns the certificates of a PEM bundle; it needs one.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := bytes.TrimSpace(data); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("CA data is not PEM")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate in the CA data")
	}
	return certs, nil
}
