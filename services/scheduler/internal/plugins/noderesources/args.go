package noderesources

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gantry-dev/gantry/services/scheduler/internal/plugins/helper"
)

// ScoringStrategyType names how NodeResourcesFit scores nodes.
type ScoringStrategyType string

// The scoring strategies of Kubernetes' NodeResourcesFitArgs.
const (
	// LeastAllocated prefers the nodes with the most room left:
	// (allocatable - requested) × 100 / allocatable per resource.
	LeastAllocated ScoringStrategyType = "LeastAllocated"
	// MostAllocated prefers the fullest nodes (bin packing):
	// requested × 100 / allocatable per resource.
	MostAllocated ScoringStrategyType = "MostAllocated"
	// RequestedToCapacityRatio maps each resource's utilisation through
	// a piecewise-linear shape.
	RequestedToCapacityRatio ScoringStrategyType = "RequestedToCapacityRatio"
)

// MaxCustomPriorityScore is the highest score of a
// RequestedToCapacityRatio shape point; shape scores are scaled from
// 0..10 to 0..framework.MaxNodeScore.
const MaxCustomPriorityScore = 10

// ResourceSpec is a resource a score is computed over, and its weight in
// the average.
type ResourceSpec struct {
	// Name is the resource's name: cpu, memory, ephemeral-storage or an
	// extended resource.
	Name string `json:"name"`
	// Weight is in 1..100 (for BalancedAllocation it must be 1); 0 means
	// 1.
	Weight int64 `json:"weight,omitempty"`
}

// UtilizationShapePoint is a point of RequestedToCapacityRatio's shape.
type UtilizationShapePoint struct {
	// Utilization is in 0..100 (percent), increasing along the shape.
	Utilization int32 `json:"utilization"`
	// Score is in 0..MaxCustomPriorityScore.
	Score int32 `json:"score"`
}

// RequestedToCapacityRatioParam is RequestedToCapacityRatio's shape.
type RequestedToCapacityRatioParam struct {
	Shape []UtilizationShapePoint `json:"shape,omitempty"`
}

// ScoringStrategy is how NodeResourcesFit scores.
type ScoringStrategy struct {
	Type ScoringStrategyType `json:"type,omitempty"`
	// Resources default to cpu and memory with weight 1.
	Resources []ResourceSpec `json:"resources,omitempty"`
	// RequestedToCapacityRatio is required with that type, forbidden
	// with the others.
	RequestedToCapacityRatio *RequestedToCapacityRatioParam `json:"requestedToCapacityRatio,omitempty"`
}

// FitArgs are NodeResourcesFit's arguments, as in Kubernetes'
// NodeResourcesFitArgs.
type FitArgs struct {
	// IgnoredResources are extended resources the filter does not check.
	IgnoredResources []string `json:"ignoredResources,omitempty"`
	// IgnoredResourceGroups are the domains (the part before the "/") of
	// extended resources the filter does not check.
	IgnoredResourceGroups []string `json:"ignoredResourceGroups,omitempty"`
	// ScoringStrategy defaults to LeastAllocated over cpu and memory.
	ScoringStrategy *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

// BalancedAllocationArgs are NodeResourcesBalancedAllocation's
// arguments, as in Kubernetes' NodeResourcesBalancedAllocationArgs.
type BalancedAllocationArgs struct {
	// Resources default to cpu and memory; weights must be 1.
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// DefaultResources are the resources scored when none are given: cpu
// and memory, weight 1 each.
func DefaultResources() []ResourceSpec {
	return []ResourceSpec{{Name: string(corev1.ResourceCPU), Weight: 1}, {Name: string(corev1.ResourceMemory), Weight: 1}}
}

// ParseFitArgs decodes NodeResourcesFit's arguments (nil, empty or null:
// the defaults), applies Kubernetes' defaults and validates them. Unknown
// fields are an error; apiVersion and kind, which a
// KubeSchedulerConfiguration file carries, are allowed.
func ParseFitArgs(raw json.RawMessage) (FitArgs, error) {
	var in struct {
		helper.TypeMeta
		FitArgs
	}
	if err := helper.DecodeArgs(Name, raw, &in); err != nil {
		return FitArgs{}, err
	}
	if err := in.CheckKind(Name, "NodeResourcesFitArgs"); err != nil {
		return FitArgs{}, err
	}
	a := in.FitArgs
	if a.ScoringStrategy == nil {
		a.ScoringStrategy = &ScoringStrategy{Type: LeastAllocated}
	}
	a.ScoringStrategy.Resources = defaultWeights(a.ScoringStrategy.Resources)
	if err := validateFitArgs(&a).ToAggregate(); err != nil {
		return FitArgs{}, fmt.Errorf("%s args: %w", Name, err)
	}
	return a, nil
}

// ParseBalancedAllocationArgs decodes NodeResourcesBalancedAllocation's
// arguments (nil, empty or null: the defaults), applies Kubernetes'
// defaults and validates them. Unknown fields are an error; apiVersion
// and kind are allowed.
func ParseBalancedAllocationArgs(raw json.RawMessage) (BalancedAllocationArgs, error) {
	var in struct {
		helper.TypeMeta
		BalancedAllocationArgs
	}
	if err := helper.DecodeArgs(BalancedAllocationName, raw, &in); err != nil {
		return BalancedAllocationArgs{}, err
	}
	if err := in.CheckKind(BalancedAllocationName, "NodeResourcesBalancedAllocationArgs"); err != nil {
		return BalancedAllocationArgs{}, err
	}
	a := in.BalancedAllocationArgs
	a.Resources = defaultWeights(a.Resources)
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, r := range a.Resources {
		p := field.NewPath("resources").Index(i)
		if seen[r.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), r.Name))
		}
		seen[r.Name] = true
		if r.Weight != 1 {
			errs = append(errs, field.Invalid(p.Child("weight"), r.Weight, "must be 1"))
		}
	}
	if err := errs.ToAggregate(); err != nil {
		return BalancedAllocationArgs{}, fmt.Errorf("%s args: %w", BalancedAllocationName, err)
	}
	return a, nil
}

// defaultWeights returns the default resources for none, and otherwise a
// copy of resources with weight 0 made 1.
func defaultWeights(resources []ResourceSpec) []ResourceSpec {
	if len(resources) == 0 {
		return DefaultResources()
	}
	out := append([]ResourceSpec(nil), resources...)
	for i := range out {
		if out[i].Weight == 0 {
			out[i].Weight = 1
		}
	}
	return out
}

// validateFitArgs checks what Kubernetes' ValidateNodeResourcesFitArgs
// checks, with its messages.
func validateFitArgs(a *FitArgs) field.ErrorList {
	var errs field.ErrorList
	for i, r := range a.IgnoredResources {
		errs = append(errs, metav1validation.ValidateLabelName(r, field.NewPath("ignoredResources").Index(i))...)
	}
	for i, g := range a.IgnoredResourceGroups {
		p := field.NewPath("ignoredResourceGroups").Index(i)
		if strings.Contains(g, "/") {
			errs = append(errs, field.Invalid(p, g, "resource group name can't contain '/'"))
		}
		errs = append(errs, metav1validation.ValidateLabelName(g, p)...)
	}
	s := a.ScoringStrategy
	p := field.NewPath("scoringStrategy")
	switch s.Type {
	case LeastAllocated, MostAllocated, RequestedToCapacityRatio:
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), s.Type, []ScoringStrategyType{LeastAllocated, MostAllocated, RequestedToCapacityRatio}))
	}
	for i, r := range s.Resources {
		if r.Weight <= 0 || r.Weight > 100 {
			errs = append(errs, field.Invalid(p.Child("resources").Index(i).Child("weight"), r.Weight,
				fmt.Sprintf("resource weight of %v not in valid range (0, 100]", r.Name)))
		}
	}
	rp := p.Child("requestedToCapacityRatio")
	switch {
	case s.Type == RequestedToCapacityRatio && s.RequestedToCapacityRatio == nil:
		errs = append(errs, field.Required(rp, "must be specified when type is RequestedToCapacityRatio"))
	case s.Type == RequestedToCapacityRatio:
		errs = append(errs, validateShape(s.RequestedToCapacityRatio.Shape, rp.Child("shape"))...)
	case s.RequestedToCapacityRatio != nil:
		errs = append(errs, field.Forbidden(rp, "must be nil when type is not RequestedToCapacityRatio"))
	}
	return errs
}

// validateShape checks a RequestedToCapacityRatio shape: at least one
// point, utilisations increasing in 0..100, scores in
// 0..MaxCustomPriorityScore.
func validateShape(shape []UtilizationShapePoint, p *field.Path) field.ErrorList {
	if len(shape) == 0 {
		return field.ErrorList{field.Required(p, "at least one point must be specified")}
	}
	var errs field.ErrorList
	for i := 1; i < len(shape); i++ {
		if shape[i-1].Utilization >= shape[i].Utilization {
			errs = append(errs, field.Invalid(p.Index(i).Child("utilization"), shape[i].Utilization, "values must be sorted in increasing order"))
			break
		}
	}
	for i, pt := range shape {
		if pt.Utilization < 0 || pt.Utilization > 100 {
			errs = append(errs, field.Invalid(p.Index(i).Child("utilization"), pt.Utilization, "not in valid range [0, 100]"))
		}
		if pt.Score < 0 || pt.Score > MaxCustomPriorityScore {
			errs = append(errs, field.Invalid(p.Index(i).Child("score"), pt.Score, fmt.Sprintf("not in valid range [0, %d]", MaxCustomPriorityScore)))
		}
	}
	return errs
}
