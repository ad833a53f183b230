package helper

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

func TestDecodeArgs(t *testing.T) {
	type args struct {
		TypeMeta
		N int `json:"n"`
	}
	for _, tc := range []struct {
		raw     string
		want    args
		wantErr string
	}{
		{raw: "", want: args{N: 7}},
		{raw: " \n", want: args{N: 7}},
		{raw: "null", want: args{N: 7}},
		{raw: "{}", want: args{N: 7}},
		{raw: `{"n": 3}`, want: args{N: 3}},
		{raw: `{"apiVersion": "v1", "kind": "K", "n": 3}`, want: args{TypeMeta{"v1", "K"}, 3}},
		{raw: `{"m": 3}`, wantErr: `P args: json: unknown field "m"`},
		{raw: `{"n": "x"}`, wantErr: "P args: json: cannot unmarshal string into Go struct field args.n of type int"},
	} {
		got := args{N: 7}
		err := DecodeArgs("P", json.RawMessage(tc.raw), &got)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("DecodeArgs(%q) = %v, want %q", tc.raw, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DecodeArgs(%q) = %+v, %v, want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestCheckKind(t *testing.T) {
	if err := (TypeMeta{}).CheckKind("P", "PArgs"); err != nil {
		t.Errorf("no kind: %v", err)
	}
	if err := (TypeMeta{Kind: "PArgs"}).CheckKind("P", "PArgs"); err != nil {
		t.Errorf("right kind: %v", err)
	}
	err := TypeMeta{Kind: "Other"}.CheckKind("P", "PArgs")
	if want := `P args: kind "Other", want PArgs`; err == nil || err.Error() != want {
		t.Errorf("wrong kind: %v, want %q", err, want)
	}
}

func TestNoArgs(t *testing.T) {
	for _, raw := range []string{"", "  ", "null", "{}", " {} "} {
		if err := NoArgs("P", json.RawMessage(raw)); err != nil {
			t.Errorf("NoArgs(%q) = %v", raw, err)
		}
	}
	for raw, want := range map[string]string{
		`{"a": 1}`: `P takes no args: json: unknown field "a"`,
		`[]`:       "P takes no args: json: cannot unmarshal array into Go value of type struct {}",
	} {
		if err := NoArgs("P", json.RawMessage(raw)); err == nil || err.Error() != want {
			t.Errorf("NoArgs(%q) = %v, want %q", raw, err, want)
		}
	}
}

type fakeLister struct{ framework.NodeInfoLister }

type fakeHandle struct {
	framework.Handle
	lister framework.NodeInfoLister
	par    framework.Parallelizer
}

func (h *fakeHandle) SnapshotSharedLister() framework.NodeInfoLister { return h.lister }
func (h *fakeHandle) Parallelizer() framework.Parallelizer           { return h.par }

type countingParallelizer struct{ calls int }

func (p *countingParallelizer) Until(_ context.Context, n int, do func(int)) {
	p.calls++
	for i := 0; i < n; i++ {
		do(i)
	}
}

func TestNodeLister(t *testing.T) {
	if _, err := NodeLister("P", nil); err == nil || err.Error() != "P: no framework handle to list nodes" {
		t.Errorf("nil Handle: %v", err)
	}
	if _, err := NodeLister("P", &fakeHandle{}); err == nil || err.Error() != "P: empty shared lister" {
		t.Errorf("no lister: %v", err)
	}
	l := fakeLister{}
	if got, err := NodeLister("P", &fakeHandle{lister: l}); err != nil || got != l {
		t.Errorf("NodeLister = %v, %v", got, err)
	}
}

func TestForEachNode(t *testing.T) {
	ctx := context.Background()
	p := &countingParallelizer{}
	for _, h := range []framework.Handle{nil, &fakeHandle{}, &fakeHandle{par: p}} {
		got := make([]int, 4)
		ForEachNode(ctx, h, len(got), func(i int) { got[i] = i + 1 })
		if want := []int{1, 2, 3, 4}; !reflect.DeepEqual(got, want) {
			t.Errorf("%T: got %v, want %v", h, got, want)
		}
	}
	if p.calls != 1 {
		t.Errorf("Parallelizer called %d times, want 1", p.calls)
	}
}

type stateA struct{ v int }

func (s *stateA) Clone() framework.StateData { return s }

type stateB []int

func (s stateB) Clone() framework.StateData { return s }

func TestReadState(t *testing.T) {
	cs := framework.NewCycleState()
	cs.Write("a", &stateA{v: 1})
	cs.Write("b", stateB{2})
	if s, err := ReadState[*stateA](cs, "a"); err != nil || s.v != 1 {
		t.Errorf("ReadState(a) = %v, %v", s, err)
	}
	_, err := ReadState[*stateA](cs, "missing")
	if want := `reading "missing" from cycleState: not found`; err == nil || err.Error() != want || !errors.Is(err, framework.ErrNotFound) {
		t.Errorf("ReadState(missing) = %v, want %q", err, want)
	}
	_, err = ReadState[*stateA](cs, "b")
	if want := "[2] convert to helper.stateA error"; err == nil || err.Error() != want {
		t.Errorf("ReadState(b) = %v, want %q", err, want)
	}
}

func TestPluginState(t *testing.T) {
	cs := framework.NewCycleState()
	cs.Write("a", &stateA{v: 1})
	cs.Write("b", stateB{2})
	if s, err := PluginState[stateB](cs, "b", "P", "PreFilter"); err != nil || !reflect.DeepEqual(s, stateB{2}) {
		t.Errorf("PluginState(b) = %v, %v", s, err)
	}
	_, err := PluginState[stateB](cs, "missing", "P", "PreFilter")
	if want := `P: reading "missing" from the cycle state: not found`; err == nil || err.Error() != want || !errors.Is(err, framework.ErrNotFound) {
		t.Errorf("PluginState(missing) = %v, want %q", err, want)
	}
	_, err = PluginState[stateB](cs, "a", "P", "PreFilter")
	if want := "P: PreFilter state is a *helper.stateA"; err == nil || err.Error() != want {
		t.Errorf("PluginState(a) = %v, want %q", err, want)
	}

	if s, found, err := LookupPluginState[*stateA](cs, "a", "P", "PreScore"); err != nil || !found || s.v != 1 {
		t.Errorf("LookupPluginState(a) = %v, %v, %v", s, found, err)
	}
	if s, found, err := LookupPluginState[*stateA](cs, "missing", "P", "PreScore"); err != nil || found || s != nil {
		t.Errorf("LookupPluginState(missing) = %v, %v, %v", s, found, err)
	}
	_, _, err = LookupPluginState[*stateA](cs, "b", "P", "PreScore")
	if want := "P: PreScore state is a helper.stateB"; err == nil || err.Error() != want {
		t.Errorf("LookupPluginState(b) = %v, want %q", err, want)
	}
	if n := testing.AllocsPerRun(100, func() { LookupPluginState[*stateA](cs, "a", "P", "PreScore") }); n != 0 {
		t.Errorf("LookupPluginState allocates %v times", n)
	}
}

func TestDefaultNormalizeScore(t *testing.T) {
	scores := func(s ...int64) []framework.NodeScore {
		out := make([]framework.NodeScore, len(s))
		for i := range s {
			out[i] = framework.NodeScore{Name: string(rune('a' + i)), Score: s[i]}
		}
		return out
	}
	for _, tc := range []struct {
		in      []framework.NodeScore
		reverse bool
		want    []framework.NodeScore
	}{
		{scores(1, 2, 3), false, scores(33, 66, 100)},
		{scores(1, 2, 3), true, scores(67, 34, 0)},
		{scores(0, 0), false, scores(0, 0)},
		{scores(0, 0), true, scores(100, 100)},
		{scores(), true, scores()},
	} {
		got := slices.Clone(tc.in)
		DefaultNormalizeScore(framework.MaxNodeScore, tc.reverse, got)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DefaultNormalizeScore(%v, reverse %v) = %v, want %v", tc.in, tc.reverse, got, tc.want)
		}
	}
}

func TestTaints(t *testing.T) {
	taints := []corev1.Taint{
		{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule},
		{Key: "a", Value: "1", Effect: corev1.TaintEffectNoSchedule},
		{Key: "b", Effect: corev1.TaintEffectNoExecute},
	}
	for _, tc := range []struct {
		tolerations []corev1.Toleration
		want        string
	}{
		{nil, "a"},
		{[]corev1.Toleration{{Key: "a", Value: "1"}}, "b"},
		{[]corev1.Toleration{{Key: "a", Value: "2"}}, "a"},
		{[]corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}, {Key: "b", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}, ""},
		{[]corev1.Toleration{{Operator: corev1.TolerationOpExists}}, ""},
		{[]corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}, "a"},
		{[]corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpLt, Value: "2"}}, "a"},
	} {
		got, found := FindUntoleratedTaint(taints, tc.tolerations, DoNotScheduleTaint)
		if found != (tc.want != "") || got.Key != tc.want {
			t.Errorf("FindUntoleratedTaint(%v) = %v, %v, want %q", tc.tolerations, got, found, tc.want)
		}
	}
}
