package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// result is one target's numbers.
type result struct {
	name          string
	requests      int
	errors        int
	rps           float64
	p50, p99, max time.Duration
}

// loadBuiltin runs a closed loop of cfg.connections clients against url
// for the warm-up and then cfg.duration, recording every latency.
func loadBuiltin(ctx context.Context, url, host string, cfg config) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.connections, MaxConnsPerHost: cfg.connections, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	one := func() (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return 0, err
		}
		if host != "" {
			req.Host = host
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("%s", resp.Status)
		}
		return time.Since(start), err
	}
	phase := func(d time.Duration, record bool) ([]time.Duration, int) {
		var mu sync.Mutex
		var all []time.Duration
		errs := 0
		end := time.Now().Add(d)
		var wg sync.WaitGroup
		for range cfg.connections {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				bad := 0
				for time.Now().Before(end) && ctx.Err() == nil {
					lat, err := one()
					if err != nil {
						bad++
						continue
					}
					if record {
						mine = append(mine, lat)
					}
				}
				mu.Lock()
				all = append(all, mine...)
				errs += bad
				mu.Unlock()
			}()
		}
		wg.Wait()
		return all, errs
	}
	phase(cfg.warmup, false)
	lats, errs := phase(cfg.duration, true)
	if ctx.Err() != nil {
		return result{}, ctx.Err()
	}
	if len(lats) == 0 {
		return result{}, fmt.Errorf("no successful request (%d errors)", errs)
	}
	slices.Sort(lats)
	pct := func(p float64) time.Duration { return lats[min(len(lats)-1, int(p*float64(len(lats))))] }
	return result{requests: len(lats), errors: errs, rps: float64(len(lats)) / cfg.duration.Seconds(),
		p50: pct(0.50), p99: pct(0.99), max: lats[len(lats)-1]}, nil
}

// loadWrk runs wrk --latency and reads its latency distribution.
func loadWrk(ctx context.Context, url, host string, cfg config) (result, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return result{}, fmt.Errorf("wrk not found (apt-get install wrk): %w", err)
	}
	args := []string{"--latency", "-t", "2", "-c", strconv.Itoa(cfg.connections), "-d", fmt.Sprintf("%ds", int(cfg.duration.Seconds()))}
	if host != "" {
		args = append(args, "-H", "Host: "+host)
	}
	if cfg.warmup > 0 {
		warm := append(slices.Clone(args[:5]), "-d", fmt.Sprintf("%ds", max(1, int(cfg.warmup.Seconds()))))
		if host != "" {
			warm = append(warm, "-H", "Host: "+host)
		}
		if out, err := exec.CommandContext(ctx, bin, append(warm, url)...).CombinedOutput(); err != nil {
			return result{}, fmt.Errorf("wrk warm-up: %v: %s", err, out)
		}
	}
	out, err := exec.CommandContext(ctx, bin, append(args, url)...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	return parseWrk(string(out))
}

var (
	wrkPct      = regexp.MustCompile(`^\s+(50|99)%\s+(\S+)`)
	wrkMax      = regexp.MustCompile(`^\s+Latency\s+\S+\s+\S+\s+(\S+)`)
	wrkRequests = regexp.MustCompile(`^\s+(\d+) requests in`)
	wrkRPS      = regexp.MustCompile(`^Requests/sec:\s+(\S+)`)
	wrkErrors   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
)

// parseWrk reads wrk --latency output.
func parseWrk(out string) (result, error) {
	var r result
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := wrkPct.FindStringSubmatch(line); m != nil {
			d, err := wrkDuration(m[2])
			if err != nil {
				return r, err
			}
			if m[1] == "50" {
				r.p50 = d
			} else {
				r.p99 = d
			}
		} else if m := wrkMax.FindStringSubmatch(line); m != nil {
			r.max, _ = wrkDuration(m[1])
		} else if m := wrkRequests.FindStringSubmatch(line); m != nil {
			r.requests, _ = strconv.Atoi(m[1])
		} else if m := wrkRPS.FindStringSubmatch(line); m != nil {
			r.rps, _ = strconv.ParseFloat(m[1], 64)
		} else if m := wrkErrors.FindStringSubmatch(line); m != nil {
			r.errors, _ = strconv.Atoi(m[1])
		}
	}
	if r.p50 == 0 || r.requests == 0 {
		return r, fmt.Errorf("could not read wrk's output:\n%s", out)
	}
	return r, nil
}

// wrkDuration reads wrk's "1.23ms", "456.00us", "1.02s", "2.00m".
func wrkDuration(s string) (time.Duration, error) {
	s = strings.Replace(s, "us", "µs", 1)
	if strings.HasSuffix(s, "m") {
		s += "in"
		f, err := strconv.ParseFloat(strings.TrimSuffix(s, "min"), 64)
		return time.Duration(f * float64(time.Minute)), err
	}
	return time.ParseDuration(s)
}
