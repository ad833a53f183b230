package openapi

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// Media types of the documents. The "@" spellings are the older ones
// client-go still sends; kube-apiserver answers them with the "." ones.
const (
	mediaJSON          = "application/json"
	mediaV2Proto       = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	mediaV2ProtoLegacy = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mediaV3Proto       = "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"
	mediaV3ProtoLegacy = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
)

// Handler serves /openapi/v2, /openapi/v3 and /openapi/v3/<group version>.
// Its documents are built once, by New, and never change.
type Handler struct {
	docs *documentSet
}

// NewHandler builds the documents of every resource in api.Resources.
func NewHandler() (*Handler, error) {
	return New(api.Resources, api.Scheme)
}

// New builds the documents of the given resources; scheme names the
// group/version/kinds of their Go types.
func New(resources []*api.Resource, scheme *runtime.Scheme) (*Handler, error) {
	docs, err := buildDocuments(resources, scheme)
	if err != nil {
		return nil, err
	}
	return &Handler{docs: docs}, nil
}

// offer is a media type a document can be served as.
type offer struct {
	accept      string // as the client asks for it
	contentType string // as the response is labelled
	proto       bool
}

var (
	v2Offers = []offer{
		{mediaJSON, mediaJSON, false},
		{mediaV2Proto, mediaV2Proto, true},
		{mediaV2ProtoLegacy, mediaV2Proto, true},
	}
	v3Offers = []offer{
		{mediaJSON, mediaJSON, false},
		{mediaV3Proto, mediaV3Proto, true},
		{mediaV3ProtoLegacy, mediaV3Proto, true},
	}
)

// ServeHTTP answers GET and HEAD requests for paths under /openapi/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch path := r.URL.Path; {
	case path == "/openapi/v2":
		h.serveDocument(w, r, h.docs.v2, v2Offers, "")
	case path == "/openapi/v3":
		serveBytes(w, r, mediaJSON, h.docs.etag, h.docs.index)
	case strings.HasPrefix(path, "/openapi/v3/"):
		key := strings.TrimPrefix(path, "/openapi/v3/")
		doc, ok := h.docs.v3[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.serveDocument(w, r, doc, v3Offers, key)
	default:
		http.NotFound(w, r)
	}
}

// serveDocument negotiates the media type and serves doc. For v3
// documents (key set) a hash query parameter equal to the document's hash
// makes the response cacheable forever; a stale hash is redirected to the
// current URL, as kube-apiserver does.
func (h *Handler) serveDocument(w http.ResponseWriter, r *http.Request, doc *document, offers []offer, key string) {
	w.Header().Add("Vary", "Accept")
	chosen, ok := negotiate(r.Header.Get("Accept"), offers)
	if !ok {
		http.Error(w, "unsupported media type requested", http.StatusNotAcceptable)
		return
	}
	if want := r.URL.Query().Get("hash"); key != "" && want != "" {
		if want != doc.etag {
			http.Redirect(w, r, v3URL(key, doc.etag), http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "public, immutable")
		w.Header().Set("Expires", time.Now().UTC().AddDate(1, 0, 0).Format(http.TimeFormat))
	}
	data := doc.json
	if chosen.proto {
		var err error
		if data, err = doc.proto.get(); err != nil {
			http.Error(w, "encoding OpenAPI document: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	serveBytes(w, r, chosen.contentType, doc.etag, data)
}

// serveBytes writes data with its ETag; http.ServeContent answers
// If-None-Match with 304 and HEAD without a body.
func serveBytes(w http.ResponseWriter, r *http.Request, contentType, etag string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("ETag", strconv.Quote(etag))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// negotiate picks the first offer matched by the highest-weighted media
// range of an Accept header; no header accepts anything.
func negotiate(accept string, offers []offer) (offer, bool) {
	for _, mediaRange := range parseAccept(accept) {
		for _, o := range offers {
			if mediaMatches(mediaRange, o.accept) {
				return o, true
			}
		}
	}
	return offer{}, false
}

// parseAccept returns the media ranges of an Accept header by descending
// q value, keeping the header's order among equals. Media type names are
// not parsed by package mime: the protobuf ones contain "@".
func parseAccept(header string) []string {
	if strings.TrimSpace(header) == "" {
		return []string{"*/*"}
	}
	type weighted struct {
		mediaRange string
		q          float64
	}
	var ranges []weighted
	for _, clause := range strings.Split(header, ",") {
		parts := strings.Split(clause, ";")
		w := weighted{mediaRange: strings.ToLower(strings.TrimSpace(parts[0])), q: 1}
		for _, p := range parts[1:] {
			name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(name, "q") {
				if q, err := strconv.ParseFloat(value, 64); err == nil {
					w.q = q
				}
			}
		}
		if w.mediaRange != "" && w.q > 0 {
			ranges = append(ranges, w)
		}
	}
	sort.SliceStable(ranges, func(i, j int) bool { return ranges[i].q > ranges[j].q })
	out := make([]string, len(ranges))
	for i, w := range ranges {
		out[i] = w.mediaRange
	}
	return out
}

func mediaMatches(mediaRange, mediaType string) bool {
	if mediaRange == "*/*" || mediaRange == mediaType {
		return true
	}
	typ, sub, _ := strings.Cut(mediaRange, "/")
	return sub == "*" && strings.HasPrefix(mediaType, typ+"/")
}
