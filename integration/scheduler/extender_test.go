package scheduler_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// An HTTP extender written in "another language" (here a test handler
// speaking Kubernetes' extender JSON) filters and prioritizes nodes.
func TestExtender(t *testing.T) {
	t.Parallel()
	var filters, prioritizes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /scheduler/filter", func(w http.ResponseWriter, r *http.Request) {
		filters.Add(1)
		var args struct {
			Pod   *corev1.Pod      `json:"pod"`
			Nodes *corev1.NodeList `json:"nodes"`
		}
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil || args.Nodes == nil {
			http.Error(w, fmt.Sprint("bad args: ", err), http.StatusBadRequest)
			return
		}
		kept := &corev1.NodeList{}
		failed := map[string]string{}
		for _, n := range args.Nodes.Items {
			if n.Labels["extender-ok"] == "yes" {
				kept.Items = append(kept.Items, n)
			} else {
				failed[n.Name] = "extender says no"
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"nodes": kept, "failedNodes": failed})
	})
	mux.HandleFunc("POST /scheduler/prioritize", func(w http.ResponseWriter, r *http.Request) {
		prioritizes.Add(1)
		var args struct {
			Nodes *corev1.NodeList `json:"nodes"`
		}
		json.NewDecoder(r.Body).Decode(&args)
		var out []map[string]any
		for _, n := range args.Nodes.Items {
			score := 0
			if n.Name == "favourite" {
				score = 10
			}
			out = append(out, map[string]any{"host": n.Name, "score": score})
		}
		json.NewEncoder(w).Encode(out)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	e := newEnv(t)
	e.startScheduler(fmt.Sprintf(`apiVersion: gantry.dev/v1alpha1
kind: SchedulerConfiguration
extenders:
- urlPrefix: %s/scheduler
  filterVerb: filter
  prioritizeVerb: prioritize
  weight: 5
`, srv.URL))
	e.addNode(nodeSpec{name: "refused"})
	e.addNode(nodeSpec{name: "plain", labels: map[string]string{"extender-ok": "yes"}})
	e.addNode(nodeSpec{name: "favourite", labels: map[string]string{"extender-ok": "yes"}})
	for i := range 3 {
		name := fmt.Sprintf("ext-%d", i)
		e.create(pod(name, ""))
		if node := e.waitScheduled(name); node != "favourite" {
			t.Fatalf("%s on %s, want favourite (extender's top score)", name, node)
		}
	}
	if filters.Load() == 0 || prioritizes.Load() == 0 {
		t.Fatalf("extender calls: %d filter, %d prioritize", filters.Load(), prioritizes.Load())
	}
}
