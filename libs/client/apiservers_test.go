package client

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/libs/client/wire"
	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// endpointsAPI serves default/kubernetes Endpoints listing addrs, and
// config map "cm" like fakeAPI.
type endpointsAPI struct {
	fakeAPI
	addrs []string
}

func (f *endpointsAPI) Get(ctx context.Context, req *apiv1.GetRequest) (*apiv1.GetResponse, error) {
	if req.Target.Resource != "endpoints" {
		return f.fakeAPI.Get(ctx, req)
	}
	if req.Target.Namespace != "default" || req.Target.Name != "kubernetes" {
		return nil, wire.ToGRPC(apierrors.NewNotFound(schema.GroupResource{Resource: "endpoints"}, req.Target.Name))
	}
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes", ResourceVersion: "3"}}
	f.mu.Lock()
	addrs := f.addrs
	f.mu.Unlock()
	for _, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		p, _ := strconv.Atoi(port)
		ep.Subsets = append(ep.Subsets, corev1.EndpointSubset{
			Addresses: []corev1.EndpointAddress{{IP: host}},
			Ports:     []corev1.EndpointPort{{Name: "https", Port: int32(p)}},
		})
	}
	raw, err := wire.Encode(ep, corev1.SchemeGroupVersion.WithKind("Endpoints"))
	return &apiv1.GetResponse{Object: raw}, err
}

// TestFollowAPIServers: a client given one API server learns the other
// from the kubernetes Endpoints and keeps working when the first stops.
func TestFollowAPIServers(t *testing.T) {
	ca := testCA(t)
	// Every API server serves the same Endpoints: the second's address.
	api2 := &endpointsAPI{}
	second := serve(t, ca, api2)
	api2.mu.Lock()
	api2.addrs = []string{second}
	api2.mu.Unlock()
	firstAddr, first := serveStoppable(t, ca, &endpointsAPI{addrs: []string{second}})

	c := newTestClient(t, Config{Endpoints: []string{firstAddr}, CAData: ca.PEM})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.FollowAPIServers(ctx, 20*time.Millisecond) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(10 * time.Second)
	for len(c.APIServers()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the client did not learn the second API server: %v", c.APIServers())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, want := c.APIServers(), []string{firstAddr, second}; !slices.Equal(got, want) {
		t.Fatalf("APIServers() = %v, want %v", got, want)
	}
	first.Stop()
	for {
		_, err := ConfigMaps(c).Get(ctx, "default", "cm", metav1.GetOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failover to the API server listed in the Endpoints: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWithDiscovered(t *testing.T) {
	ca := testCA(t)
	c := newTestClient(t, Config{Endpoints: []string{"https://10.0.0.1:6443"}, CAData: ca.PEM})
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}, {IP: "fd00::3"}},
		Ports:     []corev1.EndpointPort{{Name: "metrics", Port: 9000}, {Name: "https", Port: 6443}},
	}, {Addresses: []corev1.EndpointAddress{{IP: "10.0.0.9"}}}}}
	got := addrStrings(c.withDiscovered(ep))
	want := []string{"10.0.0.1:6443", "10.0.0.2:6443", "[fd00::3]:6443"}
	if len(got) != len(want) {
		t.Fatalf("addresses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("addresses %v, want %v", got, want)
		}
	}
	if name := c.withDiscovered(ep)[1].ServerName; name != "10.0.0.2" {
		t.Errorf("server name of a discovered address = %q, want its IP", name)
	}
}
