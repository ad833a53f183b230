package config

import (
	"strings"
	"testing"
)

func names(refs []PluginRef) map[string]int64 {
	out := map[string]int64{}
	for _, r := range refs {
		out[r.Name] = r.Weight
	}
	return out
}

func TestDefaults(t *testing.T) {
	c := Default()
	if len(c.Profiles) != 1 || c.Profiles[0].SchedulerName != "default-scheduler" || c.Parallelism != 16 {
		t.Fatalf("defaults: %+v", c)
	}
	got := names(c.Profiles[0].EnabledPlugins())
	if got["TaintToleration"] != 3 || got["NodeAffinity"] != 2 || got["PodTopologySpread"] != 2 || len(got) != len(DefaultPlugins) {
		t.Fatalf("default plugins: %v", got)
	}
}

func TestProfiles(t *testing.T) {
	c, err := Parse([]byte(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: gpu-scheduler
  plugins:
    multiPoint:
      enabled: [{name: MyPlugin, weight: 4}]
      disabled: [{name: ImageLocality}]
    score:
      enabled: [{name: NodeAffinity, weight: 7}]
      disabled: [{name: NodeResourcesBalancedAllocation}]
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
`))
	if err != nil {
		t.Fatal(err)
	}
	gpu := c.Profiles[1]
	got := names(gpu.EnabledPlugins())
	if _, ok := got["ImageLocality"]; ok {
		t.Error("disabled plugin enabled")
	}
	if got["MyPlugin"] != 4 || got["NodeAffinity"] != 7 || got["NodeResourcesBalancedAllocation"] != -1 {
		t.Errorf("plugins: %v", got)
	}
	if string(gpu.Args()["NodeResourcesFit"]) != `{"scoringStrategy":{"type":"MostAllocated"}}` {
		t.Errorf("args: %s", gpu.Args()["NodeResourcesFit"])
	}
	all, err := Parse([]byte("profiles:\n- plugins: {multiPoint: {disabled: [{name: '*'}], enabled: [{name: DefaultBinder}]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(all.Profiles[0].EnabledPlugins()); len(got) != 1 {
		t.Errorf("'*' left %v", got)
	}
}

func TestBadConfigurations(t *testing.T) {
	for doc, want := range map[string]string{
		"parallelism: 0\nprofiles: []\npercentageOfNodesToScore: 120": "percentageOfNodesToScore",
		"profiles: [{schedulerName: a}, {schedulerName: a}]":          "duplicate",
		"profilez: []":     "unknown field",
		"kind: Deployment": "unknown kind",
		"apiVersion: v2":   "unknown apiVersion",
		"podMaxBackoffSeconds: -1\npodInitialBackoffSeconds: 5": "podInitialBackoffSeconds",
	} {
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", doc, err, want)
		}
	}
}
