package streaming

import (
	"bytes"
	"fmt"
	"time"
)

// Streams of a CRI log record.
const (
	streamStdout = "stdout"
	streamStderr = "stderr"
)

// record is one line of a CRI log file:
//
//	<RFC 3339 time> <stdout|stderr> <tags> <content>
//
// where the first tag, F or P, says whether the content ends a line (the
// newline is not written) or is a part of it.
type record struct {
	time    time.Time
	stream  string
	partial bool
	content []byte
}

// parseRecord decodes a line of a CRI log, without its newline.
func parseRecord(line []byte) (record, error) {
	var r record
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return r, fmt.Errorf("no stream after the time in %q", line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return r, fmt.Errorf("bad time in %q: %w", line, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return r, fmt.Errorf("no tags after the stream in %q", line)
	}
	switch string(stream) {
	case streamStdout:
		r.stream = streamStdout
	case streamStderr:
		r.stream = streamStderr
	default:
		return r, fmt.Errorf("unknown stream %q", stream)
	}
	tags, content, _ := bytes.Cut(rest, []byte{' '})
	tag, _, _ := bytes.Cut(tags, []byte{':'})
	switch string(tag) {
	case "F":
	case "P":
		r.partial = true
	default:
		return r, fmt.Errorf("unknown tag %q", tags)
	}
	r.time, r.content = t, content
	return r, nil
}

// logLine is a line of a container's output, its parts joined.
type logLine struct {
	// time is when its first part was written.
	time   time.Time
	stream string
	// text ends with a newline, unless the line is incomplete (the log
	// ended in its middle).
	text []byte
}

// joiner joins the parts of lines, for each stream on its own.
type joiner struct {
	pending map[string]*logLine
	// order of the streams with pending parts, first started first.
	order []string
}

// add takes the next record and returns the line it completes, if any.
func (j *joiner) add(r record) (logLine, bool) {
	p := j.pending[r.stream]
	if r.partial {
		if p == nil {
			if j.pending == nil {
				j.pending = map[string]*logLine{}
			}
			p = &logLine{time: r.time, stream: r.stream}
			j.pending[r.stream] = p
			j.order = append(j.order, r.stream)
		}
		p.text = append(p.text, r.content...)
		return logLine{}, false
	}
	if p == nil {
		text := make([]byte, 0, len(r.content)+1)
		return logLine{time: r.time, stream: r.stream, text: append(append(text, r.content...), '\n')}, true
	}
	j.forget(r.stream)
	p.text = append(append(p.text, r.content...), '\n')
	return *p, true
}

// incomplete returns the lines whose end has not been written, and forgets
// them.
func (j *joiner) incomplete() []logLine {
	var lines []logLine
	for _, s := range j.order {
		lines = append(lines, *j.pending[s])
	}
	j.pending, j.order = nil, nil
	return lines
}

func (j *joiner) forget(stream string) {
	delete(j.pending, stream)
	for i, s := range j.order {
		if s == stream {
			j.order = append(j.order[:i], j.order[i+1:]...)
			break
		}
	}
}
