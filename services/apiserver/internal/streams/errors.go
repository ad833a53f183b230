package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// agentError maps an error of a call to the agent of node to the API error
// the client sees. Errors that already are API errors pass through.
func agentError(node string, err error) error {
	var api apierrors.APIStatus
	if errors.As(err, &api) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return apierrors.NewInternalError(fmt.Errorf("agent of node %q: %w", node, err))
	}
	msg := st.Message()
	switch st.Code() {
	case codes.NotFound:
		return newStatusError(http.StatusNotFound, metav1.StatusReasonNotFound, msg)
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return apierrors.NewBadRequest(msg)
	case codes.PermissionDenied:
		return newStatusError(http.StatusForbidden, metav1.StatusReasonForbidden, msg)
	case codes.Unavailable:
		return apierrors.NewServiceUnavailable(fmt.Sprintf("unable to reach the agent of node %q: %s", node, msg))
	case codes.DeadlineExceeded:
		return apierrors.NewTimeoutError(fmt.Sprintf("agent of node %q: %s", node, msg), 0)
	}
	return apierrors.NewInternalError(fmt.Errorf("agent of node %q: %s: %s", node, st.Code(), msg))
}

// agentMessage is the text of an agent error, for a client that reads
// plain text (the error stream of a forwarded port).
func agentMessage(node string, err error) string {
	var api apierrors.APIStatus
	if errors.As(agentError(node, err), &api) {
		return api.Status().Message
	}
	return err.Error()
}

func newStatusError(code int32, reason metav1.StatusReason, msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg,
	}}
}

// statusOf is the metav1.Status that reports err.
func statusOf(err error) metav1.Status {
	var api apierrors.APIStatus
	if !errors.As(err, &api) {
		api = apierrors.NewInternalError(err)
	}
	st := api.Status()
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	return st
}

// writeError answers with the metav1.Status of err, in JSON, unless the
// client has gone away.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	st := statusOf(err)
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	if st.Code >= http.StatusInternalServerError {
		h.log.Error("streaming request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body, merr := json.Marshal(st)
	if merr != nil {
		http.Error(w, st.Message, int(st.Code))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(body)
}
