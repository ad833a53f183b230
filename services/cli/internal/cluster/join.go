package cluster

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/libs/pki"
	"github.com/gantry-dev/gantry/services/cli/internal/bootstrap"
	"github.com/gantry-dev/gantry/services/cli/internal/fsutil"
	"github.com/gantry-dev/gantry/services/cli/internal/steps"
	"github.com/gantry-dev/gantry/services/cli/internal/storeclient"
	"github.com/gantry-dev/gantry/services/cli/internal/tokens"
)

// certValidity of the certificates gantry init and join issue locally.
const certValidity = 365 * 24 * time.Hour

// InitOptions are gantry init's flags.
type InitOptions struct {
	// AdvertiseAddress is this host's address the other hosts reach.
	AdvertiseAddress string
	// TokenTTL is the validity of the bootstrap token printed.
	TokenTTL time.Duration
	// SharedMachine: see Config.SharedMachine.
	SharedMachine bool
}

// Init makes this host the first control-plane host of a multi-host
// cluster (or brings it back up): the one-host daemons, but with the
// store and the API server on the advertise address with TLS, pod
// ranges from the node IPAM controller, a bootstrap token and the
// control plane's credentials uploaded encrypted for joining hosts. It
// prints the join commands.
func (c *Cluster) Init(o InitOptions) error {
	if c.cfg == nil {
		if err := c.refuseOneHostCluster(); err != nil {
			return err
		}
		if err := checkLocalIP(o.AdvertiseAddress); err != nil {
			return err
		}
		ip := o.AdvertiseAddress
		cfg := &Config{Role: RoleControlPlane, NodeName: c.nodeName, AdvertiseAddress: ip,
			APIServers:     []string{"https://" + net.JoinHostPort(ip, fmt.Sprint(apiPort))},
			InitialCluster: c.nodeName + "=https://" + net.JoinHostPort(ip, "2380"), InitialClusterState: "new",
			Ingress: true, SharedMachine: o.SharedMachine}
		if err := c.saveConfig(cfg); err != nil {
			return err
		}
	} else if c.cfg.Role != RoleControlPlane || (o.AdvertiseAddress != "" && o.AdvertiseAddress != c.cfg.AdvertiseAddress) {
		return fmt.Errorf("%s already holds a %s host of a cluster at %s: use gantry up to start it again, or gantry down --purge",
			c.l.StateDir, c.cfg.Role, c.cfg.AdvertiseAddress)
	}
	p := steps.New(c.out)
	if err := p.Do(c.ensureCA); err != nil {
		return err
	}
	if err := c.Up(); err != nil {
		return err
	}
	if exists(c.pkiFile(certificateKeyName)) {
		fmt.Fprintf(c.out, "\nThis control-plane host is up. Print a command for joining another host with:\n"+
			"  gantry token create --print-join-command [--control-plane]\n")
		return nil
	}
	var join, joinCP string
	if err := p.Do(func() (msg string, err error) {
		join, joinCP, err = c.PrintableJoin(o.TokenTTL, true)
		return "bootstrap token and kube-system/" + bootstrap.CertsSecretName, err
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.out, `
The first control-plane host is up. Use kubectl here:
  export KUBECONFIG=%s
  kubectl get nodes

Join a worker (run as root on it):
  %s

Join another control-plane host (3 in all keep the store and the control plane available when one fails):
  %s

The token expires (gantry token create --print-join-command [--control-plane] makes another).
The certificate key decrypts the cluster CA: keep it like the CA's key.
`, c.l.Kubeconfig, join, joinCP)
	return nil
}

// PrintableJoin creates a bootstrap token valid for ttl and returns the
// worker's join command and, with controlPlane, the control-plane one
// after uploading the control plane's credentials under a new
// certificate key (kept in the PKI directory).
func (c *Cluster) PrintableJoin(ttl time.Duration, controlPlane bool) (join, joinCP string, err error) {
	if c.cfg == nil || c.cfg.Role != RoleControlPlane {
		return "", "", errors.New("not a control-plane host of a multi-host cluster (gantry init or gantry join --control-plane)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, caPEM, err := c.adminClient()
	if err != nil {
		return "", "", err
	}
	tok, err := bootstrap.CreateToken(ctx, admin, ttl, "gantry join", nil)
	if err != nil {
		return "", "", err
	}
	server := c.hostURL("https", apiPort)
	if join, err = bootstrap.JoinCommand(server, caPEM, tok, ""); err != nil || !controlPlane {
		return join, "", err
	}
	key, err := bootstrap.NewCertificateKey()
	if err != nil {
		return "", "", err
	}
	files := map[string][]byte{}
	for _, f := range []string{c.l.CAFile(), c.l.CAKeyFile(), c.l.TokensFile()} {
		if files[filepath.Base(f)], err = os.ReadFile(f); err != nil {
			return "", "", err
		}
	}
	if err := bootstrap.UploadCerts(ctx, admin, key, files); err != nil {
		return "", "", err
	}
	if err := fsutil.ReplaceFile(c.pkiFile(certificateKeyName), []byte(key+"\n")); err != nil {
		return "", "", err
	}
	joinCP, err = bootstrap.JoinCommand(server, caPEM, tok, key)
	return join, joinCP, err
}

// adminClient is a REST client of the local API server with the admin's
// token.
func (c *Cluster) adminClient() (*bootstrap.Client, []byte, error) { return c.adminClientAt(apiURL) }

// adminClientAt is adminClient for the API server at url.
func (c *Cluster) adminClientAt(url string) (*bootstrap.Client, []byte, error) {
	caPEM, err := os.ReadFile(c.l.CAFile())
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokens.AdminToken(c.l.TokensFile())
	if err != nil {
		return nil, nil, err
	}
	cl, err := bootstrap.NewClient(url, caPEM, tok)
	return cl, caPEM, err
}

// ensureCA creates the cluster CA if the PKI directory has none.
func (c *Cluster) ensureCA() (string, error) {
	if exists(c.l.CAFile()) {
		return "cluster CA " + c.l.CAFile(), nil
	}
	if err := os.MkdirAll(c.l.PKIDir(), 0o700); err != nil {
		return "cluster CA", err
	}
	ca, err := pki.NewCA("gantry-ca", 10*certValidity)
	if err != nil {
		return "cluster CA", err
	}
	if _, err := ca.WriteKeyFile(c.l.PKIDir(), "ca"); err != nil {
		return "cluster CA", err
	}
	if _, err := ca.WriteFile(c.l.PKIDir(), "ca"); err != nil {
		return "cluster CA", err
	}
	return "created the cluster CA " + c.l.CAFile(), nil
}

// ensureControlPlaneCerts issues, with the cluster CA, what a control-
// plane host needs and has not: the store member's certificate for its
// addresses and the API server's client certificate for the store.
func (c *Cluster) ensureControlPlaneCerts() (string, error) {
	ca, err := pki.LoadCA(c.l.CAFile(), c.l.CAKeyFile())
	if err != nil {
		return "certificates", err
	}
	var made []string
	if !exists(c.certFile(storeCertName)) {
		hosts := []string{c.cfg.AdvertiseAddress, "127.0.0.1", "localhost", c.nodeName}
		issued, err := ca.Issue("gantry-store-"+c.nodeName, hosts, certValidity)
		if err != nil {
			return "certificates", err
		}
		if _, _, err := issued.WriteFiles(c.l.PKIDir(), storeCertName); err != nil {
			return "certificates", err
		}
		made = append(made, storeCertName)
	}
	if !exists(c.certFile(etcdClientCertName)) {
		issued, err := ca.IssueClient("gantry-apiserver-etcd-client", nil, certValidity)
		if err != nil {
			return "certificates", err
		}
		if _, _, err := issued.WriteFiles(c.l.PKIDir(), etcdClientCertName); err != nil {
			return "certificates", err
		}
		made = append(made, etcdClientCertName)
	}
	if len(made) == 0 {
		return "store certificates in " + c.l.PKIDir(), nil
	}
	return "issued " + strings.Join(made, ", ") + " certificates in " + c.l.PKIDir(), nil
}

// refuseOneHostCluster fails if the state directory, which has no
// multi-host config, holds the store data of a one-host cluster.
func (c *Cluster) refuseOneHostCluster() error {
	if exists(c.storeMemberDir()) {
		return fmt.Errorf("%s holds a one-host cluster (gantry up): remove it with gantry down --purge, or use another --data-dir", c.l.StateDir)
	}
	return nil
}

// JoinOptions are gantry join's flags.
type JoinOptions struct {
	Server string
	Token  string
	// CAPins are --discovery-token-ca-cert-hash values.
	CAPins []string
	// ControlPlane joins a control-plane host; CertificateKey decrypts
	// the control plane's credentials.
	ControlPlane   bool
	CertificateKey string
	// AdvertiseAddress is this host's address (default: the one it
	// reaches Server from).
	AdvertiseAddress string
	SharedMachine    bool
}

// Join makes this host a worker or control-plane host of the cluster at
// o.Server (or, if it joined before, brings it back up).
func (c *Cluster) Join(o JoinOptions) error {
	if c.cfg != nil {
		if (c.cfg.Role == RoleControlPlane) != o.ControlPlane {
			return fmt.Errorf("%s already holds a %s host: use gantry up to start it again, or gantry down --purge", c.l.StateDir, c.cfg.Role)
		}
		return c.Up()
	}
	if err := c.refuseOneHostCluster(); err != nil {
		return err
	}
	if o.ControlPlane && o.CertificateKey == "" {
		return errors.New("--control-plane needs --certificate-key (gantry init printed it)")
	}
	if o.AdvertiseAddress == "" {
		ip, err := sourceAddress(o.Server)
		if err != nil {
			return fmt.Errorf("no --advertise-address, and %w", err)
		}
		o.AdvertiseAddress = ip
	}
	if err := checkLocalIP(o.AdvertiseAddress); err != nil {
		return err
	}
	if err := os.MkdirAll(c.l.PKIDir(), 0o700); err != nil {
		return err
	}
	p := steps.New(c.out)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var caPEM []byte
	if err := p.Do(func() (msg string, err error) {
		caPEM, _, err = bootstrap.Discover(ctx, o.Server, o.CAPins)
		if err != nil {
			return "discover the cluster", err
		}
		return "cluster CA of " + o.Server + " matches the pinned hash", fsutil.ReplaceFile(c.l.CAFile(), caPEM)
	}); err != nil {
		return err
	}
	cfg := &Config{NodeName: c.nodeName, AdvertiseAddress: o.AdvertiseAddress, SharedMachine: o.SharedMachine}
	var err error
	if o.ControlPlane {
		err = c.joinControlPlane(ctx, p, o, caPEM, cfg)
	} else {
		err = c.joinWorker(ctx, p, o, caPEM, cfg)
	}
	if err != nil {
		return err
	}
	if err := c.saveConfig(cfg); err != nil {
		return err
	}
	if err := c.Up(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "\nThis host joined the cluster as a %s node %s (API servers: %s).\n",
		cfg.Role, c.nodeName, strings.Join(cfg.APIServers, ", "))
	if cfg.Role == RoleControlPlane {
		fmt.Fprintf(c.out, "Use kubectl here:\n  export KUBECONFIG=%s\n  kubectl get nodes\n", c.l.Kubeconfig)
	}
	return nil
}

// joinWorker gets the node's client certificate with the bootstrap
// token, then, as the node, its serving certificate, and the API server
// list.
func (c *Cluster) joinWorker(ctx context.Context, p *steps.Printer, o JoinOptions, caPEM []byte, cfg *Config) error {
	cfg.Role = RoleWorker
	var node *bootstrap.Client
	if err := p.Do(func() (string, error) {
		cert, key, err := bootstrap.RequestNodeCredentials(ctx, o.Server, caPEM, o.Token, c.nodeName, c.wait)
		if err != nil {
			return "node client certificate", err
		}
		if err := c.writePair(nodeCertName, cert, key); err != nil {
			return "node client certificate", err
		}
		node, err = bootstrap.NewCertClient(o.Server, caPEM, cert, key)
		return "node client certificate for system:node:" + c.nodeName + " signed", err
	}); err != nil {
		return err
	}
	if err := p.Do(func() (string, error) {
		cert, key, err := bootstrap.RequestServingCertificate(ctx, node, c.nodeName,
			[]net.IP{net.ParseIP(o.AdvertiseAddress)}, c.wait)
		if err != nil {
			return "node serving certificate", err
		}
		return "node serving certificate for " + c.nodeName + " and " + o.AdvertiseAddress + " signed",
			c.writePair(servingCertName, cert, key)
	}); err != nil {
		return err
	}
	return p.Do(func() (string, error) {
		servers, err := bootstrap.APIServers(ctx, node)
		if err != nil {
			return "API servers", err
		}
		if len(servers) == 0 {
			servers = []string{node.Server()}
		}
		cfg.APIServers = servers
		return "API servers: " + strings.Join(servers, ", "), nil
	})
}

// joinControlPlane fetches and decrypts the control plane's credentials,
// issues this host's certificates and adds its store member as a
// learner (promoted once it runs, by Up).
func (c *Cluster) joinControlPlane(ctx context.Context, p *steps.Printer, o JoinOptions, caPEM []byte, cfg *Config) error {
	cfg.Role = RoleControlPlane
	cfg.InitialClusterState = "existing"
	if err := p.Do(func() (string, error) {
		cl, err := bootstrap.NewClient(o.Server, caPEM, o.Token)
		if err != nil {
			return "control plane credentials", err
		}
		files, err := bootstrap.DownloadCerts(ctx, cl, o.CertificateKey)
		if err != nil {
			return "control plane credentials", err
		}
		if !samePEM(files["ca.crt"], caPEM) {
			return "control plane credentials", fmt.Errorf("kube-system/%s holds another CA than the cluster's", bootstrap.CertsSecretName)
		}
		for name, dst := range map[string]string{"ca.key": c.l.CAKeyFile(), "tokens.csv": c.l.TokensFile()} {
			if len(files[name]) == 0 {
				return "control plane credentials", fmt.Errorf("kube-system/%s has no %s", bootstrap.CertsSecretName, name)
			}
			if err := fsutil.ReplaceFile(dst, files[name]); err != nil {
				return "control plane credentials", err
			}
		}
		return "control plane credentials from kube-system/" + bootstrap.CertsSecretName + " decrypted", nil
	}); err != nil {
		return err
	}
	c.cfg = cfg // the certificates below need the advertise address
	if err := p.Do(c.ensureControlPlaneCerts); err != nil {
		return err
	}
	if err := p.Do(func() (string, error) {
		ca, err := pki.LoadCA(c.l.CAFile(), c.l.CAKeyFile())
		if err != nil {
			return "node client certificate", err
		}
		issued, err := ca.IssueClient("system:node:"+c.nodeName, []string{"system:nodes"}, certValidity)
		if err != nil {
			return "node client certificate", err
		}
		_, _, err = issued.WriteFiles(c.l.PKIDir(), nodeCertName)
		return "node client certificate for system:node:" + c.nodeName, err
	}); err != nil {
		return err
	}
	var others []string
	if err := p.Do(func() (string, error) {
		tok, err := tokens.AdminToken(c.l.TokensFile())
		if err != nil {
			return "API servers", err
		}
		admin, err := bootstrap.NewClient(o.Server, caPEM, tok)
		if err != nil {
			return "API servers", err
		}
		if others, err = bootstrap.APIServers(ctx, admin); err != nil {
			return "API servers", err
		}
		if len(others) == 0 {
			others = []string{admin.Server()}
		}
		self := c.hostURL("https", apiPort)
		cfg.APIServers = append([]string{self}, without(others, self)...)
		return "API servers: " + strings.Join(others, ", "), nil
	}); err != nil {
		return err
	}
	return p.Do(func() (string, error) {
		sc, err := c.dialStore(storeEndpoints(others))
		if err != nil {
			return "store member", err
		}
		defer sc.Close()
		peer := c.hostURL("https", 2380)
		id, members, err := sc.AddLearner(ctx, peer)
		if err != nil {
			return "store member", err
		}
		if cfg.InitialCluster, err = storeclient.InitialCluster(members, c.nodeName, id); err != nil {
			return "store member", err
		}
		cfg.LearnerID = id
		return fmt.Sprintf("store member %x (%s) added as a learner", id, peer), nil
	})
}

// without returns servers less self, in order.
func without(servers []string, self string) []string {
	return slices.DeleteFunc(slices.Clone(servers), func(s string) bool { return s == self })
}

// storeEndpoints are the store client URLs of the hosts of apiServers:
// each control-plane host runs a store member next to its API server.
func storeEndpoints(apiServers []string) []string {
	var out []string
	for _, s := range apiServers {
		if u, err := url.Parse(s); err == nil && u.Hostname() != "" {
			out = append(out, "https://"+net.JoinHostPort(u.Hostname(), "2379"))
		}
	}
	return out
}

// dialStore connects to the store with the API server's client
// certificate.
func (c *Cluster) dialStore(endpoints []string) (*storeclient.Client, error) {
	var t storeclient.TLS
	var err error
	if t.CAPEM, err = os.ReadFile(c.l.CAFile()); err != nil {
		return nil, err
	}
	if t.CertPEM, err = os.ReadFile(c.certFile(etcdClientCertName)); err != nil {
		return nil, err
	}
	if t.KeyPEM, err = os.ReadFile(c.keyFile(etcdClientCertName)); err != nil {
		return nil, err
	}
	return storeclient.Dial(endpoints, t)
}

// promoteMember makes this host's store member, added as a learner by
// gantry join, a voter once it has caught up.
func (c *Cluster) promoteMember() (string, error) {
	id := c.cfg.LearnerID
	msg := fmt.Sprintf("store member %x promoted to a voter", id)
	endpoints := append([]string{"https://127.0.0.1:2379"}, storeEndpoints(c.cfg.APIServers)...)
	sc, err := c.dialStore(endpoints)
	if err != nil {
		return msg, err
	}
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), c.wait)
	defer cancel()
	if err := sc.Promote(ctx, id); err != nil {
		return msg, err
	}
	cfg := *c.cfg
	cfg.LearnerID = 0
	return msg, c.saveConfig(&cfg)
}

func (c *Cluster) writePair(name string, certPEM, keyPEM []byte) error {
	if err := fsutil.ReplaceFile(c.keyFile(name), keyPEM); err != nil {
		return err
	}
	return fsutil.ReplaceFile(c.certFile(name), certPEM)
}

func samePEM(a, b []byte) bool {
	ba, _ := pem.Decode(a)
	bb, _ := pem.Decode(b)
	if ba == nil || bb == nil {
		return false
	}
	ca, err1 := x509.ParseCertificate(ba.Bytes)
	cb, err2 := x509.ParseCertificate(bb.Bytes)
	return err1 == nil && err2 == nil && ca.Equal(cb)
}

// sourceAddress is the local address this host reaches server's host
// from (a UDP socket is connected, no packet is sent).
func sourceAddress(server string) (string, error) {
	s := server
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("server %q: want https://host:port", server)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	conn, err := net.Dial("udp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return "", fmt.Errorf("cannot tell which address of this host reaches %s: %w", u.Host, err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// checkLocalIP checks ip is an address of this host other hosts can use.
func checkLocalIP(ip string) error {
	a := net.ParseIP(ip)
	if a == nil || a.IsLoopback() || a.IsUnspecified() {
		return fmt.Errorf("--advertise-address %q: want an address of this host that the other hosts reach (not loopback)", ip)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	for _, x := range addrs {
		if n, ok := x.(*net.IPNet); ok && n.IP.Equal(a) {
			return nil
		}
	}
	return fmt.Errorf("--advertise-address %s is not an address of this host", ip)
}
