package wire

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// StatusKind is the kind errors are encoded as: v1 Status, as REST sends
// them.
var StatusKind = schema.GroupVersionKind{Version: "v1", Kind: "Status"}

// Status returns the metav1.Status of err: its own for Kubernetes API
// errors, 504 Timeout for an ended context, 500 InternalError for
// anything else.
func Status(err error) metav1.Status {
	var api apierrors.APIStatus
	switch {
	case errors.As(err, &api):
		return api.Status()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apierrors.NewTimeoutError(err.Error(), 0).Status()
	}
	return apierrors.NewInternalError(err).Status()
}

// ToGRPC turns err into the gRPC status error the service returns: the
// code follows the HTTP code of err's metav1.Status, and the details hold
// that Status (an ErrorStatus).
func ToGRPC(err error) error {
	if err == nil {
		return nil
	}
	st := Status(err)
	st.TypeMeta = metav1.TypeMeta{Kind: StatusKind.Kind, APIVersion: StatusKind.Version}
	s := status.New(Code(st), st.Message)
	raw, encErr := Encode(&st, StatusKind)
	if encErr != nil {
		return s.Err()
	}
	if withDetails, detailErr := s.WithDetails(&apiv1.ErrorStatus{Status: raw}); detailErr == nil {
		s = withDetails
	}
	return s.Err()
}

// FromGRPC turns an error of a gRPC call into the Kubernetes API error the
// server meant: the exact apierrors.StatusError when the status carries an
// ErrorStatus, one built from the gRPC code otherwise (transport failures,
// calls refused before reaching the service). A cancelled or expired call
// wraps context.Canceled or context.DeadlineExceeded.
func FromGRPC(err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range s.Details() {
		es, ok := d.(*apiv1.ErrorStatus)
		if !ok {
			continue
		}
		var st metav1.Status
		if _, decErr := Decode(es.Status, &st); decErr == nil {
			return &apierrors.StatusError{ErrStatus: st}
		}
	}
	switch s.Code() {
	case codes.Canceled:
		return fmt.Errorf("%s: %w", s.Message(), context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", s.Message(), context.DeadlineExceeded)
	}
	code, reason := httpCode(s.Code())
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: StatusKind.Kind, APIVersion: StatusKind.Version},
		Status:   metav1.StatusFailure, Code: code, Reason: reason, Message: s.Message(),
	}}
}

// Code is the gRPC code of a Kubernetes error status.
func Code(st metav1.Status) codes.Code {
	switch st.Code {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusMethodNotAllowed:
		return codes.Unimplemented
	case http.StatusConflict:
		if st.Reason == metav1.StatusReasonAlreadyExists {
			return codes.AlreadyExists
		}
		return codes.Aborted
	case http.StatusGone:
		return codes.OutOfRange
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusInternalServerError:
		return codes.Internal
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	return codes.Unknown
}

// httpCode is the HTTP code and reason that best match a gRPC code; it is
// used only for statuses without an ErrorStatus.
func httpCode(c codes.Code) (int32, metav1.StatusReason) {
	switch c {
	case codes.InvalidArgument:
		return http.StatusBadRequest, metav1.StatusReasonBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized, metav1.StatusReasonUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden, metav1.StatusReasonForbidden
	case codes.NotFound:
		return http.StatusNotFound, metav1.StatusReasonNotFound
	case codes.Unimplemented:
		return http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed
	case codes.AlreadyExists:
		return http.StatusConflict, metav1.StatusReasonAlreadyExists
	case codes.Aborted:
		return http.StatusConflict, metav1.StatusReasonConflict
	case codes.OutOfRange:
		return http.StatusGone, metav1.StatusReasonExpired
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests
	case codes.Unavailable:
		return http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable
	}
	return http.StatusInternalServerError, metav1.StatusReasonInternalError
}
