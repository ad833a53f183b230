package healthz

import (
	"testing"
	"time"
)

func TestStatus(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := New(time.Minute)
	tr.now = func() time.Time { return now }
	step := func(d time.Duration) { now = now.Add(d) }
	for i, tc := range []struct {
		do   func()
		want bool
	}{
		{func() {}, false},              // never synced
		{func() { tr.Queued() }, false}, // queued, never synced
		{func() { step(time.Second); tr.Updated() }, true},
		{func() { step(time.Second); tr.Queued() }, true}, // queued just now
		{func() { step(59 * time.Second) }, true},
		{func() { step(2 * time.Second) }, false}, // waited too long
		{func() { tr.Updated() }, true},
		{func() { step(time.Hour) }, true}, // nothing queued: idle is fine
	} {
		tc.do()
		if got := tr.Status(); got.Healthy != tc.want {
			t.Errorf("step %d: healthy = %v (%s), want %v", i, got.Healthy, got.Reason, tc.want)
		}
	}
}
