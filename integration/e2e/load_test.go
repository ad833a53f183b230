package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/integration/multihost"
)

// load is a client sending requests to url one after another from a
// worker host, without pause, each with its own connection (curl) and a
// 3 s limit, until stopped.
type load struct {
	mu       sync.Mutex
	ok       int
	failures []string // "time: error", the first ones
	failed   int
	// failedStarts are the start times of the failed requests.
	failedStarts []time.Time
	answers      map[string]int // first word of the body → count
	cancel       context.CancelFunc
	done         chan struct{}
}

const keptFailures = 20

func startLoad(ctx context.Context, h *multihost.Host, url string) *load {
	ctx, cancel := context.WithCancel(ctx)
	l := &load{cancel: cancel, done: make(chan struct{}), answers: map[string]int{}}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			start := time.Now()
			out, err := h.Command(ctx, "curl", "-sS", "--max-time", "3", "--fail", "--noproxy", "*", url).CombinedOutput()
			if ctx.Err() != nil {
				return // stopped mid-request: not the service's fault
			}
			var unanswered string
			if err != nil && l.keepFailure() {
				unanswered = unansweredConnections(ctx, h)
			}
			l.record(start, strings.TrimSpace(string(out)), err, unanswered)
		}
	}()
	return l
}

// unansweredConnections lists the client host's connections whose SYN
// got no answer, from its conntrack table: where a failed request's
// connection was sent (the Service's DNAT to a pod IP) and in what state.
func unansweredConnections(ctx context.Context, h *multihost.Host) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := h.Command(ctx, "conntrack", "-L", "-p", "tcp", "--state", "SYN_SENT").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("conntrack: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// keepFailure reports whether the next failure is one whose details are
// kept.
func (l *load) keepFailure() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.failures) < keptFailures
}

func (l *load) record(start time.Time, out string, err error, unanswered string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed++
		l.failedStarts = append(l.failedStarts, start)
		if len(l.failures) < keptFailures {
			f := fmt.Sprintf("%s (started %s): %v: %s", time.Now().Format("15:04:05.000"), start.Format("15:04:05.000"), err, out)
			if unanswered != "" {
				f += "\n  connections without an answer on the client's host (conntrack):\n  " + strings.ReplaceAll(unanswered, "\n", "\n  ")
			}
			l.failures = append(l.failures, f)
		}
		return
	}
	l.ok++
	l.answers[strings.Fields(out + " ?")[0]]++
}

// stop stops the client and returns its counts.
func (l *load) stop() (ok, failed int, failures []string, answers map[string]int) {
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.failed, l.failures, l.answers
}

// failedSince returns how many requests that started after t failed.
func (l *load) failedSince(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.failedStarts {
		if s.After(t) {
			n++
		}
	}
	return n
}

// counts returns the counts so far.
func (l *load) counts() (ok, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.failed
}
