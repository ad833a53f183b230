package mvcc

import (
	"fmt"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// eventsFixture:
//
//	1 put a=1   2 put b=1   3 put a=2   4 delete a
//	5 txn: put c=1, put d=1, delete b   6 put a=3
func eventsFixture(t *testing.T) *Store {
	t.Helper()
	s := openStore(t)
	mustPut(t, s, "a", "1")
	mustPut(t, s, "b", "1")
	mustPut(t, s, "a", "2")
	mustDelete(t, s, "a")
	mustTxn(t, s, &pb.TxnRequest{Success: ops(putOp("c", "1"), putOp("d", "1"), delOp("b", ""))})
	mustPut(t, s, "a", "3")
	wantRev(t, s, 6)
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
		{"everything in revision order", 1, all(EventFilter{}), 100,
			"PUT a@1, PUT b@2, PUT a@3, DELETE a@4, PUT c@5, PUT d@5, DELETE b@5, PUT a@6", 7},
		{"with prev_kv", 1, all(EventFilter{PrevKV: true}), 100,
			`PUT a@1, PUT b@2, PUT a@3(prev "1"@1), DELETE a@4(prev "2"@3), PUT c@5, PUT d@5, DELETE b@5(prev "1"@2), PUT a@6`, 7},
		{"from the middle", 4, all(EventFilter{}), 100, "DELETE a@4, PUT c@5, PUT d@5, DELETE b@5, PUT a@6", 7},
		{"from the current revision", 6, all(EventFilter{}), 100, "PUT a@6", 7},
		{"from the next revision", 7, all(EventFilter{}), 100, "", 7},
		{"from a far future revision", 100, all(EventFilter{}), 100, "", 100},
		{"from 0", 0, all(EventFilter{}), 100, "PUT a@1, PUT b@2, PUT a@3, DELETE a@4, PUT c@5, PUT d@5, DELETE b@5, PUT a@6", 7},
		{"no put", 1, all(EventFilter{NoPut: true}), 100, "DELETE a@4, DELETE b@5", 7},
		{"no delete", 1, all(EventFilter{NoDelete: true}), 100, "PUT a@1, PUT b@2, PUT a@3, PUT c@5, PUT d@5, PUT a@6", 7},
		{"no put and no delete", 1, all(EventFilter{NoPut: true, NoDelete: true}), 100, "", 7},
		{"single key", 1, EventFilter{Key: []byte("a")}, 100, "PUT a@1, PUT a@3, DELETE a@4, PUT a@6", 7},
		{"single key is not a prefix", 1, EventFilter{Key: []byte("")}, 100, "", 7},
		{"range", 1, EventFilter{Key: []byte("b"), End: []byte("d")}, 100, "PUT b@2, PUT c@5, DELETE b@5", 7},
		{"from key", 1, EventFilter{Key: []byte("c"), End: []byte{0}}, 100, "PUT c@5, PUT d@5", 7},
		{"max 1", 1, all(EventFilter{}), 1, "PUT a@1", 2},
		{"max 2", 1, all(EventFilter{}), 2, "PUT a@1, PUT b@2", 3},
		{"max never splits a revision", 5, all(EventFilter{}), 1, "PUT c@5, PUT d@5, DELETE b@5", 6},
		{"max reached inside a revision finishes it", 4, all(EventFilter{}), 2, "DELETE a@4, PUT c@5, PUT d@5, DELETE b@5", 6},
		{"max reached at a revision boundary", 1, all(EventFilter{}), 4, "PUT a@1, PUT b@2, PUT a@3, DELETE a@4", 5},
		{"max counts matching events only", 1, EventFilter{Key: []byte("d")}, 1, "PUT d@5", 6},
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
		evs, _, err := s.Events(3, EventFilter{Key: []byte("a"), PrevKV: true}, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			`PUT a="2" c1 m3 v2 l0 prev a="1" c1 m1 v1 l0`,
			`DELETE a="" c0 m4 v0 l0 prev a="2" c1 m3 v2 l0`,
			`PUT a="3" c6 m6 v1 l0 prev <nil>`,
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
