package agent

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/libs/pki"
)

// issueServingCert gives a single-host install a streaming-server
// certificate without a signing workflow: with the cluster CA's key at
// hand (--ca-key-file), the agent signs its own certificate for its node
// name and IP, kept in <root-dir>/pki and reused while valid. Multi-host
// installs get theirs when joining.
func (c *Config) issueServingCert(nodeIP string) error {
	if c.TLSCertFile != "" || c.CAKeyFile == "" {
		return nil
	}
	if c.ClientCAFile == "" {
		c.ClientCAFile = c.CAFile
	}
	dir := filepath.Join(c.RootDir, "pki")
	certFile, keyFile := filepath.Join(dir, "agent.crt"), filepath.Join(dir, "agent.key")
	c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
	if validFor(certFile, c.NodeName) {
		return nil
	}
	ca, err := pki.LoadCA(c.CAFile, c.CAKeyFile)
	if err != nil {
		return err
	}
	hosts := []string{c.NodeName}
	if ip := net.ParseIP(nodeIP); ip != nil {
		hosts = append(hosts, nodeIP)
	}
	issued, err := ca.Issue(c.NodeName, hosts, 365*24*time.Hour)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, _, err = issued.WriteFiles(dir, "agent")
	return err
}

// validFor reports whether the certificate in file names host and is
// valid for another day at least.
func validFor(file, host string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return false
	}
	return cert.VerifyHostname(host) == nil && time.Until(cert.NotAfter) > 24*time.Hour
}
