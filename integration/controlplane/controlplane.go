package controlplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/libs/pki"
)

// Options configure a control plane.
type Options struct {
	// StoreMembers is the size of the store cluster (default 1).
	StoreMembers int
	// APIServers is how many API servers share the store (default 1).
	APIServers int
	// Args are extra flags for every API server.
	Args []string
	// Tokens are extra lines of the API servers' token file
	// (token,user,uid,"group1,group2"), e.g. a node agent's.
	Tokens []string
	// Hosts, if set, place a store member and an API server on each host
	// (StoreMembers and APIServers are then len(Hosts)): they run in the
	// host's network namespace and serve on its address at the standard
	// ports (store 2379/2380/2381, API server 6443). Each API server
	// lists its own host's store member first.
	Hosts []cluster.Placement
}

// SecurePort is the port of an API server placed on a host.
const SecurePort = 6443

// ControlPlane is a running store and its API servers.
type ControlPlane struct {
	Store  *cluster.Cluster
	Dir    string
	CAFile string
	// CAKeyFile is the cluster CA's private key (PEM), for components
	// that sign their own serving certificates (gantry-agent --ca-key-file).
	CAKeyFile string
	// AdminToken authenticates as "admin" in group system:masters.
	AdminToken string
	// AdminCert and AdminKey are an admin client certificate.
	AdminCert, AdminKey string
	// Kubeconfig is an admin kubeconfig for the first API server.
	Kubeconfig string
	Servers    []*APIServer

	binary string
	ca     *pki.CA
}

// Start launches a control plane for a test and stops it when the test
// ends, printing the API servers' logs first if the test failed.
func Start(tb testing.TB, opts Options) *ControlPlane {
	tb.Helper()
	flavor, err := cluster.FlavorFromEnv()
	if err != nil {
		tb.Fatal(err)
	}
	store := cluster.Start(tb, cluster.Options{Flavor: flavor, Members: max(opts.StoreMembers, 1), Hosts: opts.Hosts})
	cp, err := Launch(context.Background(), store, tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("start control plane: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			for i, s := range cp.Servers {
				tb.Logf("--- log of apiserver %d (%s):\n%s", i, s.URL, s.LogTail(60))
			}
		}
		if err := cp.Close(); err != nil {
			tb.Errorf("stop control plane: %v", err)
		}
	})
	return cp
}

// Launch starts API servers on a running store, with certificates and
// configuration in dir.
func Launch(ctx context.Context, store *cluster.Cluster, dir string, opts Options) (*ControlPlane, error) {
	bin, err := cluster.Binary("apiserver", "gantry-apiserver")
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Store: store, Dir: dir, binary: bin}
	if err := cp.writeCredentials(opts.Tokens); err != nil {
		return nil, err
	}
	n := max(opts.APIServers, 1)
	if len(opts.Hosts) > 0 {
		n = len(opts.Hosts)
	}
	for i := range n {
		var host *cluster.Placement
		if len(opts.Hosts) > 0 {
			host = &opts.Hosts[i]
		}
		s, err := cp.startServer(ctx, i, host, opts.Args)
		if err != nil {
			cp.Close()
			return nil, err
		}
		cp.Servers = append(cp.Servers, s)
	}
	cp.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, []byte(cp.KubeconfigFor(0)), 0o600); err != nil {
		cp.Close()
		return nil, err
	}
	return cp, nil
}

func (cp *ControlPlane) writeCredentials(extraTokens []string) error {
	ca, err := pki.NewCA("gantry-test-ca", 24*time.Hour)
	if err != nil {
		return err
	}
	cp.ca = ca
	if cp.CAFile, err = ca.WriteFile(cp.Dir, "ca"); err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return err
	}
	cp.CAKeyFile = filepath.Join(cp.Dir, "ca.key")
	if err := os.WriteFile(cp.CAKeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	admin, err := ca.IssueClient("admin", []string{"system:masters"}, 24*time.Hour)
	if err != nil {
		return err
	}
	if cp.AdminCert, cp.AdminKey, err = admin.WriteFiles(cp.Dir, "admin"); err != nil {
		return err
	}
	cp.AdminToken = cluster.RandomHex(16)
	lines := fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n", cp.AdminToken)
	for _, l := range extraTokens {
		lines += l + "\n"
	}
	return os.WriteFile(filepath.Join(cp.Dir, "tokens.csv"), []byte(lines), 0o600)
}

// KubeconfigFor returns an admin kubeconfig (token user) for server i.
func (cp *ControlPlane) KubeconfigFor(i int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: gantry
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: admin@gantry
  context:
    cluster: gantry
    user: admin
current-context: admin@gantry
`, cp.Servers[i].URL, cp.CAFile, cp.AdminToken)
}

// Close stops every API server (not the store: the test's cleanup does).
func (cp *ControlPlane) Close() error {
	var errs []error
	for _, s := range cp.Servers {
		if err := s.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// HTTPClient returns an HTTPS client that trusts the cluster CA and
// presents no credentials.
func (cp *ControlPlane) HTTPClient() (*http.Client, error) {
	pem, err := os.ReadFile(cp.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}, nil
}

// Kubectl runs kubectl with the admin kubeconfig and a cache directory of
// the control plane's own. stdin may be nil.
func (cp *ControlPlane) Kubectl(ctx context.Context, stdin []byte, args ...string) (stdout, stderr string, err error) {
	full := append([]string{"--kubeconfig", cp.Kubeconfig, "--cache-dir", filepath.Join(cp.Dir, "kubectl-cache")}, args...)
	cmd := exec.CommandContext(ctx, "kubectl", full...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func (cp *ControlPlane) startServer(ctx context.Context, i int, host *cluster.Placement, extra []string) (*APIServer, error) {
	sans := []string{"127.0.0.1", "localhost"}
	if host != nil {
		sans = append(sans, host.IP)
	}
	issued, err := cp.ca.Issue("gantry-apiserver", sans, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	name := "apiserver-" + strconv.Itoa(i)
	cert, key, err := issued.WriteFiles(cp.Dir, name)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		bind, port, stores := "127.0.0.1", SecurePort, cp.Store.Endpoints()
		if host == nil {
			ports, err := cluster.FreePorts(1)
			if err != nil {
				return nil, err
			}
			port = ports[0]
		} else {
			// Its own host's member first, then the others.
			bind = host.IP
			stores = append([]string{stores[i]}, append(append([]string(nil), stores[:i]...), stores[i+1:]...)...)
		}
		addr := net.JoinHostPort(bind, strconv.Itoa(port))
		args := []string{
			"--bind-address", bind,
			"--secure-port", strconv.Itoa(port),
			"--tls-cert-file", cert, "--tls-private-key-file", key,
			"--client-ca-file", cp.CAFile,
			"--token-auth-file", filepath.Join(cp.Dir, "tokens.csv"),
			"--etcd-servers", strings.Join(stores, ","),
		}
		s := &APIServer{
			URL: "https://" + addr, Port: port,
			LogPath: filepath.Join(cp.Dir, name+".log"),
			binary:  cp.binary, args: append(args, extra...),
		}
		if host != nil {
			s.proc.Netns = host.Netns
		}
		if err := s.start(); err != nil {
			return nil, err
		}
		if lastErr = cp.waitReady(ctx, s); lastErr == nil {
			return s, nil
		}
		s.Stop()
	}
	return nil, lastErr
}

// WaitReady waits until server s answers /readyz with 200.
func (cp *ControlPlane) WaitReady(ctx context.Context, s *APIServer) error {
	return cp.waitReady(ctx, s)
}

func (cp *ControlPlane) waitReady(ctx context.Context, s *APIServer) error {
	client, err := cp.HTTPClient()
	if err != nil {
		return err
	}
	client.Timeout = 2 * time.Second
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if err := s.exited(); err != nil {
			return fmt.Errorf("apiserver exited: %v\n%s", err, s.LogTail(30))
		}
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz: %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("apiserver %s not ready after 60s: %v\n%s", s.URL, last, s.LogTail(30))
}
