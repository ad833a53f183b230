package proxy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/proxy/internal/healthz"
	"github.com/gantry-dev/gantry/services/proxy/internal/iptables"
	"github.com/gantry-dev/gantry/services/proxy/internal/metrics"
)

// failingExec is an iptables executor whose restores fail while fail is
// set.
type failingExec struct{ fail error }

func (f *failingExec) Restore(context.Context, []byte) error            { return f.fail }
func (f *failingExec) Chains(context.Context, string) ([]string, error) { return nil, nil }
func (f *failingExec) EnsureJumps(context.Context, []iptables.Jump, func(string) bool) error {
	return nil
}
func (f *failingExec) RemoveJumps(context.Context, string, func(string) bool) error { return nil }

// programming returns the network programming histogram's count and sum.
func programming(t *testing.T, reg *prometheus.Registry) (uint64, float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "kubeproxy_network_programming_duration_seconds" {
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("no kubeproxy_network_programming_duration_seconds")
	return 0, 0
}

// The iptables proxier observes an endpoint change's latency once, after
// the sync that installs it: not after a failed one, and measured from
// the slice's trigger time, not from the retry.
func TestProxierObservesProgrammingAfterSuccess(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	ex := &failingExec{}
	p := iptables.New(iptables.Config{
		Rules: iptables.RuleConfig{Names: iptables.NewNames("KUBE"), MasqueradeBit: 14,
			ClusterCIDR: netip.MustParsePrefix("10.250.0.0/16")},
		NodeName: "node-a", SyncPeriod: time.Hour,
		Exec: ex, Metrics: metrics.New(reg), Health: healthz.New(time.Minute),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	port, proto, node := int32(8080), corev1.ProtocolTCP, "node-b"
	trigger := time.Now().Round(0) // wall clock, as the annotation has it
	p.ServiceHandler().OnAdd(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.251.0.5",
			Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
	}, false)
	p.SliceHandler().OnAdd(&discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a-1",
			Labels:      map[string]string{discoveryv1.LabelServiceName: "a"},
			Annotations: map[string]string{corev1.EndpointsLastChangeTriggerTime: trigger.UTC().Format(time.RFC3339Nano)}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: &port, Protocol: &proto}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.250.1.2"}, NodeName: &node}},
	}, false)

	ex.fail = errors.New("restore refused")
	if err := p.Sync(ctx); err == nil {
		t.Fatal("sync did not fail")
	}
	failedAt := time.Now().Round(0)
	if n, _ := programming(t, reg); n != 0 {
		t.Fatalf("%d observations after a failed sync", n)
	}

	ex.fail = nil
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	n, sum := programming(t, reg)
	if n != 1 {
		t.Fatalf("%d observations after the successful sync, want 1", n)
	}
	if min := failedAt.Sub(trigger).Seconds(); sum < min {
		t.Errorf("latency %vs, less than the %vs from the trigger to the failed sync", sum, min)
	}

	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := programming(t, reg); n != 1 {
		t.Errorf("%d observations after a sync with no change, want 1", n)
	}
}
