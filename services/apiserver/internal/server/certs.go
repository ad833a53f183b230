package server

import (
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/libs/pki"
)

// certValidity of the certificates --cert-dir generates.
const certValidity = 365 * 24 * time.Hour

// ensureCerts makes --cert-dir hold a cluster CA and a serving certificate
// signed by it when no serving certificate was given, as kube-apiserver
// does for --cert-dir. Existing files are kept, so a restart presents the
// same certificate. Clients trust <cert-dir>/ca.crt.
func (c *Config) ensureCerts() error {
	if c.TLSCertFile != "" || c.CertDir == "" {
		return nil
	}
	if err := os.MkdirAll(c.CertDir, 0o700); err != nil {
		return err
	}
	caCert, caKey := filepath.Join(c.CertDir, "ca.crt"), filepath.Join(c.CertDir, "ca.key")
	c.TLSCertFile, c.TLSPrivateKeyFile = filepath.Join(c.CertDir, "apiserver.crt"), filepath.Join(c.CertDir, "apiserver.key")
	if exists(c.TLSCertFile) && exists(c.TLSPrivateKeyFile) {
		return nil
	}
	ca, err := loadOrCreateCA(caCert, caKey)
	if err != nil {
		return err
	}
	hosts := []string{"localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	if ip, err := firstServiceIP(c.ServiceClusterIPRange); err == nil {
		hosts = append(hosts, ip)
	}
	for _, a := range []string{c.AdvertiseAddress, c.BindAddress} {
		if ip := net.ParseIP(a); ip != nil && !ip.IsUnspecified() {
			hosts = append(hosts, a)
		}
	}
	issued, err := ca.Issue("gantry-apiserver", hosts, certValidity)
	if err != nil {
		return err
	}
	_, _, err = issued.WriteFiles(c.CertDir, "apiserver")
	return err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// loadOrCreateCA reads the CA in certFile/keyFile, creating it if neither
// exists.
func loadOrCreateCA(certFile, keyFile string) (*pki.CA, error) {
	if exists(certFile) || exists(keyFile) {
		return pki.LoadCA(certFile, keyFile)
	}
	ca, err := pki.NewCA("gantry-ca", 10*certValidity)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(certFile)
	if _, err := ca.WriteFile(dir, "ca"); err != nil {
		return nil, err
	}
	_, err = ca.WriteKeyFile(dir, "ca")
	return ca, err
}
