package rest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/registry"
	"github.com/gantry-dev/gantry/services/apiserver/internal/storage"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// minWatchTimeout is the shortest server-side watch lifetime; each watch
// lasts a random time between it and twice it unless the client asks for
// less, so that clients spread their reconnections (as Kubernetes does).
const minWatchTimeout = 30 * time.Minute

func (h *Handler) watch(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	out, err := negotiate(r)
	if err != nil {
		return err
	}
	if out.info.StreamSerializer == nil {
		return apierrors.NewBadRequest("the requested format does not support watch")
	}
	var opts metav1.ListOptions
	if err := decodeParams(r, &opts); err != nil {
		return err
	}
	timeout := minWatchTimeout + time.Duration(rand.Int64N(int64(minWatchTimeout)))
	if opts.TimeoutSeconds != nil && *opts.TimeoutSeconds > 0 {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	ws := &watchStream{w: w, res: req.res, out: out}
	watcher, err := rr.Watch(ctx, req.namespace, opts)
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		// Kubernetes reports a too old resourceVersion as an ERROR event
		// on an established watch.
		ws.start()
		return ws.sendError(err)
	}
	if err != nil {
		return err
	}
	defer watcher.Stop()
	ws.start()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-watcher.Events():
			if !ok {
				return nil
			}
			if err := ws.send(e); err != nil {
				return nil // the client went away
			}
		}
	}
}

// watchStream writes watch events in the negotiated framing.
type watchStream struct {
	w       http.ResponseWriter
	res     *api.Resource
	out     output
	enc     runtime.Encoder
	frame   interface{ Write([]byte) (int, error) }
	columns bool
}

func (s *watchStream) start() {
	ss := s.out.info.StreamSerializer
	mt := s.out.info.MediaType
	if mt != mediaJSON {
		mt += ";stream=watch"
	}
	s.w.Header().Set("Content-Type", mt)
	s.w.Header().Set("Transfer-Encoding", "chunked")
	s.w.WriteHeader(http.StatusOK)
	s.enc = ss.Serializer
	s.frame = ss.Framer.NewFrameWriter(s.w)
	s.columns = true
	s.flush()
}

func (s *watchStream) flush() {
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *watchStream) send(e storage.Event) error {
	obj := e.Obj
	if e.Type == watch.Bookmark {
		obj = s.bookmark(e)
	}
	var inner runtime.Object = obj
	if s.out.as == "Table" && e.Type != watch.Bookmark {
		t, err := toTable(s.res, []runtime.Object{obj}, nil, s.out, s.columns)
		if err != nil {
			return err
		}
		s.columns = false
		inner = t
	} else if s.out.as == "PartialObjectMetadata" && e.Type != watch.Bookmark {
		pom, err := partialMetadata(obj)
		if err != nil {
			return err
		}
		inner = pom
	}
	return s.write(string(e.Type), inner)
}

// bookmark is the object of a BOOKMARK event: an empty object of the kind
// carrying only the resourceVersion (and the end-of-initial-events
// annotation).
func (s *watchStream) bookmark(e storage.Event) runtime.Object {
	obj := s.res.New()
	obj.GetObjectKind().SetGroupVersionKind(s.res.GVK())
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(itoa(e.Rev))
	if e.InitialEventsEnd {
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return obj
}

func (s *watchStream) sendError(err error) error {
	st := statusOf(nil, nil, err)
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	return s.write(string(watch.Error), &st)
}

func (s *watchStream) write(typ string, obj runtime.Object) error {
	var buf bytes.Buffer
	if err := s.out.info.Serializer.Encode(obj, &buf); err != nil {
		return err
	}
	ev := &metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: buf.Bytes()}}
	var frame bytes.Buffer
	if err := s.enc.Encode(ev, &frame); err != nil {
		return err
	}
	if _, err := s.frame.Write(frame.Bytes()); err != nil {
		return err
	}
	s.flush()
	return nil
}
