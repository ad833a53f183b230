package growstack

import (
	"testing"
)

// deep recurses n times with a frame of about 1 KiB.
//
//go:noinline
func deep(n int) byte {
	var pad [1 << 10]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deep(n-1) + pad[n%len(pad)]
}

// BenchmarkFreshGoroutine is a request's shape: a new goroutine that
// goes 48 KiB deep, with and without Grow first.
func BenchmarkFreshGoroutine(b *testing.B) {
	for _, tc := range []struct {
		name string
		grow bool
	}{{"as it comes", false}, {"grown first", true}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				done := make(chan byte)
				go func() {
					if tc.grow {
						Grow()
					}
					done <- deep(48)
				}()
				<-done
			}
		})
	}
}

// BenchmarkGrown is Grow on a goroutine whose stack is already large: it
// should cost no more than a call.
func BenchmarkGrown(b *testing.B) {
	Grow()
	for b.Loop() {
		Grow()
	}
}
