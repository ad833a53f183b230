package connset

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/pki"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TestStopDoesNotWaitForQuietClients: a gRPC server with TLS stops at
// once when CloseConns runs first, though a client connected and sent
// nothing; a closed connection is forgotten.
func TestStopDoesNotWaitForQuietClients(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := Wrap(ln)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(selfSigned(t))))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(cl) }()

	closed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	waitLen(t, cl, 2)
	closed.Close() // the server's handshake read fails; it closes its end
	waitLen(t, cl, 1)

	stopped := make(chan struct{})
	go func() {
		cl.CloseConns()
		srv.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("Stop still waits for a client in its TLS handshake")
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := cl.Len(); n != 0 {
		t.Errorf("%d connections remembered after all were closed", n)
	}
}

func waitLen(t *testing.T, l *Listener, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for l.Len() != n {
		if ctx.Err() != nil {
			t.Fatalf("%d connections remembered, want %d", l.Len(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	ca, err := pki.NewCA("connset test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := ca.Issue("127.0.0.1", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}
