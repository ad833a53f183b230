package nodelifecycle

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// newBareController is a controller without API access: enough for the
// decisions that need none (nodes without taints to lift).
func newBareController(t *testing.T, clk *clocktesting.FakeClock) *Controller {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return &Controller{
		clock: clk, log: slog.New(slog.NewTextHandler(io.Discard, nil)), metrics: m,
		rates: rates{primary: 0.1, secondary: 0.01, largeCluster: 50}, threshold: 0.55,
		health: map[string]*health{}, known: map[string]types.UID{}, zoneStates: map[string]zoneState{},
		queues: map[string]*taintQueue{}, needsRetry: map[string]bool{},
	}
}

func TestHandleDisruption(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	nc := newBareController(t, clk)
	T, U := corev1.ConditionTrue, corev1.ConditionUnknown
	nodes := []*corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}},
	}
	nc.health["a"] = &health{probe: t0.Add(-time.Hour)}
	ctx := context.Background()
	rate := func(zone string) float64 { return nc.queue(zone).limiter.qps }

	nc.handleDisruption(ctx, map[string][]corev1.ConditionStatus{"": {T, U}, "z2": {T}}, nodes)
	if nc.zoneStates[""] != stateNormal || rate("") != 0.1 {
		t.Fatalf("one of two down: %s at %v", nc.zoneStates[""], rate(""))
	}
	// One zone fully down while another is fine: that zone is down,
	// not the control plane: normal rate.
	nc.handleDisruption(ctx, map[string][]corev1.ConditionStatus{"": {U, U}, "z2": {T}}, nodes)
	if nc.zoneStates[""] != stateFullDisruption || rate("") != 0.1 {
		t.Fatalf("one zone down: %s at %v", nc.zoneStates[""], rate(""))
	}
	// Every zone down: the controller is the one cut off.
	nc.handleDisruption(ctx, map[string][]corev1.ConditionStatus{"": {U, U}, "z2": {U}}, nodes)
	if rate("") != 0 || rate("z2") != 0 {
		t.Fatalf("all down: rates %v, %v; want 0", rate(""), rate("z2"))
	}
	clk.SetTime(t0.Add(time.Minute))
	nc.handleDisruption(ctx, map[string][]corev1.ConditionStatus{"": {T, U}, "z2": {U}}, nodes)
	if rate("") != 0.1 || rate("z2") != 0.1 || nc.zoneStates["z2"] != stateFullDisruption {
		t.Fatalf("recovering: rates %v, %v, z2 %s", rate(""), rate("z2"), nc.zoneStates["z2"])
	}
	if !nc.health["a"].probe.Equal(t0.Add(time.Minute)) {
		t.Errorf("leaving full disruption: probe %v, want a fresh grace period", nc.health["a"].probe)
	}
	// A large zone partly down slows to the secondary rate; a small
	// one stops.
	big := make([]corev1.ConditionStatus, 60)
	for i := range big {
		big[i] = U
		if i%3 == 0 {
			big[i] = T
		}
	}
	nc.handleDisruption(ctx, map[string][]corev1.ConditionStatus{"": big, "z2": {U, U, U, T}}, nodes)
	if rate("") != 0.01 || rate("z2") != 0 {
		t.Fatalf("partial disruption: rates %v, %v", rate(""), rate("z2"))
	}
	// Zones without nodes are forgotten.
	nc.handleDisruption(ctx, map[string][]corev1.ConditionStatus{"": {T}}, nodes)
	if _, ok := nc.zoneStates["z2"]; ok {
		t.Error("empty zone kept")
	}
}
