// Command apibench measures gantry-apiserver with client-go as the client:
// pod create latency at 32 concurrent clients, LIST of 10,000 pods (served
// from the watch cache, and consistent), and the latency of one write
// fanned out to 500 watchers. It runs the same API server once on
// gantry-store and once on etcd, side by side, and prints the figures next
// to the targets. See docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
)

type config struct {
	clients  int
	creates  int
	pods     int
	lists    int
	watchers int
	writes   int
	profile  string
}

func main() {
	cfg := config{}
	flag.IntVar(&cfg.clients, "clients", 32, "concurrent clients creating pods")
	flag.IntVar(&cfg.creates, "creates", 3200, "pods created in the timed create run")
	flag.IntVar(&cfg.pods, "pods", 10000, "pods in the listed namespace")
	flag.IntVar(&cfg.lists, "lists", 10, "timed LISTs of each kind")
	flag.IntVar(&cfg.watchers, "watchers", 500, "watchers of the fan-out run")
	flag.IntVar(&cfg.writes, "writes", 20, "writes timed in the fan-out run")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "write a CPU profile of the API server during the creates to this file prefix (<prefix>.<store>.pprof)")
	only := flag.String("only", "", `run on one store only: "etcd" or "gantry"`)
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer cluster.RemoveBuilt()

	names := []string{cluster.Gantry, cluster.Etcd}
	if *only != "" {
		names = []string{*only}
	}
	var results []result
	for _, name := range names {
		flavor, err := cluster.LookupFlavor(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "apibench:", err)
			os.Exit(1)
		}
		res, err := runOn(ctx, cfg, flavor)
		if err != nil {
			fmt.Fprintf(os.Stderr, "apibench: on %s: %v\n", name, err)
			os.Exit(1)
		}
		results = append(results, res)
	}
	printTable(os.Stdout, cfg, results)
}

// runOn starts a one-member store of the flavor and an API server on it,
// runs every workload and stops both.
func runOn(ctx context.Context, cfg config, flavor cluster.Flavor) (result, error) {
	dir, err := os.MkdirTemp("", "apibench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	store, err := cluster.Launch(ctx, cluster.Options{Flavor: flavor, Members: 1})
	if err != nil {
		return result{}, err
	}
	defer store.Close()
	cp, err := controlplane.Launch(ctx, store, dir, controlplane.Options{})
	if err != nil {
		return result{}, err
	}
	defer cp.Close()
	fmt.Fprintf(os.Stderr, "== API server on %s (%s)\n", flavor.Name, cp.Servers[0].URL)
	b, err := newBench(cp, cfg, flavor.Name)
	if err != nil {
		return result{}, err
	}
	res := result{store: flavor.Name}
	start := time.Now()
	if res.create, err = b.creates(ctx); err != nil {
		return res, fmt.Errorf("creates: %w", err)
	}
	if err := b.fill(ctx); err != nil {
		return res, fmt.Errorf("filling %d pods: %w", cfg.pods, err)
	}
	if res.listCache, err = b.lists(ctx, "0"); err != nil {
		return res, fmt.Errorf("lists: %w", err)
	}
	if res.listConsistent, err = b.lists(ctx, ""); err != nil {
		return res, fmt.Errorf("lists: %w", err)
	}
	if res.fanout, err = b.fanout(ctx); err != nil {
		return res, fmt.Errorf("fan-out: %w", err)
	}
	fmt.Fprintf(os.Stderr, "   done in %v\n", time.Since(start).Round(time.Second))
	return res, nil
}
