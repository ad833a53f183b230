package pods

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports what runs on the node at scrape time: running pods and
// containers, restarts, and each running container's CPU and memory with
// cAdvisor's metric names, so existing dashboards work.
type Collector struct {
	m        *Manager
	pods     *prometheus.Desc
	ctrs     *prometheus.Desc
	restarts *prometheus.Desc
	cpu      *prometheus.Desc
	memWS    *prometheus.Desc
	memUsage *prometheus.Desc
}

// NewCollector returns the collector of m; register it on a registry.
func NewCollector(m *Manager) *Collector {
	labels := []string{"namespace", "pod", "container", "id"}
	return &Collector{
		m:        m,
		pods:     prometheus.NewDesc("kubelet_running_pods", "Number of pods that have a running pod sandbox.", nil, nil),
		ctrs:     prometheus.NewDesc("kubelet_running_containers", "Number of containers currently running.", []string{"container_state"}, nil),
		restarts: prometheus.NewDesc("kube_pod_container_status_restarts_total", "The number of container restarts per container.", []string{"namespace", "pod", "container"}, nil),
		cpu:      prometheus.NewDesc("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", labels, nil),
		memWS:    prometheus.NewDesc("container_memory_working_set_bytes", "Current working set in bytes.", labels, nil),
		memUsage: prometheus.NewDesc("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed.", labels, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pods, c.ctrs, c.restarts, c.cpu, c.memWS, c.memUsage} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch <- prometheus.MustNewConstMetric(c.pods, prometheus.GaugeValue, float64(c.m.RunningPods()))
	cs, err := c.m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return
	}
	states := map[runtime.State]int{}
	latest := map[[3]string]int{}
	for _, s := range cs {
		states[s.State]++
		key := [3]string{s.Labels[runtime.LabelPodNamespace], s.Labels[runtime.LabelPodName], s.Name}
		latest[key] = max(latest[key], s.Attempt)
		if s.State != runtime.StateRunning {
			continue
		}
		st, err := c.m.cfg.Runtime.Stats(ctx, s.ID)
		if err != nil {
			continue
		}
		lv := []string{key[0], key[1], key[2], s.ID}
		ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, float64(st.CPUUsageNanos)/1e9, lv...)
		ch <- prometheus.MustNewConstMetric(c.memWS, prometheus.GaugeValue, float64(st.MemoryWorkingSet), lv...)
		ch <- prometheus.MustNewConstMetric(c.memUsage, prometheus.GaugeValue, float64(st.MemoryUsage), lv...)
	}
	for state, n := range states {
		ch <- prometheus.MustNewConstMetric(c.ctrs, prometheus.GaugeValue, float64(n), string(state))
	}
	for key, attempt := range latest {
		ch <- prometheus.MustNewConstMetric(c.restarts, prometheus.CounterValue, float64(attempt), key[0], key[1], key[2])
	}
}
