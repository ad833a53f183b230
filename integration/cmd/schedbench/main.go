// Command schedbench measures gantry-scheduler through the real API
// server and store: it creates simulated nodes (Node objects with
// allocatable resources and a Ready condition, as Kubernetes'
// scheduler_perf does: no agents), then creates pods as fast as a pool of
// client-go clients can while one scheduler runs, and reports pods bound
// per second and the create-to-bound latency, for plain pods, pods with a
// zone topology spread constraint and pods with required anti-affinity.
// See docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
)

type config struct {
	nodes, pods, antiPods int
	creators              int
	zones                 int
	timeout               time.Duration
	markdown              bool
	profile               string
	apiProfile            string
	apiMemProfile         string
	storeProfile          string
	memProfile            string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.nodes, "nodes", 5000, "simulated nodes")
	flag.IntVar(&cfg.pods, "pods", 10000, "pods of the plain and the topology-spread workloads")
	flag.IntVar(&cfg.antiPods, "anti-pods", 2000, "pods of the anti-affinity workload (groups of 500 spread by host name)")
	flag.IntVar(&cfg.creators, "creators", 32, "concurrent clients creating pods")
	flag.IntVar(&cfg.zones, "zones", 10, "zones the nodes are spread over")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "give up on a workload after this long")
	flag.BoolVar(&cfg.markdown, "markdown", false, "print the table as Markdown")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "write a 10 s CPU profile of the scheduler during each workload to <prefix>.<n>.pprof")
	flag.StringVar(&cfg.apiProfile, "apiserver-cpuprofile", "", "write a 10 s CPU profile of the API server during each workload to <prefix>.<n>.pprof")
	flag.StringVar(&cfg.apiMemProfile, "apiserver-memprofile", "", "write a 10 s allocation profile (delta) of the API server during each workload to <prefix>.<n>.pprof")
	flag.StringVar(&cfg.storeProfile, "store-cpuprofile", "", "write a 10 s CPU profile of the store during each workload to <prefix>.<n>.pprof")
	flag.StringVar(&cfg.memProfile, "memprofile", "", "write a 10 s allocation profile (delta) of the scheduler during each workload to <prefix>.<n>.pprof")
	flag.Parse()
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer cluster.RemoveBuilt()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "schedbench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

type result struct {
	name       string
	pods       int
	throughput float64 // pods bound per second, first create to last bind
	p50, p99   time.Duration
	target     float64
	cpu        []float64 // CPU ms per pod of each of cpuNames, -1 if unknown
}

// cpuNames are the processes whose CPU time per pod the table reports:
// the store, the API server, the scheduler and this program (the
// creating clients and the watch).
var cpuNames = []string{"store", "apiserver", "scheduler", "clients"}

func run(ctx context.Context, cfg config) (err error) {
	flavor, err := cluster.LookupFlavor(cluster.Gantry)
	if err != nil {
		return err
	}
	var storeArgs []string
	if cfg.storeProfile != "" {
		storeArgs = append(storeArgs, "--enable-pprof")
	}
	store, err := cluster.Launch(ctx, cluster.Options{Flavor: flavor, Members: 1, Args: storeArgs})
	if err != nil {
		return fmt.Errorf("start gantry-store: %w", err)
	}
	defer store.Close()
	dir, err := os.MkdirTemp("", "gantry-schedbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp, err := controlplane.Launch(ctx, store, dir, controlplane.Options{})
	if err != nil {
		return fmt.Errorf("start gantry-apiserver: %w", err)
	}
	defer cp.Close()
	restCfg := &rest.Config{
		Host: cp.Servers[0].URL, BearerToken: cp.AdminToken, TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile},
		QPS: -1, ContentConfig: rest.ContentConfig{ContentType: "application/vnd.kubernetes.protobuf"}, UserAgent: "schedbench",
	}
	kube, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}

	logf("creating %d nodes", cfg.nodes)
	t0 := time.Now()
	if err := createNodes(ctx, kube, cfg); err != nil {
		return err
	}
	logf("nodes created in %v", time.Since(t0).Round(time.Millisecond))

	bin, err := cluster.Binary("scheduler", "gantry-scheduler")
	if err != nil {
		return err
	}
	token := filepath.Join(dir, "scheduler.token")
	if err := os.WriteFile(token, []byte(cp.AdminToken+"\n"), 0o600); err != nil {
		return err
	}
	sched := &cluster.Process{Name: "gantry-scheduler", LogPath: filepath.Join(dir, "scheduler.log")}
	ports, err := cluster.FreePorts(1)
	if err != nil {
		return err
	}
	metrics := "127.0.0.1:" + strconv.Itoa(ports[0])
	if err := sched.Start(bin, []string{"--api-servers", cp.Servers[0].URL, "--ca-file", cp.CAFile, "--token-file", token,
		"--leader-elect=false", "--metrics-address", metrics, "--profiling=" + strconv.FormatBool(cfg.profile != "" || cfg.memProfile != "")}); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fmt.Fprintf(os.Stderr, "--- scheduler log (tail):\n%s\n", sched.LogTail(30))
		}
		sched.Stop(10 * time.Second)
	}()

	if err := waitReady(ctx, metrics); err != nil {
		return err
	}
	pids := []func() int{store.Member(0).PID, cp.Servers[0].PID, sched.PID, func() int { return 0 }}
	var results []result
	workloads := []struct {
		name   string
		n      int
		target float64
		mk     func(i int) *corev1.Pod
	}{
		{"plain pods", cfg.pods, 1000, plainPod},
		{"pods with a zone topology spread constraint", cfg.pods, 300, spreadPod},
		{"pods with required anti-affinity (groups of 500)", cfg.antiPods, 0, antiPod},
	}
	// profiling tracks the profiles under way: one may outlast its
	// workload, and the next must not start before it ends.
	var profiling sync.WaitGroup
	defer profiling.Wait()
	for i, w := range workloads {
		if w.n == 0 {
			continue
		}
		profiling.Wait()
		ns := fmt.Sprintf("bench-%d", i)
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
		logf("workload: %d %s", w.n, w.name)
		if cfg.profile != "" {
			profiling.Go(func() { saveProfile(ctx, metrics, "profile", fmt.Sprintf("%s.%d.pprof", cfg.profile, i)) })
		}
		if cfg.memProfile != "" {
			profiling.Go(func() { saveProfile(ctx, metrics, "allocs", fmt.Sprintf("%s.%d.pprof", cfg.memProfile, i)) })
		}
		if cfg.apiProfile != "" {
			profiling.Go(func() { saveAPIServerProfile(ctx, restCfg, "profile", fmt.Sprintf("%s.%d.pprof", cfg.apiProfile, i)) })
		}
		if cfg.apiMemProfile != "" {
			profiling.Go(func() { saveAPIServerProfile(ctx, restCfg, "allocs", fmt.Sprintf("%s.%d.pprof", cfg.apiMemProfile, i)) })
		}
		if cfg.storeProfile != "" {
			profiling.Go(func() {
				fetchProfile(ctx, http.DefaultClient, store.Member(0).MetricsURL+"/debug/pprof/profile?seconds=10",
					fmt.Sprintf("%s.%d.pprof", cfg.storeProfile, i))
			})
		}
		cpu0 := cpuTimes(pids)
		r, err := measure(ctx, kube, cfg, ns, w.n, w.mk)
		if err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
		r.name, r.target = w.name, w.target
		r.cpu = perPod(cpu0, cpuTimes(pids), w.n)
		logf("  %.0f pods/s, create-to-bound p50 %v p99 %v", r.throughput, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond))
		logf("  CPU ms per pod (%s): %s", strings.Join(cpuNames, " / "), cpuCell(r.cpu))
		results = append(results, r)
		if err := sched.Crashed(); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
	}
	printTable(os.Stdout, cfg, results)
	return nil
}

// waitReady waits until the scheduler has synced its caches (all nodes
// known), so that no workload pays for its start.
func waitReady(ctx context.Context, addr string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scheduler not ready after a minute (last: %v)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// cpuTimes returns the CPU seconds each process has used so far, -1 for
// one that could not be read.
func cpuTimes(pids []func() int) []float64 {
	out := make([]float64, len(pids))
	for i, pid := range pids {
		s, err := cluster.CPUSeconds(pid())
		if err != nil {
			s = -1
		}
		out[i] = s
	}
	return out
}

// perPod turns two cpuTimes readings into CPU milliseconds per pod.
func perPod(before, after []float64, pods int) []float64 {
	out := make([]float64, len(before))
	for i := range before {
		out[i] = -1
		if before[i] >= 0 && after[i] >= 0 {
			out[i] = (after[i] - before[i]) * 1000 / float64(pods)
		}
	}
	return out
}

// saveProfile saves a 10 s profile of the scheduler: kind "profile"
// (CPU) or a named profile such as "allocs", whose samples are then the
// difference over the 10 s (pprof.Index serves named profiles as deltas
// when given seconds).
func saveProfile(ctx context.Context, addr, kind, file string) {
	fetchProfile(ctx, http.DefaultClient, "http://"+addr+"/debug/pprof/"+kind+"?seconds=10", file)
}

// saveAPIServerProfile saves a 10 s profile of the API server (kind as in
// saveProfile), which
// serves it to authenticated callers.
func saveAPIServerProfile(ctx context.Context, cfg *rest.Config, kind, file string) {
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	fetchProfile(ctx, &http.Client{Transport: rt}, cfg.Host+"/debug/pprof/"+kind+"?seconds=10", file)
}

func fetchProfile(ctx context.Context, client *http.Client, url, file string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
}

func createNodes(ctx context.Context, kube kubernetes.Interface, cfg config) error {
	return parallel(ctx, cfg.creators, cfg.nodes, func(i int) error {
		name := fmt.Sprintf("node-%05d", i)
		alloc := corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
			corev1.ResourcePods: resource.MustParse("110"),
		}
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				"kubernetes.io/hostname":      name,
				"topology.kubernetes.io/zone": "zone-" + strconv.Itoa(i%cfg.zones),
			}},
			Status: corev1.NodeStatus{Capacity: alloc, Allocatable: alloc, Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "Simulated", LastHeartbeatTime: metav1.Now(),
			}}},
		}
		_, err := kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		return err
	})
}

func basePod(name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "gantry.local/busybox:latest",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi"),
			}},
		}}},
	}
}

func plainPod(i int) *corev1.Pod {
	return basePod(fmt.Sprintf("p-%05d", i), map[string]string{"app": "plain"})
}

func spreadPod(i int) *corev1.Pod {
	p := basePod(fmt.Sprintf("s-%05d", i), map[string]string{"app": "spread"})
	p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
	}}
	return p
}

func antiPod(i int) *corev1.Pod {
	group := "anti-" + strconv.Itoa(i/500)
	p := basePod(fmt.Sprintf("a-%05d", i), map[string]string{"app": group})
	p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": group}},
			TopologyKey:   "kubernetes.io/hostname",
		}},
	}}
	return p
}

// measure creates n pods in ns with creators clients and waits until
// all are bound; per pod, the time from its create call to the first
// watch event showing spec.nodeName.
func measure(ctx context.Context, kube kubernetes.Interface, cfg config, ns string, n int, mk func(int) *corev1.Pod) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	w, err := kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return result{}, err
	}
	defer w.Stop()
	created := make([]time.Time, n)
	var mu sync.Mutex
	bound := map[string]time.Time{}
	index := map[string]int{}
	for i := range n {
		index[mk(i).Name] = i
	}
	done := make(chan struct{})
	var lastBind atomic.Int64
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Spec.NodeName == "" {
				continue
			}
			now := time.Now()
			mu.Lock()
			if _, seen := bound[p.Name]; !seen {
				bound[p.Name] = now
				lastBind.Store(now.UnixNano())
				if len(bound) == n {
					mu.Unlock()
					return
				}
			}
			mu.Unlock()
		}
	}()
	start := time.Now()
	if err := parallel(ctx, cfg.creators, n, func(i int) error {
		created[i] = time.Now()
		_, err := kube.CoreV1().Pods(ns).Create(ctx, mk(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		return result{}, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		got := len(bound)
		mu.Unlock()
		return result{}, fmt.Errorf("only %d of %d pods bound after %v", got, n, cfg.timeout)
	}
	lat := make([]time.Duration, 0, n)
	for name, t := range bound {
		lat = append(lat, t.Sub(created[index[name]]))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	elapsed := time.Unix(0, lastBind.Load()).Sub(start)
	return result{
		pods: n, throughput: float64(n) / elapsed.Seconds(),
		p50: lat[len(lat)/2], p99: lat[min(len(lat)-1, len(lat)*99/100)],
	}, nil
}

func parallel(ctx context.Context, workers, n int, do func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func printTable(out io.Writer, cfg config, rs []result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }
	rows := [][]string{{"workload", "pods", "pods/s", "create-to-bound p50 (ms)", "p99 (ms)", "CPU ms per pod (store / apiserver / scheduler / clients)", "target (pods/s)"}}
	for _, r := range rs {
		target := ""
		if r.target > 0 {
			verdict := "met"
			if r.throughput < r.target {
				verdict = "MISSED"
			}
			target = fmt.Sprintf(">= %.0f: %s", r.target, verdict)
		}
		rows = append(rows, []string{r.name, strconv.Itoa(r.pods), fmt.Sprintf("%.0f", r.throughput), ms(r.p50), ms(r.p99), cpuCell(r.cpu), target})
	}
	rows = append(rows, []string{"reference: kube-scheduler CI threshold, 5000 nodes (larger machines)", "", "~680", "", "", "", ""})
	fmt.Fprintf(out, "%d nodes, %d creating clients, control plane and scheduler on this machine\n", cfg.nodes, cfg.creators)
	if cfg.markdown {
		for i, r := range rows {
			fmt.Fprintf(out, "| %s |\n", strings.Join(r, " | "))
			if i == 0 {
				fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | --- |")
			}
		}
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// cpuCell is the table's CPU column: per process, then the sum.
func cpuCell(cpu []float64) string {
	var parts []string
	total := 0.0
	for _, v := range cpu {
		if v < 0 {
			parts = append(parts, "?")
			continue
		}
		total += v
		parts = append(parts, fmt.Sprintf("%.2f", v))
	}
	return fmt.Sprintf("%s = %.2f", strings.Join(parts, " / "), total)
}
