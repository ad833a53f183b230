package grpcapi_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/pki"
	"github.com/gantry-dev/gantry/services/apiserver/internal/server"
	"github.com/gantry-dev/gantry/services/apiserver/internal/storetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The tests run real API servers (server.New, in this process) on one
// store started by TestMain (see storetest). Without a store binary they
// fail and say why.

var store struct {
	url  string // client URL
	skip string // why the tests cannot run
}

func TestMain(m *testing.M) {
	url, stop, err := storetest.Start()
	switch {
	case errors.Is(err, storetest.ErrNoStore):
		store.skip, stop = err.Error(), func() {}
	case err != nil:
		fmt.Fprintln(os.Stderr, "store:", err)
		os.Exit(1)
	}
	store.url = url
	code := m.Run()
	stop()
	os.Exit(code)
}

// cluster is what a test needs to reach the API servers: the CA, an admin
// token and client certificate.
type cluster struct {
	dir        string
	ca         *pki.CA
	adminToken string
	adminCert  *pki.Issued
	// eventTTL is the servers' --event-ttl (0: events never expire).
	eventTTL time.Duration
}

// newCluster prepares credentials for API servers of one test.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	if store.skip != "" {
		t.Fatal(store.skip)
	}
	ca, err := pki.NewCA("gantry-test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ca.IssueClient("admin", []string{"system:masters"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{dir: t.TempDir(), ca: ca, adminToken: randomHex(16), adminCert: admin}
}

// startServer runs one API server on 127.0.0.1:0 until the test ends or
// stop is called; it returns once the server answers.
func (cl *cluster) startServer(t *testing.T) (addr string, stop func()) {
	t.Helper()
	name := "apiserver-" + randomHex(4)
	serving, err := cl.ca.Issue(name, []string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := serving.WriteFiles(cl.dir, name)
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := cl.ca.WriteFile(cl.dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(cl.dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(cl.adminToken+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(&server.Config{
		BindAddress: "127.0.0.1", SecurePort: 0,
		TLSCertFile: certFile, TLSPrivateKeyFile: keyFile, ClientCAFile: caFile, TokenAuthFile: tokens,
		EnableBootstrapTokenAuth: true,
		EtcdServers:              []string{store.url}, EtcdDialTimeout: 10 * time.Second,
		ServiceClusterIPRange: "10.96.0.0/12", ServiceNodePortRange: "30000-32767",
		EventTTL: cl.eventTTL,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
	}
	t.Cleanup(stop)
	addr = s.Addr().String()
	cl.waitReady(t, addr)
	return addr, stop
}

// waitReady polls the server's /readyz until it passes: the store
// answers, the watch caches have loaded and the bootstrap objects (the
// kube-system namespace, ...) exist.
func (cl *cluster) waitReady(t *testing.T, addr string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cl.ca.PEM)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get("https://" + addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("%s: %s", resp.Status, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("API server %s not ready: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminClient connects to endpoints with the admin token.
func (cl *cluster) adminClient(t *testing.T, endpoints ...string) *client.Client {
	t.Helper()
	return cl.client(t, client.Config{Endpoints: endpoints, Token: cl.adminToken})
}

// client connects with cfg, trusting the cluster's CA.
func (cl *cluster) client(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	cfg.CAData = cl.ca.PEM
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// namespace creates a namespace of its own for a test.
func namespace(t *testing.T, c *client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "test-" + randomHex(4)}}
	if _, err := client.Namespaces(c).Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// eventually polls cond every 20ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
