package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := `Running 10s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.34us  300.10us  12.50ms   90.00%
    Req/Sec    19.50k     1.20k   22.00k    70.00%
  Latency Distribution
     50%  750.00us
     75%    0.90ms
     90%    1.10ms
     99%    2.05ms
  388000 requests in 10.00s, 120.00MB read
Requests/sec:  38800.00
Transfer/sec:     12.00MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.p50 != 750*time.Microsecond || r.p99 != 2050*time.Microsecond || r.max != 12500*time.Microsecond ||
		r.requests != 388000 || r.rps != 38800 || r.errors != 0 {
		t.Errorf("parsed %+v", r)
	}
}
