// Package config reads the scheduler's configuration file, a YAML (or
// JSON) document in the spirit of KubeSchedulerConfiguration:
//
//	apiVersion: gantry.dev/v1alpha1      # kubescheduler.config.k8s.io/v1 is accepted too
//	kind: SchedulerConfiguration         # or KubeSchedulerConfiguration
//	parallelism: 16
//	percentageOfNodesToScore: 0          # 0: adaptive
//	podInitialBackoffSeconds: 1
//	podMaxBackoffSeconds: 10
//	profiles:
//	- schedulerName: default-scheduler
//	  plugins:
//	    multiPoint:                      # enabled at every extension point they implement
//	      enabled:  [{name: MyPlugin, weight: 2}]
//	      disabled: [{name: ImageLocality}]   # "*" disables every default plugin
//	    score:
//	      enabled:  [{name: NodeAffinity, weight: 5}]  # sets a score weight
//	      disabled: [{name: NodeResourcesBalancedAllocation}]  # keeps its other points, no score
//	  pluginConfig:
//	  - name: NodeResourcesFit
//	    args: {scoringStrategy: {type: MostAllocated}}
//	extenders:
//	- urlPrefix: http://127.0.0.1:8888/
//	  filterVerb: filter
//	  weight: 1
//
// A plugin enabled under any other extension point's list is enabled as
// with multiPoint; disabling it there disables it altogether (except
// under score, see above).
package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// PluginRef names a plugin, with a score weight.
type PluginRef struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// PluginSet enables and disables plugins.
type PluginSet struct {
	Enabled  []PluginRef `json:"enabled,omitempty"`
	Disabled []PluginRef `json:"disabled,omitempty"`
}

// Plugins are the per-extension-point sets.
type Plugins struct {
	MultiPoint PluginSet `json:"multiPoint,omitempty"`
	QueueSort  PluginSet `json:"queueSort,omitempty"`
	PreFilter  PluginSet `json:"preFilter,omitempty"`
	Filter     PluginSet `json:"filter,omitempty"`
	PostFilter PluginSet `json:"postFilter,omitempty"`
	PreScore   PluginSet `json:"preScore,omitempty"`
	Score      PluginSet `json:"score,omitempty"`
	Reserve    PluginSet `json:"reserve,omitempty"`
	Permit     PluginSet `json:"permit,omitempty"`
	PreBind    PluginSet `json:"preBind,omitempty"`
	Bind       PluginSet `json:"bind,omitempty"`
	PostBind   PluginSet `json:"postBind,omitempty"`
}

// PluginConfig is one plugin's arguments.
type PluginConfig struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Profile is one scheduler name with its plugins.
type Profile struct {
	SchedulerName string         `json:"schedulerName"`
	Plugins       *Plugins       `json:"plugins,omitempty"`
	PluginConfig  []PluginConfig `json:"pluginConfig,omitempty"`
}

// Configuration is the whole file.
type Configuration struct {
	APIVersion               string            `json:"apiVersion,omitempty"`
	Kind                     string            `json:"kind,omitempty"`
	Parallelism              int               `json:"parallelism,omitempty"`
	PercentageOfNodesToScore int32             `json:"percentageOfNodesToScore,omitempty"`
	PodInitialBackoffSeconds int64             `json:"podInitialBackoffSeconds,omitempty"`
	PodMaxBackoffSeconds     int64             `json:"podMaxBackoffSeconds,omitempty"`
	Profiles                 []Profile         `json:"profiles,omitempty"`
	Extenders                []json.RawMessage `json:"extenders,omitempty"`
}

// DefaultPlugins are enabled in every profile unless disabled, with
// Kubernetes' default score weights.
var DefaultPlugins = []PluginRef{
	{Name: "PrioritySort"},
	{Name: "NodeUnschedulable"},
	{Name: "NodeName"},
	{Name: "TaintToleration", Weight: 3},
	{Name: "NodeAffinity", Weight: 2},
	{Name: "NodePorts"},
	{Name: "NodeResourcesFit", Weight: 1},
	{Name: "VolumeBinding"},
	{Name: "InterPodAffinity", Weight: 2},
	{Name: "PodTopologySpread", Weight: 2},
	{Name: "NodeResourcesBalancedAllocation", Weight: 1},
	{Name: "ImageLocality", Weight: 1},
	{Name: "DefaultPreemption"},
	{Name: "DefaultBinder"},
}

// Default is the configuration without a file: one default-scheduler
// profile with the default plugins.
func Default() *Configuration {
	c := &Configuration{}
	c.setDefaults()
	return c
}

// Load reads a configuration file.
func Load(path string) (*Configuration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scheduler configuration: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("scheduler configuration %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a configuration document (YAML or JSON); unknown fields
// are errors, so a typo does not pass silently.
func Parse(data []byte) (*Configuration, error) {
	c := &Configuration{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, err
	}
	switch c.APIVersion {
	case "", "gantry.dev/v1alpha1", "kubescheduler.config.k8s.io/v1":
	default:
		return nil, fmt.Errorf("unknown apiVersion %q (want gantry.dev/v1alpha1)", c.APIVersion)
	}
	switch c.Kind {
	case "", "SchedulerConfiguration", "KubeSchedulerConfiguration":
	default:
		return nil, fmt.Errorf("unknown kind %q (want SchedulerConfiguration)", c.Kind)
	}
	c.setDefaults()
	return c, c.validate()
}

func (c *Configuration) setDefaults() {
	if c.Parallelism == 0 {
		c.Parallelism = 16
	}
	if c.PodInitialBackoffSeconds == 0 {
		c.PodInitialBackoffSeconds = 1
	}
	if c.PodMaxBackoffSeconds == 0 {
		c.PodMaxBackoffSeconds = 10
	}
	if len(c.Profiles) == 0 {
		c.Profiles = []Profile{{SchedulerName: "default-scheduler"}}
	}
	for i := range c.Profiles {
		if c.Profiles[i].SchedulerName == "" {
			c.Profiles[i].SchedulerName = "default-scheduler"
		}
	}
}

func (c *Configuration) validate() error {
	var errs []string
	if c.Parallelism < 1 {
		errs = append(errs, "parallelism: must be at least 1")
	}
	if c.PercentageOfNodesToScore < 0 || c.PercentageOfNodesToScore > 100 {
		errs = append(errs, "percentageOfNodesToScore: must be between 0 and 100")
	}
	if c.PodInitialBackoffSeconds < 1 || c.PodMaxBackoffSeconds < c.PodInitialBackoffSeconds {
		errs = append(errs, "podInitialBackoffSeconds must be at least 1 and podMaxBackoffSeconds at least as large")
	}
	seen := map[string]bool{}
	for i, p := range c.Profiles {
		if seen[p.SchedulerName] {
			errs = append(errs, fmt.Sprintf("profiles[%d].schedulerName: duplicate %q", i, p.SchedulerName))
		}
		seen[p.SchedulerName] = true
		args := map[string]bool{}
		for j, pc := range p.PluginConfig {
			if pc.Name == "" || args[pc.Name] {
				errs = append(errs, fmt.Sprintf("profiles[%d].pluginConfig[%d]: missing or duplicate name %q", i, j, pc.Name))
			}
			args[pc.Name] = true
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// EnabledPlugins resolves a profile's plugins: the defaults, minus the
// disabled, plus the enabled, with score weights.
func (p *Profile) EnabledPlugins() []PluginRef {
	pl := p.Plugins
	if pl == nil {
		pl = &Plugins{}
	}
	sets := []PluginSet{pl.MultiPoint, pl.QueueSort, pl.PreFilter, pl.Filter, pl.PostFilter, pl.PreScore,
		pl.Reserve, pl.Permit, pl.PreBind, pl.Bind, pl.PostBind}
	disabled := map[string]bool{}
	for _, s := range sets {
		for _, d := range s.Disabled {
			disabled[d.Name] = true
		}
	}
	noScore := map[string]bool{}
	for _, d := range pl.Score.Disabled {
		noScore[d.Name] = true
	}
	var out []PluginRef
	index := map[string]int{}
	add := func(r PluginRef) {
		if i, ok := index[r.Name]; ok {
			if r.Weight != 0 {
				out[i].Weight = r.Weight
			}
			return
		}
		index[r.Name] = len(out)
		out = append(out, r)
	}
	if !disabled["*"] {
		for _, r := range DefaultPlugins {
			if !disabled[r.Name] {
				add(r)
			}
		}
	}
	for _, s := range append(sets, pl.Score) {
		for _, r := range s.Enabled {
			add(r)
		}
	}
	for i := range out {
		if noScore[out[i].Name] || noScore["*"] {
			out[i].Weight = -1 // enabled, but not scoring
		}
	}
	return out
}

// Args returns a plugin's arguments in the profile (nil when none).
func (p *Profile) Args() map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, pc := range p.PluginConfig {
		out[pc.Name] = pc.Args
	}
	return out
}
