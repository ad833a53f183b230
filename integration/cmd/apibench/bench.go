package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/integration/controlplane"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const namespace = "bench"

type bench struct {
	cfg     config
	store   string
	restCfg *rest.Config
	client  *kubernetes.Clientset
	created atomic.Int64
}

func newBench(cp *controlplane.ControlPlane, cfg config, store string) (*bench, error) {
	rc := &rest.Config{
		Host:            cp.Servers[0].URL,
		BearerToken:     cp.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile},
		ContentConfig: rest.ContentConfig{
			ContentType:        "application/vnd.kubernetes.protobuf",
			AcceptContentTypes: "application/vnd.kubernetes.protobuf,application/json",
		},
		QPS:       -1,
		UserAgent: "apibench",
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	_, err = client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	return &bench{cfg: cfg, store: store, restCfg: rc, client: client}, nil
}

// pod is a small pod like the ones controllers create.
func pod(n int64) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "pod-" + strconv.FormatInt(n, 10), Namespace: namespace,
			Labels: map[string]string{"app": "bench", "tier": "web"},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "registry.local/bench:1.0",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
}

// creates runs cfg.clients goroutines creating cfg.creates pods and
// returns the latency distribution.
func (b *bench) creates(ctx context.Context) (latency, error) {
	n := int64(b.cfg.creates)
	if b.cfg.profile != "" {
		go b.cpuProfile(ctx, b.cfg.profile+"."+b.store+".pprof", 2)
	}
	lat, err := b.createPods(ctx, n)
	if err != nil {
		return latency{}, err
	}
	fmt.Fprintf(os.Stderr, "   create: %d pods, %.0f/s, p50 %v, p99 %v\n", n, lat.rate, lat.p(50), lat.p(99))
	return lat, nil
}

func (b *bench) createPods(ctx context.Context, n int64) (latency, error) {
	var (
		mu   sync.Mutex
		all  []time.Duration
		wg   sync.WaitGroup
		errs = make(chan error, b.cfg.clients)
		left atomic.Int64
	)
	left.Store(n)
	start := time.Now()
	for range b.cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for left.Add(-1) >= 0 && ctx.Err() == nil {
				t := time.Now()
				_, err := b.client.CoreV1().Pods(namespace).Create(ctx, pod(b.created.Add(1)), metav1.CreateOptions{})
				if err != nil {
					errs <- err
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return latency{}, err
	default:
	}
	return newLatency(all, time.Since(start)), ctx.Err()
}

// fill creates pods until the namespace holds cfg.pods.
func (b *bench) fill(ctx context.Context) error {
	missing := int64(b.cfg.pods) - b.created.Load()
	if missing <= 0 {
		return nil
	}
	_, err := b.createPods(ctx, missing)
	return err
}

// lists times cfg.lists LISTs of the namespace at resourceVersion rv ("0":
// from the watch cache, "": consistent).
func (b *bench) lists(ctx context.Context, rv string) (latency, error) {
	var all []time.Duration
	for range b.cfg.lists + 1 {
		t := time.Now()
		list, err := b.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			return latency{}, err
		}
		if len(list.Items) < b.cfg.pods {
			return latency{}, fmt.Errorf("listed %d pods, want %d", len(list.Items), b.cfg.pods)
		}
		all = append(all, time.Since(t))
	}
	lat := newLatency(all[1:], 0) // the first warms the connection
	fmt.Fprintf(os.Stderr, "   list rv=%q of %d pods: p50 %v, max %v\n", rv, b.cfg.pods, lat.p(50), lat.p(100))
	return lat, nil
}

// fanout starts cfg.watchers watches on one ConfigMap, then updates it
// cfg.writes times and records when each watcher sees each write.
func (b *bench) fanout(ctx context.Context) (latency, error) {
	cms := b.client.CoreV1().ConfigMaps(namespace)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fanout"}}, metav1.CreateOptions{})
	if err != nil {
		return latency{}, err
	}
	// Watches spread over several connections, as many clients would.
	const perConn = 100
	var watchers []watch.Interface
	defer func() {
		for _, w := range watchers {
			w.Stop()
		}
	}()
	var client *kubernetes.Clientset
	for i := range b.cfg.watchers {
		if i%perConn == 0 {
			rc := rest.CopyConfig(b.restCfg)
			if client, err = kubernetes.NewForConfig(rc); err != nil {
				return latency{}, err
			}
		}
		w, err := client.CoreV1().ConfigMaps(namespace).Watch(ctx, metav1.ListOptions{
			FieldSelector: "metadata.name=fanout", ResourceVersion: cm.ResourceVersion,
		})
		if err != nil {
			return latency{}, err
		}
		watchers = append(watchers, w)
	}
	var (
		mu    sync.Mutex
		sent  = map[string]time.Time{}
		all   []time.Duration
		wg    sync.WaitGroup
		total = b.cfg.writes
	)
	for _, w := range watchers {
		wg.Add(1)
		go func(w watch.Interface) {
			defer wg.Done()
			seen := 0
			for ev := range w.ResultChan() {
				got := time.Now()
				obj, ok := ev.Object.(*corev1.ConfigMap)
				if !ok {
					continue
				}
				mu.Lock()
				if t, ok := sent[obj.Data["seq"]]; ok {
					all = append(all, got.Sub(t))
					seen++
				}
				mu.Unlock()
				if seen == total {
					return
				}
			}
		}(w)
	}
	for i := range total {
		seq := strconv.Itoa(i)
		next := cm.DeepCopy()
		next.Data = map[string]string{"seq": seq}
		mu.Lock()
		sent[seq] = time.Now()
		mu.Unlock()
		if cm, err = cms.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return latency{}, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		return latency{}, fmt.Errorf("watchers saw %d of %d events", len(all), total*b.cfg.watchers)
	}
	lat := newLatency(all, 0)
	fmt.Fprintf(os.Stderr, "   fan-out to %d watchers: p50 %v, p99 %v\n", b.cfg.watchers, lat.p(50), lat.p(99))
	return lat, nil
}

// latency is a sorted sample.
type latency struct {
	sorted []time.Duration
	rate   float64
}

func newLatency(d []time.Duration, elapsed time.Duration) latency {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	l := latency{sorted: d}
	if elapsed > 0 {
		l.rate = float64(len(d)) / elapsed.Seconds()
	}
	return l
}

// p returns the q-th percentile (100 = max).
func (l latency) p(q float64) time.Duration {
	if len(l.sorted) == 0 {
		return 0
	}
	i := int(q / 100 * float64(len(l.sorted)-1))
	return l.sorted[i].Round(10 * time.Microsecond)
}

type result struct {
	store                                     string
	create, listCache, listConsistent, fanout latency
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

func printTable(w io.Writer, cfg config, rs []result) {
	fmt.Fprintf(w, "\n| workload | target |")
	for _, r := range rs {
		fmt.Fprintf(w, " on %s |", r.store)
	}
	fmt.Fprintf(w, "\n| --- | ---: |")
	for range rs {
		fmt.Fprintf(w, " ---: |")
	}
	fmt.Fprintln(w)
	row := func(name, target string, f func(r result) string) {
		fmt.Fprintf(w, "| %s | %s |", name, target)
		for _, r := range rs {
			fmt.Fprintf(w, " %s |", f(r))
		}
		fmt.Fprintln(w)
	}
	row(fmt.Sprintf("pod create, %d clients (creates/s)", cfg.clients), "", func(r result) string { return fmt.Sprintf("%.0f", r.create.rate) })
	row("pod create p50 (ms)", "", func(r result) string { return ms(r.create.p(50)) })
	row("pod create p99 (ms)", "<= 50", func(r result) string { return ms(r.create.p(99)) })
	row(fmt.Sprintf("LIST %d pods from the watch cache, p50 (ms)", cfg.pods), "<= 300", func(r result) string { return ms(r.listCache.p(50)) })
	row(fmt.Sprintf("LIST %d pods, consistent, p50 (ms)", cfg.pods), "<= 300", func(r result) string { return ms(r.listConsistent.p(50)) })
	row(fmt.Sprintf("LIST %d pods, consistent, max (ms)", cfg.pods), "", func(r result) string { return ms(r.listConsistent.p(100)) })
	row(fmt.Sprintf("watch fan-out to %d watchers, p50 (ms)", cfg.watchers), "", func(r result) string { return ms(r.fanout.p(50)) })
	row(fmt.Sprintf("watch fan-out to %d watchers, p99 (ms)", cfg.watchers), "<= 100", func(r result) string { return ms(r.fanout.p(99)) })
	fmt.Fprintln(w, "\nKubernetes' SLOs for reference: mutating calls p99 <= 1 s, cluster-wide LIST p99 <= 30 s.")
}

// cpuProfile saves the API server's CPU profile over the next seconds.
func (b *bench) cpuProfile(ctx context.Context, file string, seconds int) {
	rt, err := rest.TransportFor(b.restCfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "   profile:", err)
		return
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", b.restCfg.Host, seconds), nil)
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "   profile:", err)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "   profile:", err)
	}
}
