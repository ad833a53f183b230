package streaming

import (
	"context"
	"errors"
	"io"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Logs streams a container's log.
func (s *Server) Logs(req *agentv1.LogsRequest, stream grpc.ServerStreamingServer[agentv1.LogChunk]) error {
	ctx := stream.Context()
	opts, err := logOptionsOf(req, time.Now())
	if err != nil {
		return err
	}
	pod := podRefOf(req.GetPod())
	c, err := s.pods.Container(ctx, pod, req.GetContainer(), req.GetPrevious())
	if err != nil {
		return toStatus(err)
	}
	if c.LogPath == "" {
		return status.Errorf(codes.FailedPrecondition, "container %q in pod %q has no log", req.GetContainer(), pod.Name)
	}
	files, err := openLog(c.LogPath)
	if err != nil {
		return status.Errorf(codes.Internal, "opening the log of container %q in pod %q: %v", req.GetContainer(), pod.Name, err)
	}
	defer files.close()
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	out := &chunkWriter{send: stream.Send, left: opts.limit}
	err = s.copyLog(ctx, files, c.ID, opts, out)
	switch {
	case err == nil, errors.Is(err, errLimit):
		return nil
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	}
	if _, ok := status.FromError(err); ok {
		return err // from Send
	}
	return status.Errorf(codes.Internal, "reading the log of container %q in pod %q: %v", req.GetContainer(), pod.Name, err)
}

// copyLog writes the lines the options select. With follow it goes on
// reading as the log grows, across rotations, until the container with
// id has exited and its log has been read to the end, or ctx ends.
func (s *Server) copyLog(ctx context.Context, files *logFiles, id string, opts logOptions, out *chunkWriter) error {
	p := &printer{opts: opts, out: out}
	if opts.tail >= 0 {
		// A first pass counts the lines, so that the second can skip all
		// but the last ones.
		n, err := countLines(files.readers(), opts)
		if err != nil {
			return err
		}
		p.skip = max(0, n-opts.tail)
	}
	lr := newLineReader()
	for _, f := range files.files {
		lr.add(f)
	}
	var j joiner
	var tick *time.Ticker
	if opts.follow {
		tick = time.NewTicker(s.interval)
		defer tick.Stop()
	}
	exited := false
	for {
		if err := eachLine(lr, &j, p.print); err != nil {
			return err
		}
		if !opts.follow {
			break
		}
		newer, err := files.rotated()
		for _, f := range newer {
			lr.add(f)
		}
		if err != nil {
			return err
		}
		if len(newer) > 0 {
			continue
		}
		if exited {
			break
		}
		if err := out.flush(); err != nil {
			return err
		}
		// After the exit, the log is read once more after an interval,
		// for what the runtime wrote last.
		exited = !s.running(ctx, id)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	for _, l := range j.incomplete() {
		if err := p.print(l); err != nil {
			return err
		}
	}
	return out.flush()
}

// running reports whether the container may still write to its log. Like
// the kubelet, only a running container does; a failure to ask is taken
// for running (the caller still ends the call by going away).
func (s *Server) running(ctx context.Context, id string) bool {
	st, err := s.runtime.ContainerStatus(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return false // removed
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Debug("cannot check a followed container", "container", id, "err", err)
		}
		return true
	}
	return st.State == runtime.StateRunning
}

// eachLine decodes the lines that lr has and hands every completed one
// to fn. Malformed records are skipped, as the kubelet does.
func eachLine(lr *lineReader, j *joiner, fn func(logLine) error) error {
	for {
		raw, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rec, err := parseRecord(raw)
		if err != nil {
			continue
		}
		if line, ok := j.add(rec); ok {
			if err := fn(line); err != nil {
				return err
			}
		}
	}
}

// countLines counts the lines of a log the options select.
func countLines(srcs []io.Reader, opts logOptions) (int64, error) {
	var n int64
	count := func(l logLine) error {
		if opts.selects(l) {
			n++
		}
		return nil
	}
	var j joiner
	if err := eachLine(newLineReader(srcs...), &j, count); err != nil {
		return 0, err
	}
	for _, l := range j.incomplete() {
		_ = count(l)
	}
	return n, nil
}

// printer writes the lines the options select.
type printer struct {
	opts logOptions
	// skip is the number of selected lines still to skip (for tail).
	skip int64
	out  *chunkWriter
}

func (p *printer) print(l logLine) error {
	if !p.opts.selects(l) {
		return nil
	}
	if p.skip > 0 {
		p.skip--
		return nil
	}
	if p.opts.timestamps {
		if err := p.out.write([]byte(l.time.Format(time.RFC3339Nano) + " ")); err != nil {
			return err
		}
	}
	return p.out.write(l.text)
}

// chunkSize is the most data a LogChunk carries.
const chunkSize = 32 << 10

// errLimit says that limit_bytes have been sent.
var errLimit = errors.New("log limit reached")

// chunkWriter gathers output into chunks.
type chunkWriter struct {
	send func(*agentv1.LogChunk) error
	buf  []byte
	// left is how many bytes may still be sent; negative: any number.
	left int64
}

// write adds p, cut at the limit (then it returns errLimit).
func (w *chunkWriter) write(p []byte) error {
	limited := false
	if w.left >= 0 && int64(len(p)) >= w.left {
		p, limited = p[:w.left], true
	}
	if w.left >= 0 {
		w.left -= int64(len(p))
	}
	for len(p) > 0 {
		n := min(len(p), chunkSize-len(w.buf))
		w.buf = append(w.buf, p[:n]...)
		p = p[n:]
		if len(w.buf) == chunkSize {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	if limited {
		if err := w.flush(); err != nil {
			return err
		}
		return errLimit
	}
	return nil
}

// flush sends what has been gathered.
func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	// The chunk is not reused: gRPC may hold on to a sent message.
	chunk := &agentv1.LogChunk{Data: w.buf}
	w.buf = nil
	return w.send(chunk)
}
