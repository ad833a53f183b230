package streaming

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// testCA signs certificates for the tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for cn: a server certificate for 127.0.0.1
// or a client certificate.
func (ca *testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestAuthorize(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	otherCA := newTestCA(t, "another CA")
	dir := t.TempDir()
	logPath := dir + "/web.log"
	writeFile(t, logPath, criLine(0, "stdout", "F", "secret"))
	pods := &fakePods{current: map[string]runtime.ContainerStatus{"web": {ID: "c1", LogPath: logPath}}}
	s := New(Config{Pods: pods, Runtime: newFakeRuntime(), Log: testLogger(t)})

	auth := Authorize("gantry-apiserver")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Client certificates are optional at the TLS level here, so that the
	// interceptor sees callers without one; the agent requires them.
	gs := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{ca.issue(t, "node-1", true)},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    ca.pool,
		})),
		grpc.ChainUnaryInterceptor(auth.Unary),
		grpc.ChainStreamInterceptor(auth.Stream),
	)
	s.Register(gs)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-served
	})

	clientFor := func(certs ...tls.Certificate) agentv1.AgentClient {
		creds := credentials.NewTLS(&tls.Config{Certificates: certs, RootCAs: ca.pool})
		return agentv1.NewAgentClient(dial(t, lis.Addr().String(), grpc.WithTransportCredentials(creds)))
	}
	tests := []struct {
		name   string
		client agentv1.AgentClient
		code   codes.Code
	}{
		{"API server", clientFor(ca.issue(t, "gantry-apiserver", false)), codes.OK},
		{"another name", clientFor(ca.issue(t, "system:node:node-2", false)), codes.PermissionDenied},
		{"no certificate", clientFor(), codes.PermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := tc.client.Logs(testContext(t), webLogs(nil))
			if err == nil {
				_, err = stream.Recv()
			}
			if status.Code(err) != tc.code {
				t.Errorf("got %v; want %v", err, tc.code)
			}
		})
	}

	t.Run("certificate of another CA", func(t *testing.T) {
		// The TLS handshake refuses it before any interceptor runs.
		client := clientFor(otherCA.issue(t, "gantry-apiserver", false))
		stream, err := client.Logs(testContext(t), webLogs(nil))
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) == codes.OK {
			t.Errorf("a certificate of another CA was accepted")
		}
	})

	t.Run("without TLS", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gs := grpc.NewServer(grpc.ChainStreamInterceptor(auth.Stream))
		s.Register(gs)
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = gs.Serve(lis)
		}()
		defer func() {
			gs.Stop()
			<-served
		}()
		client := agentv1.NewAgentClient(dial(t, lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())))
		stream, err := client.Logs(testContext(t), webLogs(nil))
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("got %v; want PermissionDenied", err)
		}
	})

	t.Run("unary", func(t *testing.T) {
		verified := func(cn string) context.Context {
			cert := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
			info := credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}
			return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: info})
		}
		handler := func(context.Context, any) (any, error) { return "ok", nil }
		if got, err := auth.Unary(verified("gantry-apiserver"), nil, &grpc.UnaryServerInfo{}, handler); got != "ok" || err != nil {
			t.Errorf("allowed caller: got %v, %v", got, err)
		}
		_, err := auth.Unary(verified("someone"), nil, &grpc.UnaryServerInfo{}, handler)
		if want := `"someone" may not use the agent's API`; status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != want {
			t.Errorf("other caller: got %v; want PermissionDenied %q", err, want)
		}
		if _, err := auth.Unary(context.Background(), nil, &grpc.UnaryServerInfo{}, handler); status.Code(err) != codes.PermissionDenied {
			t.Errorf("no peer: got %v", err)
		}
	})
}
