package noderesources

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseFitArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    FitArgs
		wantErr string
	}{
		{
			name: "defaults",
			want: FitArgs{ScoringStrategy: &ScoringStrategy{Type: LeastAllocated, Resources: DefaultResources()}},
		},
		{
			name: "null",
			args: "null",
			want: FitArgs{ScoringStrategy: &ScoringStrategy{Type: LeastAllocated, Resources: DefaultResources()}},
		},
		{
			name: "strategy without resources gets the default ones",
			args: `{"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "NodeResourcesFitArgs", "scoringStrategy": {"type": "MostAllocated"}}`,
			want: FitArgs{ScoringStrategy: &ScoringStrategy{Type: MostAllocated, Resources: DefaultResources()}},
		},
		{
			name: "weight 0 is 1",
			args: `{"ignoredResources": ["example.com/fpga"], "ignoredResourceGroups": ["example.org"], "scoringStrategy": {"type": "LeastAllocated", "resources": [{"name": "cpu"}, {"name": "example.com/gpu", "weight": 5}]}}`,
			want: FitArgs{
				IgnoredResources:      []string{"example.com/fpga"},
				IgnoredResourceGroups: []string{"example.org"},
				ScoringStrategy:       &ScoringStrategy{Type: LeastAllocated, Resources: []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "example.com/gpu", Weight: 5}}},
			},
		},
		{
			name: "requested to capacity ratio",
			args: `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}}`,
			want: FitArgs{ScoringStrategy: &ScoringStrategy{
				Type:                     RequestedToCapacityRatio,
				Resources:                DefaultResources(),
				RequestedToCapacityRatio: &RequestedToCapacityRatioParam{Shape: []UtilizationShapePoint{{0, 0}, {100, 10}}},
			}},
		},
		{name: "unknown field", args: `{"scoringStrategy": {"type": "LeastAllocated", "shape": []}}`, wantErr: `unknown field "shape"`},
		{name: "wrong kind", args: `{"kind": "NodeResourcesBalancedAllocationArgs"}`, wantErr: `kind "NodeResourcesBalancedAllocationArgs", want NodeResourcesFitArgs`},
		{name: "not JSON", args: `{`, wantErr: "NodeResourcesFit args: "},
		{
			name:    "unknown strategy",
			args:    `{"scoringStrategy": {"type": "Random"}}`,
			wantErr: `scoringStrategy.type: Unsupported value: "Random": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"`,
		},
		{
			name:    "strategy without a type",
			args:    `{"scoringStrategy": {"resources": [{"name": "cpu", "weight": 1}]}}`,
			wantErr: `scoringStrategy.type: Unsupported value: ""`,
		},
		{
			name:    "weight out of range",
			args:    `{"scoringStrategy": {"type": "LeastAllocated", "resources": [{"name": "cpu", "weight": 101}]}}`,
			wantErr: "scoringStrategy.resources[0].weight: Invalid value: 101: resource weight of cpu not in valid range (0, 100]",
		},
		{
			name:    "negative weight",
			args:    `{"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "memory", "weight": -1}]}}`,
			wantErr: "resource weight of memory not in valid range (0, 100]",
		},
		{
			name:    "ratio without its shape",
			args:    `{"scoringStrategy": {"type": "RequestedToCapacityRatio"}}`,
			wantErr: "scoringStrategy.requestedToCapacityRatio: Required value: must be specified when type is RequestedToCapacityRatio",
		},
		{
			name:    "empty shape",
			args:    `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {}}}`,
			wantErr: "scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified",
		},
		{
			name:    "shape not increasing",
			args:    `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 50, "score": 1}, {"utilization": 50, "score": 2}]}}}`,
			wantErr: "scoringStrategy.requestedToCapacityRatio.shape[1].utilization: Invalid value: 50: values must be sorted in increasing order",
		},
		{
			name:    "shape score out of range",
			args:    `{"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 101, "score": 11}]}}}`,
			wantErr: "[scoringStrategy.requestedToCapacityRatio.shape[0].utilization: Invalid value: 101: not in valid range [0, 100], scoringStrategy.requestedToCapacityRatio.shape[0].score: Invalid value: 11: not in valid range [0, 10]]",
		},
		{
			name:    "shape with another strategy",
			args:    `{"scoringStrategy": {"type": "LeastAllocated", "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}]}}}`,
			wantErr: "scoringStrategy.requestedToCapacityRatio: Forbidden: must be nil when type is not RequestedToCapacityRatio",
		},
		{
			name:    "resource group with a slash",
			args:    `{"ignoredResourceGroups": ["example.com/gpu"]}`,
			wantErr: `ignoredResourceGroups[0]: Invalid value: "example.com/gpu": resource group name can't contain '/'`,
		},
		{
			name:    "ignored resource not a qualified name",
			args:    `{"ignoredResources": ["-bad"]}`,
			wantErr: `ignoredResources[0]: Invalid value: "-bad"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw []byte
			if tt.args != "" {
				raw = []byte(tt.args)
			}
			got, err := ParseFitArgs(raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if _, err := New(raw, nil); err == nil {
					t.Error("New accepted the args")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFitArgs: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseFitArgs = %+v (%+v), want %+v (%+v)", got, got.ScoringStrategy, tt.want, tt.want.ScoringStrategy)
			}
		})
	}
}

func TestParseBalancedAllocationArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    BalancedAllocationArgs
		wantErr string
	}{
		{name: "defaults", want: BalancedAllocationArgs{Resources: DefaultResources()}},
		{name: "empty", args: "{}", want: BalancedAllocationArgs{Resources: DefaultResources()}},
		{
			name: "weight 0 is 1",
			args: `{"kind": "NodeResourcesBalancedAllocationArgs", "resources": [{"name": "cpu"}, {"name": "example.com/gpu", "weight": 1}]}`,
			want: BalancedAllocationArgs{Resources: []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "example.com/gpu", Weight: 1}}},
		},
		{name: "weight other than 1", args: `{"resources": [{"name": "cpu", "weight": 2}]}`, wantErr: "resources[0].weight: Invalid value: 2: must be 1"},
		{name: "duplicate", args: `{"resources": [{"name": "cpu"}, {"name": "cpu"}]}`, wantErr: `resources[1].name: Duplicate value: "cpu"`},
		{name: "unknown field", args: `{"scoringStrategy": {}}`, wantErr: `unknown field "scoringStrategy"`},
		{name: "wrong kind", args: `{"kind": "NodeResourcesFitArgs"}`, wantErr: `NodeResourcesBalancedAllocation args: kind "NodeResourcesFitArgs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw []byte
			if tt.args != "" {
				raw = []byte(tt.args)
			}
			got, err := ParseBalancedAllocationArgs(raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if _, err := NewBalancedAllocation(raw, nil); err == nil {
					t.Error("NewBalancedAllocation accepted the args")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBalancedAllocationArgs: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseBalancedAllocationArgs = %+v, want %+v", got, tt.want)
			}
		})
	}
}
