package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

// spdyExec is an exec session over SPDY with v4.channel.k8s.io: one stream
// per channel, named by its streamType header.
type spdyExec struct {
	conn    streamhttp.Connection
	streams map[string]streamhttp.Stream
}

// upgradeSPDYExec upgrades the connection and waits for the streams the
// options call for: error always, stdin, stdout, stderr, and resize with
// a terminal.
func (h *Handler) upgradeSPDYExec(w http.ResponseWriter, r *http.Request, protocol string, opts *corev1.PodExecOptions) (execClient, error) {
	want := wantedExecStreams(opts)
	arrived := make(chan streamhttp.Stream, len(want))
	conn, err := upgradeSPDY(w, r, protocol, func(s streamhttp.Stream, _ <-chan struct{}) error {
		if !want[s.Headers().Get(corev1.StreamType)] {
			return fmt.Errorf("unexpected stream type %q", s.Headers().Get(corev1.StreamType))
		}
		select {
		case arrived <- s:
			return nil
		default:
			return errors.New("too many streams")
		}
	})
	if err != nil {
		return nil, err
	}
	c := &spdyExec{conn: conn, streams: map[string]streamhttp.Stream{}}
	if err := c.await(arrived, want, h.streamTimeout); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

func wantedExecStreams(opts *corev1.PodExecOptions) map[string]bool {
	return map[string]bool{
		corev1.StreamTypeError:  true,
		corev1.StreamTypeStdin:  opts.Stdin,
		corev1.StreamTypeStdout: opts.Stdout,
		corev1.StreamTypeStderr: opts.Stderr,
		corev1.StreamTypeResize: opts.TTY,
	}
}

// await collects one stream of every wanted type.
func (c *spdyExec) await(arrived <-chan streamhttp.Stream, want map[string]bool, timeout time.Duration) error {
	missing := 0
	for _, ok := range want {
		if ok {
			missing++
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for missing > 0 {
		select {
		case s := <-arrived:
			typ := s.Headers().Get(corev1.StreamType)
			if _, dup := c.streams[typ]; dup {
				_ = s.Reset()
				continue
			}
			c.streams[typ] = s
			missing--
		case <-c.conn.CloseChan():
			return errors.New("the client closed the connection before opening its streams")
		case <-timer.C:
			return fmt.Errorf("timed out after %s waiting for the client's streams", timeout)
		}
	}
	return nil
}

// readInput copies stdin and terminal sizes until the connection closes.
func (c *spdyExec) readInput(send func(*agentv1.ExecInput) error) {
	var wg sync.WaitGroup
	if s := c.streams[corev1.StreamTypeStdin]; s != nil {
		wg.Go(func() { copyStdin(s, send) })
	}
	if s := c.streams[corev1.StreamTypeResize]; s != nil {
		wg.Go(func() { readSizes(s, send) })
	}
	<-c.conn.CloseChan()
	wg.Wait()
}

// copyStdin sends what the client writes on stdin, then its end.
func copyStdin(stdin io.Reader, send func(*agentv1.ExecInput) error) {
	buf := make([]byte, 32<<10)
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			if send(stdinInput(buf[:n])) != nil {
				return
			}
		}
		if errors.Is(err, io.EOF) {
			_ = send(closeStdinInput())
			return
		}
		if err != nil {
			return
		}
	}
}

// readSizes sends the JSON terminal sizes the client writes one after the
// other.
func readSizes(r io.Reader, send func(*agentv1.ExecInput) error) {
	dec := json.NewDecoder(r)
	for {
		var size terminalSize
		if dec.Decode(&size) != nil {
			return
		}
		if send(resizeInput(size)) != nil {
			return
		}
	}
}

func (c *spdyExec) stdout(p []byte) error { return c.write(corev1.StreamTypeStdout, p) }
func (c *spdyExec) stderr(p []byte) error { return c.write(corev1.StreamTypeStderr, p) }

func (c *spdyExec) write(typ string, p []byte) error {
	s := c.streams[typ]
	if s == nil {
		return nil
	}
	_, err := s.Write(p)
	return err
}

// finish ends stdout and stderr, then writes the status on the error
// stream and ends it; the client reads them and closes the connection.
func (c *spdyExec) finish(st metav1.Status) {
	for _, typ := range []string{corev1.StreamTypeStdout, corev1.StreamTypeStderr} {
		if s := c.streams[typ]; s != nil {
			_ = s.Close()
		}
	}
	errs := c.streams[corev1.StreamTypeError]
	if body, err := json.Marshal(st); err == nil {
		_, _ = errs.Write(body)
	}
	_ = errs.Close()
}

func (c *spdyExec) close() { _ = c.conn.Close() }
