package defaultpreemption

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// Defaults of Kubernetes' DefaultPreemptionArgs.
const (
	DefaultMinCandidateNodesPercentage = 10
	DefaultMinCandidateNodesAbsolute   = 100
)

// Args are the plugin's arguments, as in Kubernetes' DefaultPreemptionArgs:
// the number of candidate nodes dry-run before choosing is
// max(MinCandidateNodesPercentage% of the nodes where preemption might
// help, MinCandidateNodesAbsolute), at most all of them.
type Args struct {
	// MinCandidateNodesPercentage is in [0, 100].
	MinCandidateNodesPercentage int32 `json:"minCandidateNodesPercentage"`
	// MinCandidateNodesAbsolute is at least 0; both may not be 0.
	MinCandidateNodesAbsolute int32 `json:"minCandidateNodesAbsolute"`
}

// DefaultArgs returns the defaults.
func DefaultArgs() Args {
	return Args{
		MinCandidateNodesPercentage: DefaultMinCandidateNodesPercentage,
		MinCandidateNodesAbsolute:   DefaultMinCandidateNodesAbsolute,
	}
}

// rawArgs is what the profile's pluginConfig may hold: Args, plus the
// apiVersion and kind a KubeSchedulerConfiguration file carries.
type rawArgs struct {
	helper.TypeMeta
	Args
}

// ParseArgs decodes the plugin's arguments (nil or empty: the defaults);
// a field left out keeps its default. Unknown fields are an error.
func ParseArgs(raw json.RawMessage) (Args, error) {
	in := rawArgs{Args: DefaultArgs()}
	if err := helper.DecodeArgs(Name, raw, &in); err != nil {
		return Args{}, err
	}
	if err := in.CheckKind(Name, "DefaultPreemptionArgs"); err != nil {
		return Args{}, err
	}
	if err := in.Args.Validate(); err != nil {
		return Args{}, fmt.Errorf("%s args: %w", Name, err)
	}
	return in.Args, nil
}

// Validate checks the ranges Kubernetes checks.
func (a Args) Validate() error {
	var errs []error
	if a.MinCandidateNodesPercentage < 0 || a.MinCandidateNodesPercentage > 100 {
		errs = append(errs, fmt.Errorf("minCandidateNodesPercentage %d is not in [0, 100]", a.MinCandidateNodesPercentage))
	}
	if a.MinCandidateNodesAbsolute < 0 {
		errs = append(errs, fmt.Errorf("minCandidateNodesAbsolute %d is negative", a.MinCandidateNodesAbsolute))
	}
	if a.MinCandidateNodesPercentage == 0 && a.MinCandidateNodesAbsolute == 0 {
		errs = append(errs, errors.New("minCandidateNodesPercentage and minCandidateNodesAbsolute are both 0"))
	}
	return errors.Join(errs...)
}

// numCandidates is how many candidates to find among numNodes nodes where
// preemption might help: at least one, at most numNodes.
func (a Args) numCandidates(numNodes int) int {
	n := numNodes * int(a.MinCandidateNodesPercentage) / 100
	n = max(n, int(a.MinCandidateNodesAbsolute), 1)
	return min(n, numNodes)
}
