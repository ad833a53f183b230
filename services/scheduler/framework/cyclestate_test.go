package framework

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

type counter struct{ n int }

func (c *counter) Clone() StateData { cp := *c; return &cp }

func TestCycleStateReadWriteDeleteClone(t *testing.T) {
	c := NewCycleState()
	if _, err := c.Read("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read of an empty state: %v", err)
	}
	a, b := &counter{1}, &counter{2}
	c.Write("a", a)
	c.Write("b", b)
	c.Write("nil", nil)
	if d, err := c.Read("a"); err != nil || d != a {
		t.Fatalf("a: %v %v", d, err)
	}
	if d, err := c.Read("nil"); err != nil || d != nil {
		t.Fatalf("nil written: %v %v", d, err)
	}
	a2 := &counter{3}
	c.Write("a", a2) // replaces
	if d, _ := c.Read("a"); d != a2 {
		t.Fatalf("a after a second write: %v", d)
	}

	cl := c.Clone()
	d, _ := cl.Read("b")
	if d == b || d.(*counter).n != 2 {
		t.Fatalf("clone's b %v: want a copy of %v", d, b)
	}
	d.(*counter).n = 9
	cl.Write("c", &counter{4})
	if b.n != 2 {
		t.Error("changing the clone's data changed the original's")
	}
	if _, err := c.Read("c"); !errors.Is(err, ErrNotFound) {
		t.Error("a write to the clone reached the original")
	}

	c.Delete("a")
	if _, err := c.Read("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a after Delete: %v", err)
	}
	if d, _ := c.Read("b"); d != b {
		t.Fatal("Delete of a removed b")
	}
	if d, _ := cl.Read("a"); d == nil {
		t.Fatal("Delete on the original removed the clone's a")
	}
}

// TestCycleStateConcurrentReadsAndWrites: readers always see a key once
// written, whatever is written beside it (run with -race).
func TestCycleStateConcurrentReadsAndWrites(t *testing.T) {
	c := NewCycleState()
	c.Write("fixed", &counter{7})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, err := c.Read("fixed")
				if err != nil || d.(*counter).n != 7 {
					t.Errorf("fixed: %v %v", d, err)
					return
				}
			}
		}()
	}
	for i := range 1000 {
		k := StateKey(fmt.Sprint("k", i%20))
		c.Write(k, &counter{i})
		if i%3 == 0 {
			c.Delete(k)
		}
	}
	close(stop)
	wg.Wait()
}
