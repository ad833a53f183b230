package keyed

import (
	"sync"
	"testing"
)

func TestLockSerialisesOneKeyAndForgetsIt(t *testing.T) {
	var k Mutex
	var wg sync.WaitGroup
	// One counter per key, each guarded by its key's lock only (the map
	// itself is only read: the goroutines of the two keys run at once).
	counts := map[string]*int{"a": new(int), "b": new(int)}
	for i := 0; i < 200; i++ {
		key := []string{"a", "b"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer k.Lock(key)()
			*counts[key]++ // a race here would fail under -race
		}()
	}
	wg.Wait()
	if *counts["a"] != 100 || *counts["b"] != 100 {
		t.Errorf("counts a %d, b %d, want 100 each", *counts["a"], *counts["b"])
	}
	if len(k.locks) != 0 {
		t.Errorf("%d locks left after every holder unlocked", len(k.locks))
	}
}
