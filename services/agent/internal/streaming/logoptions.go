package streaming

import (
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
)

// logOptions are the checked options of a LogsRequest.
type logOptions struct {
	follow     bool
	timestamps bool
	// stream is "stdout", "stderr", or "" for both.
	stream string
	// since drops the lines written before it, when it is set.
	since time.Time
	// tail is the number of lines to end with; negative: all.
	tail int64
	// limit is the number of bytes to end after; negative: no limit.
	limit int64
}

func logOptionsOf(req *agentv1.LogsRequest, now time.Time) (logOptions, error) {
	opts := logOptions{follow: req.GetFollow(), timestamps: req.GetTimestamps(), tail: -1, limit: -1}
	if req.GetPod() == nil {
		return opts, invalid("the pod is required")
	}
	if req.GetContainer() == "" {
		return opts, invalid("a container name is required")
	}
	switch req.GetStream() {
	case agentv1.LogStream_LOG_STREAM_ALL:
	case agentv1.LogStream_LOG_STREAM_STDOUT:
		opts.stream = streamStdout
	case agentv1.LogStream_LOG_STREAM_STDERR:
		opts.stream = streamStderr
	default:
		return opts, invalid("unknown log stream %v", req.GetStream())
	}
	if req.SinceSeconds != nil {
		if req.GetSinceSeconds() < 1 {
			return opts, invalid("sinceSeconds must be greater than 0")
		}
		opts.since = now.Add(-time.Duration(req.GetSinceSeconds()) * time.Second)
	}
	if req.GetSinceTime() != nil {
		if err := req.GetSinceTime().CheckValid(); err != nil {
			return opts, invalid("sinceTime: %v", err)
		}
		opts.since = req.GetSinceTime().AsTime()
	}
	if req.TailLines != nil {
		if req.GetTailLines() < 0 {
			return opts, invalid("tailLines must be greater than or equal to 0")
		}
		opts.tail = req.GetTailLines()
	}
	if req.LimitBytes != nil {
		if req.GetLimitBytes() < 1 {
			return opts, invalid("limitBytes must be greater than 0")
		}
		opts.limit = req.GetLimitBytes()
	}
	return opts, nil
}

// selects reports whether the options keep a line (before tail and limit).
func (o logOptions) selects(l logLine) bool {
	if o.stream != "" && l.stream != o.stream {
		return false
	}
	return o.since.IsZero() || !l.time.Before(o.since)
}
