package grpcapi

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/libs/client/wire"
	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/storage"
	"google.golang.org/grpc/metadata"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// minWatchTimeout is the shortest server-side watch lifetime; each watch
// lasts a random time between it and twice it unless the client asks for
// less, so that clients spread their reconnections (as REST does).
const minWatchTimeout = 30 * time.Minute

// Watch streams the changes of a resource until the client goes away or
// the watch times out. Errors before the watch starts (410 for a
// resourceVersion too old) end the stream with a status and without the
// started header.
func (s *Service) Watch(req *apiv1.WatchRequest, stream apiv1.Resources_WatchServer) error {
	ctx, c, err := s.begin(stream.Context(), "watch", req.GetTarget())
	if err != nil {
		return s.fail("watch", req.GetTarget(), err)
	}
	opts := wire.ListOptionsFromProto(req.GetOptions())
	ctx, cancel := context.WithTimeout(ctx, watchTimeout(opts.TimeoutSeconds))
	defer cancel()
	w, err := c.rr.Watch(ctx, c.ns, opts)
	if err != nil {
		return s.fail("watch", req.GetTarget(), err)
	}
	defer w.Stop()
	if err := stream.SendHeader(metadata.Pairs(wire.WatchStartedHeader, "true")); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Events():
			if !ok {
				return nil // the cache ended the watch; the client resumes
			}
			ev, err := watchEvent(c.res, e)
			if err != nil {
				return s.fail("watch", req.GetTarget(), err)
			}
			if err := stream.Send(ev); err != nil {
				return err // the client went away
			}
		}
	}
}

func watchTimeout(seconds *int64) time.Duration {
	if seconds != nil && *seconds > 0 {
		return time.Duration(*seconds) * time.Second
	}
	return minWatchTimeout + time.Duration(rand.Int64N(int64(minWatchTimeout)))
}

// watchEvent encodes one event of the cache.
func watchEvent(res *api.Resource, e storage.Event) (*apiv1.WatchEvent, error) {
	obj := e.Obj
	if e.Type == watch.Bookmark {
		obj = bookmark(res, e)
	}
	raw, err := wire.Encode(obj, res.GVK())
	if err != nil {
		return nil, err
	}
	return &apiv1.WatchEvent{Type: string(e.Type), Object: raw}, nil
}

// bookmark is the object of a BOOKMARK event: an empty object of the kind
// carrying only the resourceVersion, and the end-of-initial-events
// annotation when it ends the initial events.
func bookmark(res *api.Resource, e storage.Event) runtime.Object {
	obj := res.New()
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(strconv.FormatInt(e.Rev, 10))
	if e.InitialEventsEnd {
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return obj
}
