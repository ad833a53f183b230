package defaultpreemption

import (
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    Args
		wantErr string
	}{
		{name: "nil", raw: "", want: DefaultArgs()},
		{name: "null", raw: "null", want: DefaultArgs()},
		{name: "empty object", raw: "{}", want: DefaultArgs()},
		{
			name: "one field keeps the other's default",
			raw:  `{"minCandidateNodesAbsolute": 5}`,
			want: Args{MinCandidateNodesPercentage: 10, MinCandidateNodesAbsolute: 5},
		},
		{
			name: "as in a KubeSchedulerConfiguration",
			raw:  `{"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "DefaultPreemptionArgs", "minCandidateNodesPercentage": 50, "minCandidateNodesAbsolute": 0}`,
			want: Args{MinCandidateNodesPercentage: 50, MinCandidateNodesAbsolute: 0},
		},
		{name: "wrong kind", raw: `{"kind": "NodeResourcesFitArgs"}`, wantErr: "kind"},
		{name: "unknown field", raw: `{"minCandidateNodes": 5}`, wantErr: "unknown field"},
		{name: "percentage over 100", raw: `{"minCandidateNodesPercentage": 101}`, wantErr: "not in [0, 100]"},
		{name: "negative absolute", raw: `{"minCandidateNodesAbsolute": -1}`, wantErr: "negative"},
		{name: "both zero", raw: `{"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 0}`, wantErr: "both 0"},
		{name: "not JSON", raw: `minCandidateNodesAbsolute: 5`, wantErr: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgs([]byte(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseArgs() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArgs() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseArgs() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNumCandidates(t *testing.T) {
	tests := []struct {
		name     string
		args     Args
		numNodes int
		want     int
	}{
		{name: "defaults, few nodes: all", args: DefaultArgs(), numNodes: 50, want: 50},
		{name: "defaults, many nodes: the absolute minimum", args: DefaultArgs(), numNodes: 500, want: 100},
		{name: "defaults, very many nodes: the percentage", args: DefaultArgs(), numNodes: 5000, want: 500},
		{name: "percentage only", args: Args{MinCandidateNodesPercentage: 30}, numNodes: 10, want: 3},
		{name: "never zero", args: Args{MinCandidateNodesPercentage: 1}, numNodes: 10, want: 1},
		{name: "no nodes", args: DefaultArgs(), numNodes: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.args.numCandidates(tt.numNodes); got != tt.want {
				t.Errorf("numCandidates(%d) = %d, want %d", tt.numNodes, got, tt.want)
			}
		})
	}
}
