// Package growstack grows the calling goroutine's stack ahead of deep
// work.
//
// A goroutine starts with a small stack and the runtime doubles it, by
// copying it whole and adjusting every frame, each time a call would
// overflow it. A server that serves every request on a goroutine of its
// own (net/http, gRPC) pays that several times per request once the
// request goes deep: protobuf decoding and encoding of nested objects,
// structured-merge-diff's managed fields, reflection-based comparison. In
// the API server that was 8% of its CPU under a pod-creation load. Grow,
// called first thing on such a goroutine, makes the runtime grow the
// stack once, while it is still shallow and cheap to copy, to the size
// the request will need.
package growstack

// frame is the stack frame Grow asks for. The runtime then grows the
// stack to at least twice that: 64 KiB, more than the API server's
// deepest common requests use.
const frame = 32 << 10

// keep is never true; reading it keeps the compiler from dropping the
// buffer of Grow.
var keep bool

// Grow makes sure the calling goroutine has a stack of at least 64 KiB,
// growing it now if it is smaller: one copy of the stack, shallow so far,
// on a fresh goroutine, and nothing but a call on one whose stack is
// already large.
//
//go:noinline
func Grow() {
	if keep {
		// The frame holds buf whether or not this runs, and the stack
		// check on entry asks for all of it; declared here, buf is never
		// zeroed.
		var buf [frame]byte
		sink(buf[:])
	}
}

//go:noinline
func sink([]byte) {}
