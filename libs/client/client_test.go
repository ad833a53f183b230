package client

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/client/wire"
	"github.com/gantry-dev/gantry/libs/pki"
	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// fakeAPI serves config maps from memory: enough of the protocol to test
// the client's side of it. Watches at resourceVersion "1" are too old,
// at "broken" fail after one event; the others send two events and end.
type fakeAPI struct {
	apiv1.UnimplementedResourcesServer
	mu       sync.Mutex
	metadata []metadata.MD
}

var configMapsGR = schema.GroupResource{Resource: "configmaps"}

func (f *fakeAPI) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.metadata = append(f.metadata, md)
}

func (f *fakeAPI) lastMetadata() metadata.MD {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.metadata[len(f.metadata)-1]
}

func configMap(name, rv string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, ResourceVersion: rv}}
}

func (f *fakeAPI) Get(ctx context.Context, req *apiv1.GetRequest) (*apiv1.GetResponse, error) {
	f.record(ctx)
	if req.Target.Name != "cm" {
		return nil, wire.ToGRPC(apierrors.NewNotFound(configMapsGR, req.Target.Name))
	}
	raw, err := wire.Encode(configMap("cm", "5"), corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	return &apiv1.GetResponse{Object: raw}, err
}

func (f *fakeAPI) Watch(req *apiv1.WatchRequest, stream apiv1.Resources_WatchServer) error {
	f.record(stream.Context())
	if req.Options.ResourceVersion == "1" {
		return wire.ToGRPC(apierrors.NewResourceExpired("too old resource version: 1 (5)"))
	}
	if err := stream.SendHeader(metadata.Pairs(wire.WatchStartedHeader, "true")); err != nil {
		return err
	}
	for i, typ := range []watch.EventType{watch.Added, watch.Modified} {
		raw, err := wire.Encode(configMap("cm", string(rune('6'+i))), corev1.SchemeGroupVersion.WithKind("ConfigMap"))
		if err != nil {
			return err
		}
		if err := stream.Send(&apiv1.WatchEvent{Type: string(typ), Object: raw}); err != nil {
			return err
		}
		if req.Options.ResourceVersion == "broken" {
			return wire.ToGRPC(apierrors.NewInternalError(context.DeadlineExceeded))
		}
	}
	return nil
}

// serve starts the fake on a loopback port with a certificate of ca.
func serve(t *testing.T, ca *pki.CA, api apiv1.ResourcesServer) string {
	t.Helper()
	addr, _ := serveStoppable(t, ca, api)
	return addr
}

// serveStoppable is serve that also returns the server, to stop it
// before the test ends.
func serveStoppable(t *testing.T, ca *pki.CA, api apiv1.ResourcesServer) (string, *grpc.Server) {
	t.Helper()
	issued, err := ca.Issue("apiserver", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	apiv1.RegisterResourcesServer(s, api)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String(), s
}

// deadEndpoint is a loopback address nobody listens on.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestFailoverToLiveEndpoint(t *testing.T) {
	ca := testCA(t)
	live := serve(t, ca, &fakeAPI{})
	dead := deadEndpoint(t)
	// The endpoint order is shuffled per client: several clients make
	// sure the dead endpoint comes first at least sometimes.
	for i := range 6 {
		c := newTestClient(t, Config{Endpoints: []string{dead, "https://" + live}, CAData: ca.PEM, Token: "t"})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cm, err := ConfigMaps(c).Get(ctx, "default", "cm", metav1.GetOptions{})
		cancel()
		if err != nil {
			t.Fatalf("client %d: Get: %v", i, err)
		}
		if cm.Name != "cm" || cm.ResourceVersion != "5" || cm.Kind != "ConfigMap" {
			t.Fatalf("client %d: got %+v", i, cm)
		}
	}
}

func TestErrorsAndMetadata(t *testing.T) {
	ca := testCA(t)
	api := &fakeAPI{}
	c := newTestClient(t, Config{Endpoints: []string{serve(t, ca, api)}, CAData: ca.PEM, Token: "s3cret", UserAgent: "scheduler/v1"})
	_, err := ConfigMaps(c).Get(context.Background(), "default", "other", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("Get of a missing object: %v, want NotFound", err)
	}
	md := api.lastMetadata()
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer s3cret" {
		t.Errorf("authorization metadata %q", got)
	}
	if got := md.Get("user-agent"); len(got) != 1 || got[0][:len("scheduler/v1")] != "scheduler/v1" {
		t.Errorf("user-agent metadata %q", got)
	}
}

func TestWatch(t *testing.T) {
	ca := testCA(t)
	c := newTestClient(t, Config{Endpoints: []string{serve(t, ca, &fakeAPI{})}, CAData: ca.PEM})
	cms := ConfigMaps(c)
	ctx := context.Background()

	t.Run("too old", func(t *testing.T) {
		w, err := cms.Watch(ctx, "default", metav1.ListOptions{ResourceVersion: "1"})
		if !apierrors.IsResourceExpired(err) {
			t.Fatalf("Watch at a too old resourceVersion: %v, %v; want 410 Expired", w, err)
		}
	})
	t.Run("events then end", func(t *testing.T) {
		w, err := cms.Watch(ctx, "default", metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, w)
		if len(got) != 2 || got[0].Type != watch.Added || got[1].Type != watch.Modified {
			t.Fatalf("events %v", got)
		}
		if cm := got[1].Object.(*corev1.ConfigMap); cm.ResourceVersion != "7" {
			t.Errorf("second event at resourceVersion %q, want 7", cm.ResourceVersion)
		}
	})
	t.Run("broken stream", func(t *testing.T) {
		w, err := cms.Watch(ctx, "default", metav1.ListOptions{ResourceVersion: "broken"})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, w)
		if len(got) != 2 || got[1].Type != watch.Error {
			t.Fatalf("events %v, want an event then an error", got)
		}
		if st := got[1].Object.(*metav1.Status); st.Code != 500 {
			t.Errorf("error event %+v", st)
		}
	})
	t.Run("stop", func(t *testing.T) {
		w, err := cms.Watch(ctx, "default", metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Stop()
		drain(t, w)
	})
}

// drain reads a watch until its channel closes.
func drain(t *testing.T, w watch.Interface) []watch.Event {
	t.Helper()
	var out []watch.Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				return out
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("watch did not end; got %v", out)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no endpoints", Config{}},
		{"http endpoint", Config{Endpoints: []string{"http://127.0.0.1:6443"}}},
		{"no port", Config{Endpoints: []string{"127.0.0.1"}}},
		{"cert without key", Config{Endpoints: []string{"127.0.0.1:6443"}, CertData: []byte("x")}},
		{"bad CA", Config{Endpoints: []string{"127.0.0.1:6443"}, CAData: []byte("not pem")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := New(tt.cfg); err == nil {
				c.Close()
				t.Error("New succeeded")
			}
		})
	}
}
