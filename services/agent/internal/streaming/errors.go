package streaming

import (
	"context"
	"errors"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors a PodLookup wraps (fmt.Errorf with %w) to say what went wrong.
var (
	// ErrNotFound: the agent runs no such pod (or uid), or the pod has no
	// such container. The caller gets NotFound.
	ErrNotFound = errors.New("not found")
	// ErrNotStarted: the container has no instance yet (it is waiting),
	// or no previous one. The caller gets FailedPrecondition.
	ErrNotStarted = errors.New("not started")
)

// toStatus maps an error of the pod lookup, the runtime or the call to
// the gRPC status the caller gets; the text stays the error's.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var code codes.Code
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, runtime.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrNotStarted):
		code = codes.FailedPrecondition
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	default:
		code = codes.Internal
	}
	return status.Error(code, err.Error())
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
