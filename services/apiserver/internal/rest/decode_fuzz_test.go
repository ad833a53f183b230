package rest

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// FuzzDecodeBody feeds arbitrary bodies of every accepted content type to
// the request decoder of every served kind: it must never panic, and every
// failure must be a 4xx Status.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`), uint8(0), uint8(2))
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n"), uint8(1), uint8(9))
	f.Add([]byte("k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x00"), uint8(2), uint8(5))
	f.Add([]byte(`{"kind":"Service","apiVersion":"v1","spec":{"ports":[{"port":"x"}]}}`), uint8(0), uint8(3))
	f.Add([]byte(`{"a":1,"a":2}`), uint8(0), uint8(0))
	media := []string{mediaJSON, mediaYAML, mediaProtobuf, "text/plain", ""}
	f.Fuzz(func(t *testing.T, body []byte, mediaIdx, resIdx uint8) {
		res := api.Resources[int(resIdx)%len(api.Resources)]
		ct := media[int(mediaIdx)%len(media)]
		for _, validation := range []string{"Strict", "Warn", "Ignore"} {
			r := httptest.NewRequest("POST", res.APIPath()+"/"+res.Resource+"?fieldValidation="+validation, bytes.NewReader(body))
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			w := httptest.NewRecorder()
			obj, err := decodeBody(w, r, res.GVK(), res.New())
			if err == nil {
				if obj == nil || obj.GetObjectKind().GroupVersionKind() != res.GVK() {
					t.Fatalf("decoded %T with kind %v, want %v", obj, obj.GetObjectKind().GroupVersionKind(), res.GVK())
				}
				continue
			}
			var st apierrors.APIStatus
			if !errors.As(err, &st) {
				t.Fatalf("error is not a Status: %v", err)
			}
			if code := st.Status().Code; code < 400 || code > 499 {
				t.Fatalf("code %d for a bad body (%v)", code, err)
			}
		}
	})
}
