package client

import (
	"context"
	"errors"
	"io"

	"github.com/gantry-dev/gantry/libs/client/wire"
	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	"google.golang.org/grpc"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// streamWatch is a watch.Interface over one Watch stream.
type streamWatch struct {
	cancel context.CancelFunc
	result chan watch.Event
}

type watchStream = grpc.ServerStreamingClient[apiv1.WatchEvent]

// startWatch opens a Watch stream and waits until the server has
// established the watch, so that errors such as 410 Expired come back
// from the call rather than as events.
func startWatch(ctx context.Context, api apiv1.ResourcesClient, req *apiv1.WatchRequest,
	decode func([]byte) (runtime.Object, error)) (watch.Interface, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := api.Watch(ctx, req)
	if err == nil {
		err = waitStarted(stream)
	}
	if err != nil {
		cancel()
		return nil, wire.FromGRPC(err)
	}
	w := &streamWatch{cancel: cancel, result: make(chan watch.Event)}
	go w.receive(ctx, stream, decode)
	return w, nil
}

func waitStarted(stream watchStream) error {
	md, err := stream.Header()
	if err != nil {
		return err
	}
	if len(md.Get(wire.WatchStartedHeader)) > 0 {
		return nil
	}
	// The stream ended before the watch started: its status is the error.
	if _, err := stream.Recv(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return apierrors.NewInternalError(errors.New("the watch stream ended before it started"))
}

// ResultChan delivers the events; it is closed when the watch ends.
func (w *streamWatch) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the watch; ResultChan is closed soon after.
func (w *streamWatch) Stop() { w.cancel() }

// receive turns stream messages into events until the stream ends.
func (w *streamWatch) receive(ctx context.Context, stream watchStream, decode func([]byte) (runtime.Object, error)) {
	defer close(w.result)
	defer w.cancel()
	for {
		ev, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				w.send(ctx, errorEvent(wire.FromGRPC(err)))
			}
			return
		}
		obj, err := decode(ev.Object)
		if err != nil {
			w.send(ctx, errorEvent(apierrors.NewInternalError(err)))
			return
		}
		if !w.send(ctx, watch.Event{Type: watch.EventType(ev.Type), Object: obj}) {
			return
		}
	}
}

func (w *streamWatch) send(ctx context.Context, e watch.Event) bool {
	select {
	case w.result <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

// errorEvent is the Error event of a failed watch: its metav1.Status.
func errorEvent(err error) watch.Event {
	st := wire.Status(err)
	return watch.Event{Type: watch.Error, Object: &st}
}
