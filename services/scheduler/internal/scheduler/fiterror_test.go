package scheduler

import (
	"testing"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

func TestFitErrorMessage(t *testing.T) {
	taint := "node(s) had untolerated taint {dedicated: gpu}"
	e := &fitError{numNodes: 5, rejected: framework.NodeToStatus{
		"a": framework.NewStatus(framework.Unschedulable, "Insufficient cpu").WithPlugin("NodeResourcesFit"),
		"b": framework.NewStatus(framework.Unschedulable, "Insufficient cpu", "Insufficient memory").WithPlugin("NodeResourcesFit"),
		"c": framework.NewStatus(framework.UnschedulableAndUnresolvable, taint).WithPlugin("TaintToleration"),
		"d": framework.NewStatus(framework.UnschedulableAndUnresolvable, taint).WithPlugin("TaintToleration"),
		"e": framework.NewStatus(framework.UnschedulableAndUnresolvable, taint).WithPlugin("TaintToleration"),
	}}
	want := "0/5 nodes are available: 1 Insufficient memory, 2 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: gpu}."
	if got := e.Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if p := e.rejectingPlugins(); !p["NodeResourcesFit"] || !p["TaintToleration"] || len(p) != 2 {
		t.Errorf("rejecting plugins %v", p)
	}
	e.postFilter = "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
	if got := e.Error(); got != want+" "+e.postFilter {
		t.Errorf("with preemption: %q", got)
	}
	none := &fitError{numNodes: 0, rejected: framework.NodeToStatus{}}
	if got := none.Error(); got != "0/0 nodes are available." {
		t.Errorf("no nodes: %q", got)
	}
}

func TestPreemptionSummary(t *testing.T) {
	st := framework.NewStatus(framework.Unschedulable, "Preemption is not helpful for scheduling",
		"No preemption victims found for incoming pod", "Preemption is not helpful for scheduling")
	if got, want := preemptionSummary(st, 3), "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	st = framework.NewStatus(framework.Unschedulable, "not eligible due to preemptionPolicy=Never")
	if got, want := preemptionSummary(st, 3), "preemption: not eligible due to preemptionPolicy=Never."; got != want {
		t.Errorf("got %q", got)
	}
}
