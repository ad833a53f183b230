package grpcapi_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/pki"
	"github.com/gantry-dev/gantry/services/apiserver/internal/server"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The tests run real API servers (server.New, in this process) on one
// store started by TestMain: gantry-store from $GANTRY_BIN_DIR when that
// is set (make test), Debian's etcd otherwise. Without either they fail
// and say why.

var store struct {
	url  string // client URL
	skip string // why the tests cannot run
}

func TestMain(m *testing.M) {
	stop, err := startStore()
	if err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// storeBinary is gantry-store from $GANTRY_BIN_DIR, or etcd.
func storeBinary() (string, bool) {
	if dir := os.Getenv("GANTRY_BIN_DIR"); dir != "" {
		if p := filepath.Join(dir, "gantry-store"); fileExists(p) {
			return p, true
		}
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, true
	}
	return "", false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// startStore starts a one-member store on free loopback ports in a
// temporary directory; stop kills it (by its PID) and removes the
// directory.
func startStore() (stop func(), err error) {
	bin, ok := storeBinary()
	if !ok {
		store.skip = "no store binary: set GANTRY_BIN_DIR (make build) or install etcd"
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "grpcapi-store-")
	if err != nil {
		return nil, err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(freePort())
	peerURL := "http://127.0.0.1:" + strconv.Itoa(freePort())
	cmd := exec.Command(bin,
		"--name", "default", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL)
	logFile, err := os.Create(filepath.Join(dir, "store.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		os.RemoveAll(dir)
	}
	if err := waitStore(clientURL); err != nil {
		stop()
		return nil, fmt.Errorf("%s did not start: %w", bin, err)
	}
	store.url = clientURL
	return stop, nil
}

func waitStore(url string) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Put(ctx, "/grpcapi-test/started", "yes")
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cluster is what a test needs to reach the API servers: the CA, an admin
// token and client certificate.
type cluster struct {
	dir        string
	ca         *pki.CA
	adminToken string
	adminCert  *pki.Issued
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
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
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
