package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/pki"
	"github.com/gantry-dev/gantry/libs/tlsutil"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func TestMutualTLSForClientsAndPeers(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("gantry-test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := ca.WriteFile(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(name string) (string, string) {
		c, err := ca.Issue(name, []string{"127.0.0.1", "localhost"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cert, key, err := c.WriteFiles(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key
	}
	serverCert, serverKey := issue("member")
	files := tlsutil.Files{CertFile: serverCert, KeyFile: serverKey, TrustedCAFile: caFile, ClientCertAuth: true}
	c := newTestCluster(t, 3, func(cfg *Config) {
		toHTTPS := func(urls []string) []string {
			var out []string
			for _, u := range urls {
				out = append(out, strings.Replace(u, "http://", "https://", 1))
			}
			return out
		}
		cfg.ListenClientURLs, cfg.AdvertiseClientURLs = toHTTPS(cfg.ListenClientURLs), toHTTPS(cfg.AdvertiseClientURLs)
		cfg.ListenPeerURLs, cfg.InitialAdvertisePeerURLs = toHTTPS(cfg.ListenPeerURLs), toHTTPS(cfg.InitialAdvertisePeerURLs)
		cfg.ClientTLS, cfg.PeerTLS = files, files
	})
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.cfg.ListenClientURLs[0])
	}
	clientCert, clientKey := issue("client")
	tc, err := tlsutil.Files{CertFile: clientCert, KeyFile: clientKey, TrustedCAFile: caFile}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, TLS: tc, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := ctxT(t)
	for i := 0; i < 10; i++ { // round-robin over members: forwarding goes over peer TLS
		if _, err := cli.Put(ctx, fmt.Sprintf("tls/%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	r, err := cli.Get(ctx, "tls/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || r.Count != 10 {
		t.Fatalf("get over TLS: %v %v", r, err)
	}
	// A client without a certificate is turned away.
	noCert, err := tlsutil.Files{TrustedCAFile: caFile}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	anon, err := clientv3.New(clientv3.Config{Endpoints: eps[:1], TLS: noCert, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err == nil {
		shortCtx, cancel := ctxWithin(t, 2*time.Second)
		defer cancel()
		_, err = anon.Get(shortCtx, "tls/0")
		anon.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was served")
	}
}

func TestMetricsAndHealthUseEtcdNames(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	c := newTestCluster(t, 1, func(cfg *Config) {
		cfg.ListenMetricsURLs = []string{url}
		cfg.Listeners[ln.Addr().String()] = ln
	})
	if _, err := c.client().Put(ctxT(t), "m", "v"); err != nil {
		t.Fatal(err)
	}
	c.members[0].srv.node.sampleMetrics()
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/health")
	if code != 200 || !strings.Contains(body, `"health":"true"`) {
		t.Fatalf("/health: %d %s", code, body)
	}
	_, body = get("/metrics")
	for _, name := range []string{
		"etcd_server_has_leader 1", "etcd_server_is_leader 1", "etcd_server_leader_changes_seen_total",
		"etcd_server_proposals_committed_total", "etcd_server_proposals_applied_total", "etcd_server_proposals_pending",
		"etcd_server_proposals_failed_total", "etcd_mvcc_db_total_size_in_bytes", "etcd_debugging_mvcc_keys_total 1",
		"etcd_disk_wal_fsync_duration_seconds_bucket", `grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 1`,
	} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	// The client port answers /health too, as etcd's does.
	resp, err := http.Get(c.members[0].cfg.ListenClientURLs[0] + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("client-port /health: %d", resp.StatusCode)
	}
}
