package queue

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newPod(name string, prio int32) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: corev1.PodSpec{Priority: &prio}}
}

func pop(t *testing.T, q *Queue) *QueuedPod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	qp := q.Pop(ctx)
	if qp == nil {
		t.Fatal("nothing to pop")
	}
	return qp
}

func TestPriorityThenArrival(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	q := New(Config{Now: c.now})
	for i, p := range []*corev1.Pod{newPod("low-old", 1), newPod("high", 10), newPod("low-new", 1)} {
		c.t = c.t.Add(time.Duration(i) * time.Second)
		q.Add(p)
	}
	for _, want := range []string{"high", "low-old", "low-new"} {
		if got := pop(t, q).Pod.Name; got != want {
			t.Fatalf("popped %s, want %s", got, want)
		}
	}
}

func TestUnschedulableMovesOnlyOnInterestingEvents(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	q := New(Config{Now: c.now, PluginEvents: map[string][]framework.ClusterEvent{
		"NodeResourcesFit": {{Resource: framework.ResourceNode, Action: framework.ActionAdd}},
	}})
	q.Add(newPod("p", 0))
	qp := pop(t, q)
	q.Requeue(qp, true, map[string]bool{"NodeResourcesFit": true})
	if a, b, u := q.Lengths(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("lengths %d %d %d, want the pod unschedulable", a, b, u)
	}
	q.MoveOnEvent(framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionUpdateNodeLabel})
	if _, _, u := q.Lengths(); u != 1 {
		t.Fatal("a label update moved a pod only node additions can help")
	}
	q.MoveOnEvent(framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionAdd})
	// Still backing off (1 s after its first attempt).
	if a, b, u := q.Lengths(); a != 0 || b != 1 || u != 0 {
		t.Fatalf("lengths %d %d %d, want the pod backing off", a, b, u)
	}
	c.t = c.t.Add(2 * time.Second)
	q.Flush()
	if got := pop(t, q); got.Pod.Name != "p" || got.Attempts != 2 {
		t.Fatalf("popped %s attempt %d", got.Pod.Name, got.Attempts)
	}
}

// An event that arrives while a pod is being scheduled sends it to
// back-off, not to the unschedulable pool: the event may have helped.
func TestEventDuringSchedulingIsNotLost(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	q := New(Config{Now: c.now})
	q.Add(newPod("p", 0))
	qp := pop(t, q)
	q.MoveOnEvent(framework.ClusterEvent{Resource: framework.ResourceNode, Action: framework.ActionAdd})
	q.Requeue(qp, true, nil)
	if a, b, u := q.Lengths(); a != 0 || b != 1 || u != 0 {
		t.Fatalf("lengths %d %d %d, want the pod backing off", a, b, u)
	}
}

func TestBackoffGrowsToMax(t *testing.T) {
	q := New(Config{})
	qp := &QueuedPod{}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 9: 10 * time.Second} {
		qp.Attempts = attempts
		if got := q.backoffDuration(qp); got != want {
			t.Errorf("attempt %d: back-off %v, want %v", attempts, got, want)
		}
	}
}

func TestUnschedulableRetriedAfterMaxAge(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	q := New(Config{Now: c.now})
	q.Add(newPod("p", 0))
	q.Requeue(pop(t, q), true, map[string]bool{"X": true})
	c.t = c.t.Add(DefaultUnschedulableMaxAge + time.Second)
	q.Flush()
	if a, _, _ := q.Lengths(); a != 1 {
		t.Fatal("an unschedulable pod was not retried after the maximum age")
	}
}

func TestDeleteAndUpdate(t *testing.T) {
	q := New(Config{})
	p := newPod("p", 0)
	q.Add(p)
	q.Delete(p)
	if a, b, u := q.Lengths(); a+b+u != 0 {
		t.Fatal("deleted pod still queued")
	}
	q.Add(p)
	qp := pop(t, q)
	q.Requeue(qp, true, map[string]bool{"X": true})
	changed := p.DeepCopy()
	changed.Labels = map[string]string{"a": "b"}
	q.Add(changed)
	if _, _, u := q.Lengths(); u != 0 {
		t.Fatal("a changed pod stayed unschedulable")
	}
}

func TestNominated(t *testing.T) {
	q := New(Config{})
	p := newPod("p", 5)
	q.Nominate(p, "n1")
	if got := q.NominatedPods("n1"); len(got) != 1 || got[0].Name != "p" {
		t.Fatalf("nominated to n1: %v", got)
	}
	q.Nominate(p, "")
	if got := q.NominatedPods("n1"); len(got) != 0 {
		t.Fatal("nomination not cleared")
	}
}
