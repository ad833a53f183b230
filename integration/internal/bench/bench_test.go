package bench

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	lat := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0.5, 5},
		{0.99, 10},
		{0.1, 1},
		{1, 10},
	}
	for _, tt := range tests {
		if got := percentile(lat, tt.p); got != tt.want {
			t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 22613: "22,613", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTableMarkdown(t *testing.T) {
	tab := Table{Clients: 64, Sizes: []int{3}}
	tab.Add(Etcd, 3, Results{"put-rate": 7400, "put-p99": 21})
	tab.Add(Gantry, 3, Results{"put-rate": 11100, "put-p99": 14})
	var b strings.Builder
	if err := tab.Write(&b, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| workload | etcd 3m | gantry 3m | ratio |",
		"| put, 64 clients (ops/s) | 7,400 | 11,100 | 1.50x |",
		"| put, 64 clients, p99 (ms, lower is better) | 21.00 | 14.00 | 0.67x |",
		"| put, 1 client (ops/s) | - | - | - |",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
