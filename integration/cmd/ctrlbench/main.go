// Command ctrlbench measures gantry-controllers with the whole control
// plane through the real API server and store: a store, an API server, a
// scheduler, the controllers and one gantry-agent simulating many nodes
// (--simulate-nodes: real node agents on an in-memory runtime, so pods
// really are bound, "started" and reported Running and Ready). It then
//
//  1. scales a Deployment from 0 to 10,000 replicas and measures the time
//     until the Deployment is Available with every replica available
//     (the target: 60 s on this machine, control plane included);
//  2. rolls a Deployment of 1,000 replicas to a new template and measures
//     the time until `kubectl rollout status` would report success.
//
// Each daemon's CPU time per phase is reported too. See
// docs/benchmarks.md.
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
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
)

type config struct {
	nodes, replicas, rollReplicas int
	timeout                       time.Duration
	markdown                      bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.nodes, "nodes", 100, "simulated nodes (110 pods each)")
	flag.IntVar(&cfg.replicas, "replicas", 10000, "replicas of the scale-up")
	flag.IntVar(&cfg.rollReplicas, "roll-replicas", 1000, "replicas of the rolling update")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "give up on a phase after this long")
	flag.BoolVar(&cfg.markdown, "markdown", false, "print the table as Markdown")
	flag.Parse()
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer cluster.RemoveBuilt()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ctrlbench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// daemons are the processes whose CPU time is reported, by their PIDs.
type daemons map[string]func() int

func (d daemons) cpu() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range d {
		if s, err := cluster.CPUSeconds(pid()); err == nil {
			out[name] = s
		}
	}
	return out
}

type result struct {
	name    string
	elapsed time.Duration
	target  time.Duration
	cpu     map[string]float64
}

func run(ctx context.Context, cfg config) (err error) {
	flavor, err := cluster.LookupFlavor(cluster.Gantry)
	if err != nil {
		return err
	}
	store, err := cluster.Launch(ctx, cluster.Options{Flavor: flavor, Members: 1})
	if err != nil {
		return fmt.Errorf("start gantry-store: %w", err)
	}
	defer store.Close()
	dir, err := os.MkdirTemp("", "gantry-ctrlbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp, err := controlplane.Launch(ctx, store, dir, controlplane.Options{})
	if err != nil {
		return fmt.Errorf("start gantry-apiserver: %w", err)
	}
	defer cp.Close()
	kube, err := kubernetes.NewForConfig(&rest.Config{
		Host: cp.Servers[0].URL, BearerToken: cp.AdminToken, TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile},
		QPS: -1, ContentConfig: rest.ContentConfig{ContentType: "application/vnd.kubernetes.protobuf"}, UserAgent: "ctrlbench",
	})
	if err != nil {
		return err
	}
	token := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(token, []byte(cp.AdminToken+"\n"), 0o600); err != nil {
		return err
	}
	common := []string{"--api-servers", cp.Servers[0].URL, "--ca-file", cp.CAFile, "--token-file", token}
	procs := map[string]*cluster.Process{}
	cpus := daemons{"gantry-store": store.Member(0).PID, "gantry-apiserver": cp.Servers[0].PID}
	start := func(svc, name string, args ...string) (string, error) {
		bin, err := cluster.Binary(svc, name)
		if err != nil {
			return "", err
		}
		ports, err := cluster.FreePorts(2)
		if err != nil {
			return "", err
		}
		addr := "127.0.0.1:" + strconv.Itoa(ports[0])
		if svc == "agent" {
			args = append(args, "--healthz-address", addr, "--address", "127.0.0.1:"+strconv.Itoa(ports[1]))
		} else {
			args = append(args, "--metrics-address", addr)
		}
		p := &cluster.Process{Name: name, LogPath: filepath.Join(dir, name+".log")}
		if err := p.Start(bin, append(append([]string{}, common...), args...)); err != nil {
			return "", err
		}
		procs[name] = p
		cpus[name] = p.PID
		return addr, nil
	}
	defer func() {
		for name, p := range procs {
			if err != nil {
				fmt.Fprintf(os.Stderr, "--- %s log (tail):\n%s\n", name, p.LogTail(20))
			}
			p.Stop(15 * time.Second)
		}
	}()
	logf("starting %d simulated nodes, the scheduler and the controllers", cfg.nodes)
	if _, err := start("agent", "gantry-agent", "--runtime", "fake", "--simulate-nodes", strconv.Itoa(cfg.nodes),
		"--hostname-override", "sim", "--max-pods", "110", "--root-dir", filepath.Join(dir, "agent"),
		"--pod-log-dir", filepath.Join(dir, "pod-logs")); err != nil {
		return err
	}
	schedAddr, err := start("scheduler", "gantry-scheduler", "--leader-elect=false")
	if err != nil {
		return err
	}
	ctrlAddr, err := start("controllers", "gantry-controllers", "--leader-elect=false")
	if err != nil {
		return err
	}
	for _, addr := range []string{schedAddr, ctrlAddr} {
		if err := waitReady(ctx, addr); err != nil {
			return err
		}
	}
	if err := waitNodes(ctx, kube, cfg.nodes); err != nil {
		return err
	}

	var results []result
	// 1. Scale up.
	if _, err := kube.AppsV1().Deployments("default").Create(ctx, deployment("scale", 0), metav1.CreateOptions{}); err != nil {
		return err
	}
	logf("scaling deployment scale from 0 to %d", cfg.replicas)
	cpu0 := cpus.cpu()
	t0 := time.Now()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, cfg.replicas)
	if _, err := kube.AppsV1().Deployments("default").Patch(ctx, "scale", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return err
	}
	if err := waitRolledOut(ctx, kube, "scale", int32(cfg.replicas), cfg.timeout); err != nil {
		return err
	}
	results = append(results, result{
		name: fmt.Sprintf("Deployment 0 → %d replicas, all available", cfg.replicas), elapsed: time.Since(t0),
		target: time.Minute, cpu: diff(cpus.cpu(), cpu0),
	})
	logf("  %v", results[len(results)-1].elapsed.Round(time.Millisecond))
	// Free the nodes for the rolling update.
	if err := kube.AppsV1().Deployments("default").Delete(ctx, "scale", metav1.DeleteOptions{}); err != nil {
		return err
	}
	if err := waitNoPods(ctx, kube, cfg.timeout); err != nil {
		return err
	}

	// 2. Rolling update.
	if cfg.rollReplicas > 0 {
		logf("creating deployment roll with %d replicas", cfg.rollReplicas)
		if _, err := kube.AppsV1().Deployments("default").Create(ctx, deployment("roll", int32(cfg.rollReplicas)), metav1.CreateOptions{}); err != nil {
			return err
		}
		if err := waitRolledOut(ctx, kube, "roll", int32(cfg.rollReplicas), cfg.timeout); err != nil {
			return err
		}
		logf("rolling deployment roll to a new template")
		cpu0 := cpus.cpu()
		t0 := time.Now()
		patch := `{"spec":{"template":{"metadata":{"annotations":{"bench/rev":"2"}}}}}`
		if _, err := kube.AppsV1().Deployments("default").Patch(ctx, "roll", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return err
		}
		if err := waitRolledOut(ctx, kube, "roll", int32(cfg.rollReplicas), cfg.timeout); err != nil {
			return err
		}
		results = append(results, result{
			name: fmt.Sprintf("rolling update of %d replicas (25%% surge, 25%% unavailable)", cfg.rollReplicas), elapsed: time.Since(t0),
			cpu: diff(cpus.cpu(), cpu0),
		})
		logf("  %v", results[len(results)-1].elapsed.Round(time.Millisecond))
	}
	for name, p := range procs {
		if err := p.Crashed(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	printTable(os.Stdout, cfg, results)
	return nil
}

func diff(a, b map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range a {
		out[k] = v - b[k]
	}
	return out
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "c", Image: "gantry.local/busybox:latest", Command: []string{"sleep", "3600"},
				}}},
			},
		},
	}
}

// waitRolledOut waits until the Deployment is as `kubectl rollout status`
// wants it: observed, every replica updated and available, no old ones.
func waitRolledOut(ctx context.Context, kube kubernetes.Interface, name string, replicas int32, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := time.Now()
	for {
		d, err := kube.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			s := d.Status
			if s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == replicas && s.Replicas == replicas &&
				s.AvailableReplicas == replicas && available(d) {
				return nil
			}
			if time.Since(last) > 5*time.Second {
				logf("  %s: replicas %d updated %d ready %d available %d", name, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas)
				last = time.Now()
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deployment %s not rolled out within %v (last error %v)", name, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitNoPods(ctx context.Context, kube kubernetes.Interface, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pods, err := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err == nil && len(pods.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			n := -1
			if pods != nil {
				n = len(pods.Items)
			}
			return fmt.Errorf("%d pods left after %v (last error %v)", n, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func waitNodes(ctx context.Context, kube kubernetes.Interface, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		ready := 0
		if err == nil {
			for _, node := range nodes.Items {
				for _, c := range node.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
			if ready == n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes ready after 2m (last error %v)", ready, n, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

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
			return fmt.Errorf("%s not ready after a minute (last: %v)", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var cpuOrder = []string{"gantry-store", "gantry-apiserver", "gantry-scheduler", "gantry-controllers", "gantry-agent"}

func printTable(w io.Writer, cfg config, results []result) {
	header := []string{"phase", "elapsed", "target"}
	for _, n := range cpuOrder {
		header = append(header, strings.TrimPrefix(n, "gantry-")+" CPU s")
	}
	rows := [][]string{header}
	for _, r := range results {
		target := "—"
		if r.target > 0 {
			verdict := "met"
			if r.elapsed > r.target {
				verdict = "MISSED"
			}
			target = fmt.Sprintf("≤ %v (%s)", r.target, verdict)
		}
		row := []string{r.name, fmt.Sprintf("%.1f s", r.elapsed.Seconds()), target}
		for _, n := range cpuOrder {
			row = append(row, fmt.Sprintf("%.1f", r.cpu[n]))
		}
		rows = append(rows, row)
	}
	fmt.Fprintf(w, "gantry-controllers: %d simulated nodes, one store member, one API server, scheduler, controllers\n", cfg.nodes)
	if cfg.markdown {
		for i, row := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
			if i == 0 {
				fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(row)))
			}
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}
