// Command storebench runs the same clientv3 workloads against etcd and
// gantry-store, each as a 1- and a 3-member cluster of real processes on
// 127.0.0.1, and prints a table comparing them. See docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/internal/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg := bench.DefaultConfig()
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of each timed workload")
	flag.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent clients of the concurrent workloads")
	flag.IntVar(&cfg.Conns, "conns", cfg.Conns, "clientv3 clients (gRPC connections per member) the concurrent clients share")
	only := flag.String("only", "", `run one flavor only: "etcd" or "gantry"`)
	members := flag.String("members", "1,3", "comma-separated cluster sizes")
	markdown := flag.Bool("markdown", false, "print the table as Markdown")
	flag.Parse()

	sizes, err := parseSizes(*members)
	if err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		return 2
	}
	names := []string{cluster.Etcd, cluster.Gantry}
	switch *only {
	case "":
	case cluster.Etcd, cluster.Gantry:
		names = []string{*only}
	default:
		fmt.Fprintf(os.Stderr, "storebench: -only=%q: want etcd or gantry\n", *only)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer cluster.RemoveBuilt()

	var flavors []cluster.Flavor
	for _, name := range names {
		f, err := cluster.LookupFlavor(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "storebench: %v\n(use -only=%s to benchmark the other flavor alone)\n", err, other(name))
			return 1
		}
		flavors = append(flavors, f)
	}
	printSetup(cfg, flavors)

	table := bench.Table{Clients: cfg.Clients, Sizes: sizes}
	for _, n := range sizes {
		results, err := benchmark(ctx, cfg, flavors, n)
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "storebench: interrupted; every process it started is stopped")
			return 130
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "storebench: %d member(s): %v\n", n, err)
			return 1
		}
		for name, res := range results {
			table.Add(name, n, res)
		}
	}
	fmt.Println()
	if err := table.Write(os.Stdout, *markdown); err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		return 1
	}
	return 0
}

// benchmark starts a fresh n-member cluster of every flavor and runs each
// workload on every cluster in turn, so that the flavors meet the same
// machine conditions; then it stops the clusters.
func benchmark(ctx context.Context, cfg bench.Config, flavors []cluster.Flavor, n int) (map[string]bench.Results, error) {
	runners := make([]*bench.Runner, len(flavors))
	for i, f := range flavors {
		fmt.Fprintf(os.Stderr, "== starting %d-member %s cluster\n", n, f.Name)
		c, err := cluster.Launch(ctx, cluster.Options{Flavor: f, Members: n})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		defer c.Close()
		cfg := cfg
		cfg.Endpoints = c.Endpoints()
		prefix := fmt.Sprintf("   %-6s %dm  ", f.Name, n)
		cfg.Progress = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, prefix+format+"\n", args...)
		}
		runners[i], err = bench.NewRunner(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		defer runners[i].Close()
	}
	for wi, w := range bench.Workloads {
		for k := range runners {
			// Alternate which flavor goes first, and flush the page cache
			// before each run, so neither pays for the other's writeback.
			i := k
			if wi%2 == 1 {
				i = len(runners) - 1 - k
			}
			syscall.Sync()
			if err := runners[i].Run(ctx, w); err != nil {
				return nil, fmt.Errorf("%s: %w", flavors[i].Name, err)
			}
		}
	}
	results := map[string]bench.Results{}
	for i, r := range runners {
		results[flavors[i].Name] = r.Results()
	}
	return results, nil
}

func printSetup(cfg bench.Config, flavors []cluster.Flavor) {
	fmt.Fprintf(os.Stderr, "storebench: %d CPUs, %s per workload, %d clients over %d connection(s), %d-byte values\n",
		runtime.NumCPU(), cfg.Duration, cfg.Clients, cfg.Conns, cfg.ValueSize)
	for _, f := range flavors {
		version := f.Binary
		if f.Name == cluster.Etcd {
			// Only etcd is asked: an older gantry-store might not know the flag.
			if out, err := exec.Command(f.Binary, "--version").Output(); err == nil {
				version += " (" + strings.SplitN(string(out), "\n", 2)[0] + ")"
			}
		}
		fmt.Fprintf(os.Stderr, "  %s: %s\n", f.Name, version)
	}
	fmt.Fprintf(os.Stderr, "  started %s\n", time.Now().Format(time.RFC3339))
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for field := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-members=%q: want cluster sizes like 1,3", s)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

func other(name string) string {
	if name == cluster.Etcd {
		return cluster.Gantry
	}
	return cluster.Etcd
}
