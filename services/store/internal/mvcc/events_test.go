package mvcc

import (
	"fmt"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// eventsFixture:
//
//	2 put a=1   3 put b=1   4 put a=2   5 delete a
//	6 txn: put c=1, put d=1, delete b   7 put a=3
func eventsFixture(t *testing.T) *Store {
	t.Helper()
	s := openStore(t)
	mustPut(t, s, "a", "1")
	mustPut(t, s, "b", "1")
	mustPut(t, s, "a", "2")
	mustDelete(t, s, "a")
	mustTxn(t, s, &pb.TxnRequest{Success: ops(putOp("c", "1"), putOp("d", "1"), delOp("b", ""))})
	mustPut(t, s, "a", "3")
	wantRev(t, s, 7)
	return s
}

func TestEvents(t *testing.T) {
	s := eventsFixture(t)
	all := func(f EventFilter) EventFilter {
		f.Key, f.End = []byte{0}, []byte{0}
		return f
	}
	tests := []struct {
		name     string
		from     int64
		f        EventFilter
		max      int
		want     string
		wantNext int64
	}{
		{"everything in revision order", 2, all(EventFilter{}), 100,
			"PUT a@2, PUT b@3, PUT a@4, DELETE a@5, PUT c@6, PUT d@6, DELETE b@6, PUT a@7", 8},
		{"with prev_kv", 2, all(EventFilter{PrevKV: true}), 100,
			`PUT a@2, PUT b@3, PUT a@4(prev "1"@2), DELETE a@5(prev "2"@4), PUT c@6, PUT d@6, DELETE b@6(prev "1"@3), PUT a@7`, 8},
		{"from the middle", 5, all(EventFilter{}), 100, "DELETE a@5, PUT c@6, PUT d@6, DELETE b@6, PUT a@7", 8},
		{"from the current revision", 7, all(EventFilter{}), 100, "PUT a@7", 8},
		{"from the next revision", 8, all(EventFilter{}), 100, "", 8},
		{"from a far future revision", 100, all(EventFilter{}), 100, "", 100},
		{"from 1, the revision of the empty store", 1, all(EventFilter{}), 100, "PUT a@2, PUT b@3, PUT a@4, DELETE a@5, PUT c@6, PUT d@6, DELETE b@6, PUT a@7", 8},
		{"from 0", 0, all(EventFilter{}), 100, "PUT a@2, PUT b@3, PUT a@4, DELETE a@5, PUT c@6, PUT d@6, DELETE b@6, PUT a@7", 8},
		{"no put", 2, all(EventFilter{NoPut: true}), 100, "DELETE a@5, DELETE b@6", 8},
		{"no delete", 2, all(EventFilter{NoDelete: true}), 100, "PUT a@2, PUT b@3, PUT a@4, PUT c@6, PUT d@6, PUT a@7", 8},
		{"no put and no delete", 2, all(EventFilter{NoPut: true, NoDelete: true}), 100, "", 8},
		{"single key", 2, EventFilter{Key: []byte("a")}, 100, "PUT a@2, PUT a@4, DELETE a@5, PUT a@7", 8},
		{"single key is not a prefix", 2, EventFilter{Key: []byte("")}, 100, "", 8},
		{"range", 2, EventFilter{Key: []byte("b"), End: []byte("d")}, 100, "PUT b@3, PUT c@6, DELETE b@6", 8},
		{"from key", 2, EventFilter{Key: []byte("c"), End: []byte{0}}, 100, "PUT c@6, PUT d@6", 8},
		{"max 1", 2, all(EventFilter{}), 1, "PUT a@2", 3},
		{"max 2", 2, all(EventFilter{}), 2, "PUT a@2, PUT b@3", 4},
		{"max never splits a revision", 6, all(EventFilter{}), 1, "PUT c@6, PUT d@6, DELETE b@6", 7},
		{"max reached inside a revision finishes it", 5, all(EventFilter{}), 2, "DELETE a@5, PUT c@6, PUT d@6, DELETE b@6", 7},
		{"max reached at a revision boundary", 2, all(EventFilter{}), 4, "PUT a@2, PUT b@3, PUT a@4, DELETE a@5", 6},
		{"max counts matching events only", 2, EventFilter{Key: []byte("d")}, 1, "PUT d@6", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, next, err := s.Events(tt.from, tt.f, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			if got := eventsString(evs); got != tt.want {
				t.Errorf("events:\n got %s\nwant %s", got, tt.want)
			}
			if next != tt.wantNext {
				t.Errorf("next %d, want %d", next, tt.wantNext)
			}
		})
	}

	t.Run("event contents", func(t *testing.T) {
		evs, _, err := s.Events(4, EventFilter{Key: []byte("a"), PrevKV: true}, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			`PUT a="2" c2 m4 v2 l0 prev a="1" c2 m2 v1 l0`,
			`DELETE a="" c0 m5 v0 l0 prev a="2" c2 m4 v2 l0`,
			`PUT a="3" c7 m7 v1 l0 prev <nil>`,
		}
		for i, ev := range evs {
			got := fmt.Sprintf("%s %s prev %s", ev.Type, kvString(ev.Kv), kvString(ev.PrevKv))
			if i >= len(want) || got != want[i] {
				t.Errorf("event %d: %s", i, got)
			}
		}
		if len(evs) != len(want) {
			t.Errorf("%d events, want %d", len(evs), len(want))
		}
	})
}

// TestEventsPaging: reading the history in pages of any size yields the
// same events as one read, and no revision is split across pages.
func TestEventsPaging(t *testing.T) {
	s := openStore(t)
	mustGrant(t, s, 1, 10)
	for i := 0; i < 30; i++ {
		k := fmt.Sprintf("k%02d", i%7)
		switch i % 5 {
		case 0:
			mustTxn(t, s, &pb.TxnRequest{Success: ops(putOp(k+"x", "1"), putOp(k+"y", "1"), putOp(k+"z", "1"))})
		case 1:
			doDelete(t, s, &pb.DeleteRangeRequest{Key: []byte(k), RangeEnd: []byte(k + "\xff")})
		case 2:
			mustPutLease(t, s, k, "l", 1)
		default:
			mustPut(t, s, k, fmt.Sprint(i))
		}
	}
	f := EventFilter{Key: []byte{0}, End: []byte{0}, PrevKV: true}
	whole, next, err := s.Events(1, f, 1<<30)
	if err != nil || next != s.Rev()+1 {
		t.Fatalf("whole history: next %d err %v", next, err)
	}
	for _, max := range []int{1, 2, 3, 5, 100} {
		t.Run(fmt.Sprint("max ", max), func(t *testing.T) {
			var got []*mvccpb.Event
			from := int64(1)
			seen := map[int64]bool{}
			for pages := 0; from <= s.Rev(); pages++ {
				if pages > 1000 {
					t.Fatal("no progress")
				}
				evs, next, err := s.Events(from, f, max)
				if err != nil {
					t.Fatal(err)
				}
				if next <= from {
					t.Fatalf("next %d does not advance from %d", next, from)
				}
				for _, ev := range evs {
					if ev.Kv.ModRevision < from || ev.Kv.ModRevision >= next {
						t.Fatalf("event at %d outside page [%d,%d)", ev.Kv.ModRevision, from, next)
					}
				}
				if len(evs) > 0 {
					first := evs[0].Kv.ModRevision
					if seen[first] {
						t.Fatalf("revision %d split across pages", first)
					}
					for _, ev := range evs {
						seen[ev.Kv.ModRevision] = true
					}
				}
				got = append(got, evs...)
				from = next
			}
			if eventsString(got) != eventsString(whole) {
				t.Fatalf("paged:\n%s\nwhole:\n%s", eventsString(got), eventsString(whole))
			}
		})
	}
}
