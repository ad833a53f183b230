package rest

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var schemaGR = schema.GroupResource{}

// writeObject encodes obj in the negotiated format.
func writeObject(w http.ResponseWriter, code int, obj runtime.Object, out output) {
	var buf bytes.Buffer
	if err := out.info.Serializer.Encode(obj, &buf); err != nil {
		writeStatus(w, apierrors.NewInternalError(fmt.Errorf("encode %T: %w", obj, err)).Status(), output{})
		return
	}
	w.Header().Set("Content-Type", out.info.MediaType)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// WriteError answers with the metav1.Status of err, in the encoding the
// client accepts: for errors raised in front of the handler (authorization).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(w, r, log, err)
}

// writeError answers with the metav1.Status of err.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	out, nerr := negotiate(r)
	if nerr != nil || out.as != "" {
		out = output{}
	}
	writeStatus(w, statusOf(r, log, err), out)
}

func statusOf(r *http.Request, log *slog.Logger, err error) metav1.Status {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		st := s.Status()
		if st.Code == http.StatusInternalServerError && log != nil {
			log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		return st
	}
	if log != nil {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return apierrors.NewInternalError(err).Status()
}

func writeStatus(w http.ResponseWriter, st metav1.Status, out output) {
	if out.info.Serializer == nil {
		out.info, _ = serializerFor(mediaJSON)
	}
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
		if st.Status == metav1.StatusSuccess {
			code = http.StatusOK
		}
	}
	writeObject(w, code, &st, out)
}
