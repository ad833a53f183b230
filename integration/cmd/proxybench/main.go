// Command proxybench measures gantry-proxy's network programming latency:
// the time from an EndpointSlice change to the rules covering it being
// installed, with 1,000, 5,000 and 10,000 Services of 10 endpoints each,
// and how long a full sync of all of them takes.
//
// It starts a one-member gantry-store and a gantry-apiserver on the root
// namespace's loopback, creates the Services and their EndpointSlices
// through client-go (no pods, no controllers: selector-less Services, one
// slice each, endpoints on another node), and for each size and proxy
// mode runs gantry-proxy inside a network namespace it creates (ip netns
// add; ip netns exec), so that its hundreds of thousands of rules never
// touch the host's tables. A relay inside the namespace carries the API
// server's loopback address to the root namespace; the program reads the
// proxy's /metrics by dialing from inside the namespace.
//
// For each size and mode it reports:
//
//   - the first sync after the proxy starts (a full sync writing every
//     chain into empty tables), from the sync duration histogram, and the
//     time from the process start until those rules were installed;
//   - a full resync over existing rules: the first sync of a restarted
//     proxy, which rewrites every chain as a periodic full sync does;
//   - single changes: -changes times, one EndpointSlice gets one endpoint
//     address swapped and endpoints.kubernetes.io/last-change-trigger-time
//     set to the time of the write; the proxy's
//     kubeproxy_network_programming_duration_seconds _sum and _count
//     before and after give that change's latency exactly. One change at
//     a time, each waited for, and each sent when the proxy is idle (no
//     sync for more than --iptables-min-sync-period), so that neither the
//     rate limit nor a sync still running adds to it.
//
// A mode whose first sync at one size does not end within -timeout is
// reported so and not run at the larger sizes. A mode gantry-proxy
// refuses at start is reported as not available.
//
// The network namespaces, processes and temporary directories are removed
// at the end, on an error and on Ctrl-C. See docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/gantry-dev/gantry/integration/cluster"
)

type config struct {
	sizes         []int
	modes         []string
	endpoints     int
	changes       int
	workers       int
	minSyncPeriod time.Duration
	syncPeriod    time.Duration
	timeout       time.Duration
	resync        bool
	markdown      bool
}

func main() {
	var cfg config
	var sizes, modes string
	flag.StringVar(&sizes, "services", "1000,5000,10000", "comma-separated numbers of Services to measure, ascending")
	flag.StringVar(&modes, "mode", "iptables,nftables", "comma-separated proxy modes (iptables, nftables); a mode gantry-proxy refuses is reported as not available")
	flag.IntVar(&cfg.endpoints, "endpoints", 10, "endpoints per Service")
	flag.IntVar(&cfg.changes, "changes", 50, "single endpoint changes measured per size and mode")
	flag.IntVar(&cfg.workers, "workers", 16, "concurrent creators of Services and EndpointSlices")
	flag.DurationVar(&cfg.minSyncPeriod, "min-sync-period", time.Second, "gantry-proxy --iptables-min-sync-period (kube-proxy's default)")
	flag.DurationVar(&cfg.syncPeriod, "sync-period", time.Hour, "gantry-proxy --iptables-sync-period, its full resync period (kube-proxy resyncs fully once an hour)")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "longest wait for a first sync (a mode slower than that at one size is not run at larger ones) or for a change")
	flag.BoolVar(&cfg.resync, "resync", true, "also measure a full resync over existing rules (restarts the proxy)")
	flag.BoolVar(&cfg.markdown, "markdown", false, "print the table as Markdown")
	flag.Parse()
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)

	var err error
	if cfg.sizes, err = parseSizes(sizes); err != nil {
		fmt.Fprintln(os.Stderr, "proxybench: -services:", err)
		os.Exit(2)
	}
	if cfg.modes, err = parseModes(modes); err != nil {
		fmt.Fprintln(os.Stderr, "proxybench: -mode:", err)
		os.Exit(2)
	}
	if cfg.endpoints < 1 || cfg.endpoints > 1000 || cfg.changes < 1 || cfg.workers < 1 {
		fmt.Fprintln(os.Stderr, "proxybench: -endpoints must be 1..1000, -changes and -workers positive")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "proxybench: needs root (network namespaces and iptables)")
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	cluster.RemoveBuilt()
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 100000 {
			return nil, fmt.Errorf("%q is not a number of Services (1..100000)", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("sizes must ascend (Services are added, never removed): %s", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseModes(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		switch m := strings.TrimSpace(f); m {
		case "iptables", "nftables":
			out = append(out, m)
		default:
			return nil, fmt.Errorf("unknown mode %q (iptables or nftables)", f)
		}
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}
