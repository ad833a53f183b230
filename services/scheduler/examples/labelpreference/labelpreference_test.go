package labelpreference

import (
	"context"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

func nodeInfo(labels map[string]string) *framework.NodeInfo {
	n := framework.NewNodeInfo()
	n.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: labels}})
	return n
}

func TestLabelPreference(t *testing.T) {
	pl, err := New(json.RawMessage(`{"preferLabel": "disk", "preferValue": "ssd"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := pl.(*Plugin)
	ctx, pod := context.Background(), &corev1.Pod{}
	for _, tc := range []struct {
		name       string
		labels     map[string]string
		wantReason string
		wantScore  int64
	}{
		{"preferred", map[string]string{"disk": "ssd"}, "", 100},
		{"other value", map[string]string{"disk": "hdd"}, "", 0},
		{"avoided", map[string]string{"example.gantry.dev/avoid": "true", "disk": "ssd"}, "node(s) are to be avoided", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := nodeInfo(tc.labels)
			st := p.Filter(ctx, nil, pod, n)
			if st.Message() != tc.wantReason || (tc.wantReason != "" && st.Code() != framework.UnschedulableAndUnresolvable) {
				t.Errorf("filter: %v, want %q", st, tc.wantReason)
			}
			if s, _ := p.Score(ctx, nil, pod, n); s != tc.wantScore {
				t.Errorf("score %d, want %d", s, tc.wantScore)
			}
		})
	}
	if _, err := New(json.RawMessage(`{"preferValue": "x"}`), nil); err == nil {
		t.Error("preferValue without preferLabel accepted")
	}
}
