package node

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLease(t *testing.T) {
	f := newFixture(t)
	f.register(t)
	uid := f.api.get("node-1").UID

	check := func(t *testing.T, l *coordinationv1.Lease, renewed time.Time) {
		t.Helper()
		if l == nil {
			t.Fatal("no lease")
		}
		if l.Namespace != "kube-node-lease" || l.Name != "node-1" {
			t.Errorf("lease %s/%s", l.Namespace, l.Name)
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "node-1" ||
			l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds != 40 {
			t.Errorf("lease spec = %+v, want held by node-1 for 40s", l.Spec)
		}
		if l.Spec.RenewTime == nil || !l.Spec.RenewTime.Time.Equal(renewed) {
			t.Errorf("renewTime = %v, want %v", l.Spec.RenewTime, renewed)
		}
		want := metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: uid}
		if len(l.OwnerReferences) != 1 || l.OwnerReferences[0] != want {
			t.Errorf("owners = %+v, want %+v", l.OwnerReferences, want)
		}
	}

	f.syncLease(t)
	check(t, f.api.lease("node-1"), t0)
	if c, g := f.api.count("CreateLease"), f.api.count("GetLease"); c != 1 || g != 1 {
		t.Errorf("%d creates and %d gets, want 1 and 1", c, g)
	}

	// Renewals update the Lease last written, without reading it.
	for i := 1; i <= 3; i++ {
		f.clock.Step(10 * time.Second)
		f.syncLease(t)
		check(t, f.api.lease("node-1"), t0.Add(time.Duration(i)*10*time.Second))
	}
	if u, g := f.api.count("UpdateLease"), f.api.count("GetLease"); u != 3 || g != 1 {
		t.Errorf("%d updates and %d gets, want 3 and 1", u, g)
	}

	// Someone else wrote it: the renewal conflicts, reads it, renews it.
	f.api.touchLease("node-1")
	f.clock.Step(10 * time.Second)
	f.syncLease(t)
	check(t, f.api.lease("node-1"), t0.Add(40*time.Second))
	if g := f.api.count("GetLease"); g != 2 {
		t.Errorf("%d gets, want 2", g)
	}

	// It is gone: it is made again.
	f.api.deleteLease("node-1")
	f.clock.Step(10 * time.Second)
	f.syncLease(t)
	check(t, f.api.lease("node-1"), t0.Add(50*time.Second))
	if c := f.api.count("CreateLease"); c != 2 {
		t.Errorf("%d creates, want 2", c)
	}

	// The API server is away: the renewal fails and is tried again.
	f.api.setDown(true)
	if err := f.n.syncLease(t.Context()); err == nil {
		t.Errorf("syncLease with the API server away succeeded")
	}
	f.api.setDown(false)
	f.clock.Step(time.Second)
	f.syncLease(t)
	check(t, f.api.lease("node-1"), t0.Add(51*time.Second))
}

func TestLeaseAdoptsAnExistingLease(t *testing.T) {
	f := newFixture(t)
	f.register(t)
	other := "someone"
	_, err := f.api.CreateLease(t.Context(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-node-lease", Name: "node-1",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "node-1", UID: "uid-gone"}}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &other},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.syncLease(t)
	l := f.api.lease("node-1")
	if *l.Spec.HolderIdentity != "node-1" || len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != f.api.get("node-1").UID {
		t.Errorf("lease = %+v, want held and owned by this node", l)
	}
}
