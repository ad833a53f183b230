package deployment

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestPlanScale(t *testing.T) {
	type rsSpec struct {
		name        string
		age         int
		spec, avail int32
		maxBefore   string // max-replicas annotation ("" keeps d's)
	}
	for _, tc := range []struct {
		name string
		d    *appsv1.Deployment
		old  []rsSpec
		new  *rsSpec
		want []string
	}{
		{
			name: "single active replica set takes the new size",
			d:    deploy(5, "1", "0"),
			old:  []rsSpec{{name: "old", age: 10}},
			new:  &rsSpec{name: "new", spec: 3, avail: 3},
			want: []string{"new:5"},
		},
		{
			name: "nothing active: the newest takes it",
			d:    deploy(2, "1", "0"),
			old:  []rsSpec{{name: "older", age: 20}, {name: "old", age: 10}},
			want: []string{"old:2"},
		},
		{
			name: "single active with the size already",
			d:    deploy(3, "1", "0"),
			new:  &rsSpec{name: "new", spec: 3, avail: 3},
		},
		{
			name: "proportional scale up 5 -> 10",
			d:    deploy(10, "0", "1"),
			old:  []rsSpec{{name: "old", age: 10, spec: 2, avail: 2, maxBefore: "5"}},
			new:  &rsSpec{name: "new", spec: 3, maxBefore: "5"},
			want: []string{"new:6", "old:4"},
		},
		{
			name: "proportional scale down 10 -> 5",
			d:    deploy(5, "0", "1"),
			old:  []rsSpec{{name: "old", age: 10, spec: 4, avail: 4, maxBefore: "10"}},
			new:  &rsSpec{name: "new", spec: 6, maxBefore: "10"},
			want: []string{"new:3", "old:2"},
		},
		{
			name: "with surge: 10 (+3) -> 20 (+5)",
			d:    deploy(20, "25%", "25%"),
			old:  []rsSpec{{name: "old", age: 10, spec: 8, avail: 8, maxBefore: "13"}},
			new:  &rsSpec{name: "new", spec: 5, maxBefore: "13"},
			// 25 allowed, 13 there: 12 to share; old 8*25/13=15.4 -> +7,
			// new 5*25/13=9.6 -> +5 (the rest).
			want: []string{"old:15", "new:10"},
		},
		{
			name: "the rounding leftover goes to the first (newest on ties, scaling up)",
			d:    deploy(4, "0", "1"),
			old:  []rsSpec{{name: "a", age: 30, spec: 1, maxBefore: "3"}, {name: "b", age: 20, spec: 1, maxBefore: "3"}},
			new:  &rsSpec{name: "c", spec: 1, maxBefore: "3"},
			want: []string{"c:2"},
		},
		{
			name: "scale to zero",
			d:    deploy(0, "1", "0"),
			old:  []rsSpec{{name: "old", age: 10, spec: 2, avail: 2, maxBefore: "5"}},
			new:  &rsSpec{name: "new", spec: 3, maxBefore: "5"},
			want: []string{"new:0", "old:0"},
		},
		{
			name: "saturated new replica set: old ones go",
			d:    deploy(3, "1", "0"),
			old:  []rsSpec{{name: "old", age: 10, spec: 1, avail: 1}},
			new:  &rsSpec{name: "new", spec: 3, avail: 3},
			want: []string{"old:0"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func(s rsSpec) *appsv1.ReplicaSet {
				r := rs(tc.d, s.name, s.age, s.spec, s.avail)
				if s.maxBefore != "" {
					r.Annotations[MaxReplicasAnnotation] = s.maxBefore
				}
				return r
			}
			var old []*appsv1.ReplicaSet
			for _, s := range tc.old {
				old = append(old, build(s))
			}
			var newRS *appsv1.ReplicaSet
			if tc.new != nil {
				newRS = build(*tc.new)
			}
			var got []string
			for _, s := range planScale(tc.d, newRS, old) {
				if s.to != rsReplicas(s.rs) {
					got = append(got, sizes([]scaling{s})...)
				}
			}
			if len(got)+len(tc.want) > 0 && !slices.Equal(got, tc.want) {
				t.Errorf("plan = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanScaleUpdatesAnnotations(t *testing.T) {
	d := deploy(3, "1", "0")
	r := rs(d, "new", 0, 3, 3)
	r.Annotations[DesiredReplicasAnnotation] = "2"
	plan := planScale(d, r, nil)
	if len(plan) != 1 || plan[0].to != 3 {
		t.Fatalf("plan = %v, want the replica set listed at its size to fix its annotations", sizes(plan))
	}
}
