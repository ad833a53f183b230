package daemonset

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestBackoff(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	b := newBackoff(clk)
	if w := b.wait("k"); w != 0 {
		t.Fatalf("fresh key waits %v", w)
	}
	b.next("k")
	if w := b.wait("k"); w != time.Second {
		t.Fatalf("after one failure: wait %v, want 1s", w)
	}
	clk.SetTime(t0.Add(time.Second))
	if w := b.wait("k"); w != 0 {
		t.Fatalf("after the back-off: wait %v", w)
	}
	b.next("k")
	if w := b.wait("k"); w != 2*time.Second {
		t.Fatalf("after a second failure: wait %v, want 2s", w)
	}
	for range 20 {
		b.next("k")
	}
	if w := b.wait("k"); w != failedBackoffMax {
		t.Fatalf("capped at %v, want %v", w, failedBackoffMax)
	}
	clk.SetTime(t0.Add(time.Hour))
	b.next("k")
	if w := b.wait("k"); w != time.Second {
		t.Fatalf("after a long quiet: wait %v, want 1s again", w)
	}
}
