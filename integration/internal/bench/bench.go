// Package bench holds the store benchmark's workloads: one clientv3 workload
// set, run unchanged against etcd and gantry-store, and the table that
// compares them.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Config sizes a benchmark run.
type Config struct {
	Endpoints []string
	Duration  time.Duration // of each timed workload
	Clients   int           // concurrent clients of the concurrent workloads
	Conns     int           // clientv3 clients the concurrent clients share
	ValueSize int           // bytes per value
	GetKeys   int           // keys the get workload reads from
	RangeKeys int           // keys under the ranged prefix
	// Progress, if set, receives one line per finished workload.
	Progress func(format string, args ...any)
}

// DefaultConfig returns the configuration the documented figures use.
func DefaultConfig() Config {
	return Config{
		Duration:  5 * time.Second,
		Clients:   64,
		Conns:     1,
		ValueSize: 1024,
		GetKeys:   1000,
		RangeKeys: 10000,
	}
}

// A Metric is one row of the comparison table.
type Metric struct {
	ID    string
	Label string // %d is replaced by the number of clients
	Unit  string // "ops/s" (higher is better) or "ms" (lower is better)
}

// Metrics lists the measured values in table order.
var Metrics = []Metric{
	{"seq-put-rate", "put, 1 client", "ops/s"},
	{"seq-put-p50", "put, 1 client, p50", "ms"},
	{"seq-put-p99", "put, 1 client, p99", "ms"},
	{"put-rate", "put, %d clients", "ops/s"},
	{"put-p99", "put, %d clients, p99", "ms"},
	{"get-rate", "linearizable get, %d clients", "ops/s"},
	{"get-p99", "linearizable get, %d clients, p99", "ms"},
	{"cas-rate", "CAS txn, %d clients", "ops/s"},
	{"cas-p99", "CAS txn, %d clients, p99", "ms"},
	{"range-p50", "range of a 10,000-key prefix, p50", "ms"},
	{"watch-p99", "watch delivery under %d-client puts, p99", "ms"},
}

// Results maps Metric.ID to the measured value.
type Results map[string]float64

// A Workload is one load pattern with what it measures.
type Workload struct {
	Name string
	run  func(*Runner, context.Context) error
}

// Workloads lists the workloads in the order they run. Later ones add keys
// to the same cluster.
var Workloads = []Workload{
	{"sequential put", (*Runner).sequentialPut},
	{"concurrent put", (*Runner).concurrentPut},
	{"linearizable get", (*Runner).get},
	{"CAS txn", (*Runner).cas},
	{"range 10,000 keys", (*Runner).rangePrefix},
	{"watch delivery", (*Runner).watch},
}

// A Runner runs the workloads against one cluster and collects the results.
type Runner struct {
	cfg     Config
	clients []*clientv3.Client
	value   string
	res     Results
}

// NewRunner connects cfg.Conns clients to the cluster at cfg.Endpoints.
func NewRunner(ctx context.Context, cfg Config) (*Runner, error) {
	r := &Runner{cfg: cfg, res: Results{}, value: strings.Repeat("v", cfg.ValueSize)}
	if r.cfg.Progress == nil {
		r.cfg.Progress = func(string, ...any) {}
	}
	for range max(cfg.Conns, 1) {
		cli, err := newClient(ctx, cfg.Endpoints)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.clients = append(r.clients, cli)
	}
	return r, nil
}

// Run runs one workload and records what it measures.
func (r *Runner) Run(ctx context.Context, w Workload) error {
	if err := w.run(r, ctx); err != nil {
		return fmt.Errorf("%s: %w", w.Name, err)
	}
	return nil
}

// Results returns what the workloads run so far measured.
func (r *Runner) Results() Results { return r.res }

// Close disconnects the clients.
func (r *Runner) Close() {
	for _, c := range r.clients {
		c.Close()
	}
}

// client returns the clientv3 client that worker w uses. Each one balances
// its requests over all endpoints, as clientv3 does by default.
func (r *Runner) client(w int) *clientv3.Client { return r.clients[w%len(r.clients)] }

// key returns a key shaped like a Kubernetes object's.
func key(ns string, n int64) string {
	return "/registry/pods/" + ns + "/name-" + strconv.FormatInt(n, 10)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *Runner) sequentialPut(ctx context.Context) error {
	var n atomic.Int64
	res, err := closedLoop(ctx, 1, r.cfg.Duration, func(ctx context.Context, w int) error {
		_, err := r.client(w).Put(ctx, key("seq", n.Add(1)), r.value)
		return err
	})
	if err != nil {
		return err
	}
	r.res["seq-put-rate"], r.res["seq-put-p50"], r.res["seq-put-p99"] = res.Rate(), ms(res.Percentile(0.5)), ms(res.Percentile(0.99))
	r.cfg.Progress("put, 1 client: %.0f ops/s, p50 %.2f ms, p99 %.2f ms", res.Rate(), ms(res.Percentile(0.5)), ms(res.Percentile(0.99)))
	return nil
}

func (r *Runner) concurrentPut(ctx context.Context) error {
	var n atomic.Int64
	res, err := closedLoop(ctx, r.cfg.Clients, r.cfg.Duration, func(ctx context.Context, w int) error {
		_, err := r.client(w).Put(ctx, key("put", n.Add(1)), r.value)
		return err
	})
	if err != nil {
		return err
	}
	r.res["put-rate"], r.res["put-p99"] = res.Rate(), ms(res.Percentile(0.99))
	r.cfg.Progress("put, %d clients: %.0f ops/s, p99 %.2f ms", r.cfg.Clients, res.Rate(), ms(res.Percentile(0.99)))
	return nil
}

func (r *Runner) get(ctx context.Context) error {
	if err := r.preload(ctx, "get", r.cfg.GetKeys); err != nil {
		return err
	}
	res, err := closedLoop(ctx, r.cfg.Clients, r.cfg.Duration, func(ctx context.Context, w int) error {
		k := key("get", rand.Int64N(int64(r.cfg.GetKeys)))
		resp, err := r.client(w).Get(ctx, k)
		if err != nil {
			return err
		}
		if len(resp.Kvs) != 1 {
			return fmt.Errorf("get %s: %d keys, want 1", k, len(resp.Kvs))
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.res["get-rate"], r.res["get-p99"] = res.Rate(), ms(res.Percentile(0.99))
	r.cfg.Progress("linearizable get, %d clients: %.0f ops/s, p99 %.2f ms", r.cfg.Clients, res.Rate(), ms(res.Percentile(0.99)))
	return nil
}

// cas has every client compare-and-swap its own key on its mod revision, the
// way the apiserver updates an object, and carry the new revision forward.
func (r *Runner) cas(ctx context.Context) error {
	revs := make([]int64, r.cfg.Clients)
	for w := range revs {
		resp, err := r.client(w).Put(ctx, key("cas", int64(w)), r.value)
		if err != nil {
			return err
		}
		revs[w] = resp.Header.Revision
	}
	res, err := closedLoop(ctx, r.cfg.Clients, r.cfg.Duration, func(ctx context.Context, w int) error {
		k := key("cas", int64(w))
		resp, err := r.client(w).Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", revs[w])).
			Then(clientv3.OpPut(k, r.value)).
			Else(clientv3.OpGet(k)).
			Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			var got int64
			for _, op := range resp.Responses {
				if kvs := op.GetResponseRange().GetKvs(); len(kvs) == 1 {
					got = kvs[0].ModRevision
				}
			}
			return fmt.Errorf("CAS on %s at revision %d failed (key is at %d) though no one else writes it", k, revs[w], got)
		}
		revs[w] = resp.Header.Revision
		return nil
	})
	if err != nil {
		return err
	}
	r.res["cas-rate"], r.res["cas-p99"] = res.Rate(), ms(res.Percentile(0.99))
	r.cfg.Progress("CAS txn, %d clients: %.0f ops/s, p99 %.2f ms", r.cfg.Clients, res.Rate(), ms(res.Percentile(0.99)))
	return nil
}

func (r *Runner) rangePrefix(ctx context.Context) error {
	if err := r.preload(ctx, "range", r.cfg.RangeKeys); err != nil {
		return err
	}
	prefix := "/registry/pods/range/"
	res, err := closedLoop(ctx, 1, r.cfg.Duration, func(ctx context.Context, w int) error {
		resp, err := r.client(w).Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			return err
		}
		if len(resp.Kvs) != r.cfg.RangeKeys {
			return fmt.Errorf("range %s: %d keys, want %d", prefix, len(resp.Kvs), r.cfg.RangeKeys)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.res["range-p50"] = ms(res.Percentile(0.5))
	r.cfg.Progress("range of %d keys: p50 %.2f ms (%d ranges)", r.cfg.RangeKeys, ms(res.Percentile(0.5)), len(res.Latencies))
	return nil
}

// watch measures how long a put takes to reach a prefix watcher while
// cfg.Clients clients put under the prefix. Values start with the time of
// the put in Unix nanoseconds.
func (r *Runner) watch(ctx context.Context) error {
	const prefix = "/registry/pods/watch/"
	const end = prefix + "~end" // sorts after every name-N; sent once the load stops
	watcher, err := newClient(ctx, r.cfg.Endpoints)
	if err != nil {
		return err
	}
	defer watcher.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := watcher.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	if first := <-wch; !first.Created {
		return fmt.Errorf("watch not created: %v", first.Err())
	}

	var lat []time.Duration
	delivered := make(chan error, 1)
	go func() {
		for resp := range wch {
			if err := resp.Err(); err != nil {
				delivered <- err
				return
			}
			now := time.Now()
			for _, ev := range resp.Events {
				if string(ev.Kv.Key) == end {
					delivered <- nil
					return
				}
				ts, err := strconv.ParseInt(string(ev.Kv.Value[:19]), 10, 64)
				if err != nil {
					delivered <- fmt.Errorf("event %s: no timestamp: %w", ev.Kv.Key, err)
					return
				}
				lat = append(lat, now.Sub(time.Unix(0, ts)))
			}
		}
		delivered <- errors.New("watch channel closed")
	}()

	var n atomic.Int64
	res, err := closedLoop(ctx, r.cfg.Clients, r.cfg.Duration, func(ctx context.Context, w int) error {
		v := fmt.Sprintf("%019d", time.Now().UnixNano()) + r.value[19:]
		_, err := r.client(w).Put(ctx, key("watch", n.Add(1)), v)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := r.client(0).Put(ctx, end, "end"); err != nil {
		return err
	}
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case err := <-delivered:
		if err != nil {
			return err
		}
	case <-timer.C:
		return errors.New("watch did not deliver the end marker within 30s")
	}
	if len(lat) != len(res.Latencies) {
		return fmt.Errorf("watch delivered %d events for %d puts", len(lat), len(res.Latencies))
	}
	delivery := Result{Latencies: lat}
	slices.Sort(delivery.Latencies)
	r.res["watch-p99"] = ms(delivery.Percentile(0.99))
	r.cfg.Progress("watch delivery under %d-client puts (%.0f puts/s): p50 %.2f ms, p99 %.2f ms",
		r.cfg.Clients, res.Rate(), ms(delivery.Percentile(0.5)), ms(delivery.Percentile(0.99)))
	return nil
}

// preload writes keys name-0 ... name-(count-1) under ns, untimed.
func (r *Runner) preload(ctx context.Context, ns string, count int) error {
	return forEach(ctx, r.cfg.Clients, count, func(ctx context.Context, i int) error {
		_, err := r.client(i).Put(ctx, key(ns, int64(i)), r.value)
		return err
	})
}

func newClient(ctx context.Context, endpoints []string) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Context:     ctx,
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, err
	}
	// Connect before anything is timed.
	if _, err := cli.Get(ctx, "/registry/"); err != nil {
		cli.Close()
		return nil, err
	}
	return cli, nil
}
