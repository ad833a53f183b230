package rest

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

// output is the negotiated response format.
type output struct {
	info runtime.SerializerInfo
	// as is "" for the object itself, "Table", "PartialObjectMetadata" or
	// "PartialObjectMetadataList".
	as string
	// includeObject for tables: "None", "Metadata" (default), "Object".
	includeObject string
}

const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

func serializerFor(mediaType string) (runtime.SerializerInfo, bool) {
	for _, info := range api.Codecs.SupportedMediaTypes() {
		if info.MediaType == mediaType {
			return info, true
		}
	}
	return runtime.SerializerInfo{}, false
}

// negotiate picks the response format from the Accept header. Clients that
// accept anything get JSON.
func negotiate(r *http.Request) (output, error) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	for _, clause := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		if mt == "*/*" || mt == "application/*" {
			mt = mediaJSON
		}
		info, ok := serializerFor(mt)
		if !ok {
			continue
		}
		out := output{info: info}
		if as := params["as"]; as != "" {
			if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
				out.as = as
			default:
				continue
			}
		}
		out.includeObject = r.URL.Query().Get("includeObject")
		return out, nil
	}
	return output{}, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, r.Method, schemaGR, "",
		"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false)
}

// bodyDecoder picks the decoder for the request body's Content-Type.
func bodyDecoder(r *http.Request) (runtime.SerializerInfo, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = mediaJSON
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return runtime.SerializerInfo{}, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, r.Method, schemaGR, "",
			fmt.Sprintf("invalid Content-Type %q", ct), 0, false)
	}
	info, ok := serializerFor(mt)
	if !ok {
		return runtime.SerializerInfo{}, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, r.Method, schemaGR, "",
			"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false)
	}
	return info, nil
}
