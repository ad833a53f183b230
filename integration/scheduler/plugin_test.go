package scheduler_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// A scheduler built with an out-of-tree plugin (services/scheduler/
// examples: a ten-line main calling app.Main with app.WithPlugin) runs it
// where its configuration file enables it.
func TestOutOfTreePlugin(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "custom-scheduler")
	build := exec.Command("go", "build", "-o", bin, "./examples/custom-scheduler")
	build.Dir = filepath.Join("..", "..", "services", "scheduler")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/custom-scheduler: %v\n%s", err, out)
	}
	e := newEnv(t)
	e.startSchedulerBinary(bin, `apiVersion: gantry.dev/v1alpha1
kind: SchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    multiPoint:
      enabled: [{name: LabelPreference, weight: 10}]
  pluginConfig:
  - name: LabelPreference
    args: {preferLabel: disk, preferValue: ssd}
`)
	e.addNode(nodeSpec{name: "avoided", labels: map[string]string{"example.gantry.dev/avoid": "true", "disk": "ssd"}})
	e.addNode(nodeSpec{name: "hdd", labels: map[string]string{"disk": "hdd"}})
	e.addNode(nodeSpec{name: "ssd", labels: map[string]string{"disk": "ssd"}})
	e.create(pod("picky", ""))
	if node := e.waitScheduled("picky"); node != "ssd" {
		t.Fatalf("picky on %s, want ssd", node)
	}
	p := pod("nowhere", "")
	p.Spec.NodeSelector = map[string]string{"example.gantry.dev/avoid": "true"}
	e.create(p)
	e.waitUnschedulable("nowhere", "0/3 nodes are available: 1 node(s) are to be avoided, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
}
