package nodeaffinity

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

func nodeInfo(name string, labels map[string]string) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	return ni
}

// expr is a node selector requirement.
func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

// term is a node selector term of label expressions.
func term(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: exprs}
}

// fieldTerm is a node selector term of field expressions.
func fieldTerm(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchFields: exprs}
}

// podRequiring returns a pod with a nodeSelector and, unless terms is
// nil, a required node affinity of those terms.
func podRequiring(nodeSelector map[string]string, terms []corev1.NodeSelectorTerm) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{NodeSelector: nodeSelector}}
	if terms != nil {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
		}}
	}
	return p
}

func podPreferring(terms ...corev1.PreferredSchedulingTerm) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: terms,
		}}},
	}
}

func newPlugin(t *testing.T, args string) *NodeAffinity {
	t.Helper()
	var raw json.RawMessage
	if args != "" {
		raw = json.RawMessage(args)
	}
	p, err := New(raw, nil)
	if err != nil {
		t.Fatalf("New(%s): %v", args, err)
	}
	return p.(*NodeAffinity)
}

func TestFilter(t *testing.T) {
	const (
		none     = framework.Success
		rejected = framework.UnschedulableAndUnresolvable
	)
	podReason := []string{"node(s) didn't match Pod's node affinity/selector"}
	labels := map[string]string{"zone": "a", "disk": "ssd", "cores": "8", "empty": ""}
	tests := []struct {
		name        string
		args        string
		pod         *corev1.Pod
		node        *framework.NodeInfo
		wantCode    framework.Code
		wantReasons []string
	}{
		{name: "no constraints", pod: podRequiring(nil, nil), node: nodeInfo("n1", nil), wantCode: none},
		{name: "nodeSelector matches", pod: podRequiring(map[string]string{"zone": "a", "disk": "ssd"}, nil), node: nodeInfo("n1", labels), wantCode: none},
		{name: "nodeSelector, other value", pod: podRequiring(map[string]string{"zone": "b"}, nil), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "nodeSelector, label missing", pod: podRequiring(map[string]string{"gpu": "true"}, nil), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "nodeSelector, empty value needs the label", pod: podRequiring(map[string]string{"empty": ""}, nil), node: nodeInfo("n1", labels), wantCode: none},
		{name: "nodeSelector, empty value, label missing", pod: podRequiring(map[string]string{"other": ""}, nil), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "In", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn, "b", "a"))}), node: nodeInfo("n1", labels), wantCode: none},
		{name: "In, other value", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn, "b", "c"))}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "NotIn, label missing", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("gpu", corev1.NodeSelectorOpNotIn, "true"))}), node: nodeInfo("n1", labels), wantCode: none},
		{name: "NotIn, value listed", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpNotIn, "a"))}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "Exists", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("disk", corev1.NodeSelectorOpExists))}), node: nodeInfo("n1", labels), wantCode: none},
		{name: "Exists, label missing", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("gpu", corev1.NodeSelectorOpExists))}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "DoesNotExist", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("gpu", corev1.NodeSelectorOpDoesNotExist))}), node: nodeInfo("n1", labels), wantCode: none},
		{name: "DoesNotExist, label present", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpDoesNotExist))}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "Gt", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("cores", corev1.NodeSelectorOpGt, "4"))}), node: nodeInfo("n1", labels), wantCode: none},
		{name: "Gt, equal", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("cores", corev1.NodeSelectorOpGt, "8"))}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "Gt, label not an integer", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpGt, "1"))}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "Lt", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("cores", corev1.NodeSelectorOpLt, "16"))}), node: nodeInfo("n1", labels), wantCode: none},
		{name: "Lt, label missing", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("gpus", corev1.NodeSelectorOpLt, "16"))}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{
			name:     "expressions of a term are ANDed",
			pod:      podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn, "a"), expr("disk", corev1.NodeSelectorOpIn, "hdd"))}),
			node:     nodeInfo("n1", labels),
			wantCode: rejected, wantReasons: podReason,
		},
		{
			name:     "terms are ORed",
			pod:      podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn, "b")), term(expr("disk", corev1.NodeSelectorOpIn, "ssd"))}),
			node:     nodeInfo("n1", labels),
			wantCode: none,
		},
		{
			name:     "nodeSelector and affinity must both match",
			pod:      podRequiring(map[string]string{"zone": "b"}, []corev1.NodeSelectorTerm{term(expr("disk", corev1.NodeSelectorOpIn, "ssd"))}),
			node:     nodeInfo("n1", labels),
			wantCode: rejected, wantReasons: podReason,
		},
		{name: "no terms match nothing", pod: podRequiring(nil, []corev1.NodeSelectorTerm{}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{name: "an empty term matches nothing", pod: podRequiring(nil, []corev1.NodeSelectorTerm{{}}), node: nodeInfo("n1", labels), wantCode: rejected, wantReasons: podReason},
		{
			name:     "an empty term does not spoil the others",
			pod:      podRequiring(nil, []corev1.NodeSelectorTerm{{}, term(expr("zone", corev1.NodeSelectorOpIn, "a"))}),
			node:     nodeInfo("n1", labels),
			wantCode: none,
		},
		{
			name:     "a term that does not parse matches nothing",
			pod:      podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", "Like", "a"))}),
			node:     nodeInfo("n1", labels),
			wantCode: rejected, wantReasons: podReason,
		},
		{
			name:     "a term that does not parse does not spoil the others",
			pod:      podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn)), term(expr("zone", corev1.NodeSelectorOpIn, "a"))}),
			node:     nodeInfo("n1", labels),
			wantCode: none,
		},
		{name: "metadata.name In", pod: podRequiring(nil, []corev1.NodeSelectorTerm{fieldTerm(expr("metadata.name", corev1.NodeSelectorOpIn, "n1"))}), node: nodeInfo("n1", nil), wantCode: none},
		{name: "metadata.name In, other node", pod: podRequiring(nil, []corev1.NodeSelectorTerm{fieldTerm(expr("metadata.name", corev1.NodeSelectorOpIn, "n2"))}), node: nodeInfo("n1", nil), wantCode: rejected, wantReasons: podReason},
		{name: "metadata.name NotIn", pod: podRequiring(nil, []corev1.NodeSelectorTerm{fieldTerm(expr("metadata.name", corev1.NodeSelectorOpNotIn, "n1"))}), node: nodeInfo("n1", nil), wantCode: rejected, wantReasons: podReason},
		{
			name:     "labels and fields in one term",
			pod:      podRequiring(nil, []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{expr("zone", corev1.NodeSelectorOpIn, "a")}, MatchFields: []corev1.NodeSelectorRequirement{expr("metadata.name", corev1.NodeSelectorOpNotIn, "n2")}}}),
			node:     nodeInfo("n1", labels),
			wantCode: none,
		},
		{
			name:        "added affinity excludes the node",
			args:        `{"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}]}}}`,
			pod:         podRequiring(nil, nil),
			node:        nodeInfo("n1", labels),
			wantCode:    rejected,
			wantReasons: []string{"node(s) didn't match scheduler-enforced node affinity"},
		},
		{
			name:     "added affinity matches",
			args:     `{"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}`,
			pod:      podRequiring(map[string]string{"disk": "ssd"}, nil),
			node:     nodeInfo("n1", labels),
			wantCode: none,
		},
		{
			name:     "node object missing",
			pod:      podRequiring(map[string]string{"zone": "a"}, nil),
			node:     framework.NewNodeInfo(),
			wantCode: rejected, wantReasons: []string{"node(s) not found"},
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := newPlugin(t, tt.args)
			state := framework.NewCycleState()
			_, s := pl.PreFilter(ctx, state, tt.pod, []*framework.NodeInfo{tt.node})
			if s.IsSkip() {
				if tt.wantCode != none {
					t.Fatalf("PreFilter skipped, want Filter to reject with %v", tt.wantCode)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatalf("PreFilter = %v", s)
			}
			s = pl.Filter(ctx, state, tt.pod, tt.node)
			if s.Code() != tt.wantCode || !reflect.DeepEqual(s.Reasons(), tt.wantReasons) {
				t.Errorf("Filter = %v, want %v %q", s, tt.wantCode, tt.wantReasons)
			}
			// Without PreFilter (disabled), Filter computes the same.
			if s2 := pl.Filter(ctx, framework.NewCycleState(), tt.pod, tt.node); s2.Code() != s.Code() {
				t.Errorf("Filter without PreFilter = %v, with = %v", s2, s)
			}
		})
	}
}

func TestPreFilter(t *testing.T) {
	name := func(op corev1.NodeSelectorOperator, names ...string) corev1.NodeSelectorRequirement {
		return expr("metadata.name", op, names...)
	}
	tests := []struct {
		name        string
		pod         *corev1.Pod
		want        map[string]bool
		wantCode    framework.Code
		wantReasons []string
	}{
		{name: "nothing to check", pod: podRequiring(nil, nil), wantCode: framework.Skip},
		{name: "nodeSelector only: all nodes", pod: podRequiring(map[string]string{"zone": "a"}, nil)},
		{name: "label terms: all nodes", pod: podRequiring(nil, []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn, "a"))})},
		{name: "a term naming a node", pod: podRequiring(nil, []corev1.NodeSelectorTerm{fieldTerm(name(corev1.NodeSelectorOpIn, "n1"))}), want: map[string]bool{"n1": true}},
		{
			name: "names of the terms are united",
			pod:  podRequiring(nil, []corev1.NodeSelectorTerm{fieldTerm(name(corev1.NodeSelectorOpIn, "n1")), fieldTerm(name(corev1.NodeSelectorOpIn, "n2"), name(corev1.NodeSelectorOpIn, "n2", "n3"))}),
			want: map[string]bool{"n1": true, "n2": true},
		},
		{
			name: "a term without names: all nodes",
			pod:  podRequiring(nil, []corev1.NodeSelectorTerm{fieldTerm(name(corev1.NodeSelectorOpIn, "n1")), term(expr("zone", corev1.NodeSelectorOpIn, "a"))}),
		},
		{
			name: "NotIn names nothing",
			pod:  podRequiring(nil, []corev1.NodeSelectorTerm{fieldTerm(name(corev1.NodeSelectorOpNotIn, "n1"))}),
		},
		{
			name:        "conflicting names",
			pod:         podRequiring(nil, []corev1.NodeSelectorTerm{fieldTerm(name(corev1.NodeSelectorOpIn, "n1"), name(corev1.NodeSelectorOpIn, "n2"))}),
			wantCode:    framework.UnschedulableAndUnresolvable,
			wantReasons: []string{"pod affinity terms conflict"},
		},
	}
	pl := newPlugin(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, s := pl.PreFilter(context.Background(), framework.NewCycleState(), tt.pod, nil)
			if s.Code() != tt.wantCode || !reflect.DeepEqual(s.Reasons(), tt.wantReasons) {
				t.Fatalf("PreFilter status = %v, want %v %q", s, tt.wantCode, tt.wantReasons)
			}
			var got map[string]bool
			if res != nil {
				got = res.NodeNames
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PreFilter nodes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	pref := func(weight int32, exprs ...corev1.NodeSelectorRequirement) corev1.PreferredSchedulingTerm {
		return corev1.PreferredSchedulingTerm{Weight: weight, Preference: term(exprs...)}
	}
	nodes := []*framework.NodeInfo{
		nodeInfo("n1", map[string]string{"zone": "a", "disk": "ssd"}),
		nodeInfo("n2", map[string]string{"zone": "b", "disk": "ssd"}),
		nodeInfo("n3", map[string]string{"zone": "c"}),
	}
	tests := []struct {
		name     string
		args     string
		pod      *corev1.Pod
		wantSkip bool
		raw      []int64
		want     []int64
	}{
		{name: "no preferences: skipped", pod: podRequiring(map[string]string{"zone": "a"}, nil), wantSkip: true},
		{
			name: "weights of the matching terms add up",
			pod: podPreferring(
				pref(2, expr("zone", corev1.NodeSelectorOpIn, "a")),
				pref(3, expr("disk", corev1.NodeSelectorOpExists)),
				pref(0, expr("zone", corev1.NodeSelectorOpIn, "c")), // weight 0: ignored
				corev1.PreferredSchedulingTerm{Weight: 50},          // empty: ignored
			),
			raw:  []int64{5, 3, 0},
			want: []int64{100, 60, 0},
		},
		{
			name: "no node matches",
			pod:  podPreferring(pref(10, expr("zone", corev1.NodeSelectorOpIn, "z"))),
			raw:  []int64{0, 0, 0},
			want: []int64{0, 0, 0},
		},
		{
			name: "added preferences count",
			args: `{"addedAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 7, "preference": {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}}]}}`,
			pod:  podPreferring(pref(3, expr("disk", corev1.NodeSelectorOpIn, "ssd"))),
			raw:  []int64{3, 10, 7},
			want: []int64{30, 100, 70},
		},
		{
			name: "added preferences alone",
			args: `{"addedAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 3, "preference": {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n3"]}]}}]}}`,
			pod:  podRequiring(nil, nil),
			raw:  []int64{0, 0, 3},
			want: []int64{0, 0, 100},
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := newPlugin(t, tt.args)
			state := framework.NewCycleState()
			s := pl.PreScore(ctx, state, tt.pod, nodes)
			if s.IsSkip() != tt.wantSkip || (!tt.wantSkip && !s.IsSuccess()) {
				t.Fatalf("PreScore = %v, want skip %v", s, tt.wantSkip)
			}
			if tt.wantSkip {
				return
			}
			scores := make([]framework.NodeScore, len(nodes))
			for i, n := range nodes {
				v, s := pl.Score(ctx, state, tt.pod, n)
				if !s.IsSuccess() {
					t.Fatalf("Score(%s) = %v", n.Name(), s)
				}
				if v != tt.raw[i] {
					t.Errorf("Score(%s) = %d, want %d", n.Name(), v, tt.raw[i])
				}
				scores[i] = framework.NodeScore{Name: n.Name(), Score: v}
			}
			if s := pl.NormalizeScore(ctx, state, tt.pod, scores); !s.IsSuccess() {
				t.Fatalf("NormalizeScore = %v", s)
			}
			for i, sc := range scores {
				if sc.Score != tt.want[i] {
					t.Errorf("normalised %s = %d, want %d", sc.Name, sc.Score, tt.want[i])
				}
			}
		})
	}
}

func TestPreScoreBadTerm(t *testing.T) {
	pod := podPreferring(corev1.PreferredSchedulingTerm{Weight: 1, Preference: term(expr("zone", corev1.NodeSelectorOpGt, "x"))})
	s := newPlugin(t, "").PreScore(context.Background(), framework.NewCycleState(), pod, nil)
	if s.Code() != framework.Error {
		t.Errorf("PreScore = %v, want Error", s)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		wantErr string
	}{
		{name: "nil"},
		{name: "null", args: "null"},
		{name: "empty", args: "{}"},
		{name: "with kind", args: `{"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "NodeAffinityArgs", "addedAffinity": {}}`},
		{name: "wrong kind", args: `{"kind": "NodePortsArgs"}`, wantErr: `kind "NodePortsArgs"`},
		{name: "unknown field", args: `{"affinity": {}}`, wantErr: "unknown field"},
		{
			name:    "added required term does not parse",
			args:    `{"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]}]}]}}}`,
			wantErr: `addedAffinity.requiredDuringSchedulingIgnoredDuringExecution: nodeSelectorTerms[0]: "Near" is not a valid node selector operator`,
		},
		{
			name:    "added preferred term does not parse",
			args:    `{"addedAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]}}]}}`,
			wantErr: "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution: preferredSchedulingTerms[0]: unexpected number of value (2)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw json.RawMessage
			if tt.args != "" {
				raw = json.RawMessage(tt.args)
			}
			_, err := New(raw, nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestEventsToRegister(t *testing.T) {
	events := newPlugin(t, "").EventsToRegister()
	for _, tt := range []struct {
		e    framework.ClusterEvent
		want bool
	}{
		{framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionAdd}, true},
		{framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeLabel}, true},
		{framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeTaint}, false},
		{framework.ClusterEvent{Resource: framework.ResourcePod, Action: framework.ActionDelete}, false},
	} {
		got := false
		for _, i := range events {
			got = got || i.Match(tt.e)
		}
		if got != tt.want {
			t.Errorf("%v %v registered = %v, want %v", tt.e.Resource, tt.e.Action, got, tt.want)
		}
	}
}
