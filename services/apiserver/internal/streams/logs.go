package streams

import (
	"errors"
	"io"
	"net/http"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
	corev1 "k8s.io/api/core/v1"
)

// serveLog answers GET pods/{name}/log with the container's log as plain
// text, flushed chunk by chunk.
func (h *Handler) serveLog(w http.ResponseWriter, r *http.Request, req request) error {
	opts, err := logOptions(r.URL.Query(), req.name)
	if err != nil {
		return err
	}
	ctx := r.Context()
	pod, err := h.objects.Pod(ctx, req.namespace, req.name)
	if err != nil {
		return err
	}
	container, err := podContainer(pod, opts.Container)
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		// Like Kubernetes: a pod that is not scheduled has an empty log.
		startLog(w)
		return nil
	}
	if err := checkLogStatus(pod, container, opts.Previous); err != nil {
		return err
	}
	agent, err := h.dialAgent(ctx, pod)
	if err != nil {
		return err
	}
	defer agent.close()
	stream, err := agent.Logs(ctx, logsRequest(pod, container, opts))
	if err != nil {
		return agentError(agent.node, err)
	}
	if err := accepted(stream, new(agentv1.LogChunk)); err != nil && !errors.Is(err, io.EOF) {
		return agentError(agent.node, err)
	}
	startLog(w)
	if err := copyLog(w, stream, opts.LimitBytes); err != nil && ctx.Err() == nil {
		h.log.Debug("log stream ended early", "pod", req.namespace+"/"+req.name, "container", container, "err", err)
	}
	return nil
}

func logsRequest(pod *corev1.Pod, container string, opts *corev1.PodLogOptions) *agentv1.LogsRequest {
	lr := &agentv1.LogsRequest{
		Pod:          podRef(pod),
		Container:    container,
		Follow:       opts.Follow,
		Previous:     opts.Previous,
		SinceSeconds: opts.SinceSeconds,
		Timestamps:   opts.Timestamps,
		TailLines:    opts.TailLines,
		LimitBytes:   opts.LimitBytes,
	}
	if opts.SinceTime != nil {
		lr.SinceTime = timestamppb.New(opts.SinceTime.Time)
	}
	if opts.Stream != nil {
		switch *opts.Stream {
		case corev1.LogStreamStdout:
			lr.Stream = agentv1.LogStream_LOG_STREAM_STDOUT
		case corev1.LogStreamStderr:
			lr.Stream = agentv1.LogStream_LOG_STREAM_STDERR
		}
	}
	return lr
}

// accepted waits for the agent's response headers, which it sends once it
// has accepted a call. It returns the agent's refusal, or io.EOF when the
// call ended at once without one. m receives no message (there is none
// before the headers); it only gives RecvMsg a type.
func accepted(s grpc.ClientStream, m any) error {
	md, err := s.Header()
	if err != nil || md != nil {
		return err
	}
	return s.RecvMsg(m)
}

func startLog(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(w).Flush()
}

// copyLog writes the log as it comes, up to limit bytes when set.
func copyLog(w http.ResponseWriter, stream agentv1.Agent_LogsClient, limit *int64) error {
	rc := http.NewResponseController(w)
	left := int64(-1)
	if limit != nil {
		left = *limit
	}
	for left != 0 {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		data := chunk.GetData()
		if left > 0 && int64(len(data)) > left {
			data = data[:left]
		}
		if left > 0 {
			left -= int64(len(data))
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil {
			return err
		}
	}
	return nil
}
