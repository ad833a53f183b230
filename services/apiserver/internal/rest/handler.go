package rest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/patch"
	"github.com/gantry-dev/gantry/services/apiserver/internal/registry"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxBodyBytes is the largest request body accepted, as Kubernetes'
// default (3 MiB).
const MaxBodyBytes = 3 << 20

// Handler serves /api and /apis.
type Handler struct {
	reg *registry.Registry
	log *slog.Logger
	// Streams serves pods/log, exec and portforward; nil answers 503.
	Streams http.Handler
}

// New returns the REST facade over reg.
func New(reg *registry.Registry, log *slog.Logger) *Handler {
	return &Handler{reg: reg, log: log.With("component", "rest")}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok, err := parseResourcePath(r)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	if !ok {
		h.serveDiscovery(w, r)
		return
	}
	if err := h.serve(w, r, req); err != nil {
		writeError(w, r, h.log, err)
	}
}

// RequestInfo describes a resource request for metrics and logs.
type RequestInfo struct {
	Verb, Resource, Subresource string
}

// Describe returns what the request does, for the metrics middleware.
func Describe(r *http.Request) RequestInfo {
	req, ok, err := parseResourcePath(r)
	if !ok || err != nil || req.res == nil {
		return RequestInfo{Verb: strings.ToLower(r.Method)}
	}
	return RequestInfo{Verb: req.verb, Resource: req.res.Resource, Subresource: req.subresource}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, req request) error {
	rr, ok := h.reg.Resource(req.res.GVR())
	if !ok {
		return notFoundPath(r)
	}
	switch req.subresource {
	case "log", "exec", "attach", "portforward":
		if h.Streams == nil {
			return apierrors.NewServiceUnavailable("streaming from nodes is not available")
		}
		h.Streams.ServeHTTP(w, r)
		return nil
	case "binding", "eviction":
		if req.verb != "create" {
			return methodNotAllowed(r)
		}
		return h.postToPod(w, r, rr, req)
	case "scale":
		return h.serveScale(w, r, rr, req)
	case "finalize":
		if req.verb != "update" {
			return methodNotAllowed(r)
		}
	}
	switch req.verb {
	case "get":
		return h.get(w, r, rr, req)
	case "list":
		return h.list(w, r, rr, req)
	case "watch":
		return h.watch(w, r, rr, req)
	case "create":
		if req.name != "" {
			return methodNotAllowed(r)
		}
		return h.create(w, r, rr, req)
	case "update":
		return h.update(w, r, rr, req)
	case "patch":
		return h.patch(w, r, rr, req)
	case "delete":
		return h.delete(w, r, rr, req)
	case "deletecollection":
		return h.deleteCollection(w, r, rr, req)
	}
	return methodNotAllowed(r)
}

func methodNotAllowed(r *http.Request) error {
	return apierrors.NewMethodNotSupported(schemaGR, r.Method)
}

// decodeParams reads query parameters into an options struct.
func decodeParams(r *http.Request, into runtime.Object) error {
	if err := api.ParameterCodec.DecodeParameters(r.URL.Query(), metav1.SchemeGroupVersion, into); err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	return nil
}

// readBody reads a request body up to MaxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading the request body: %v", err))
	}
	if len(body) > MaxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", MaxBodyBytes))
	}
	return body, nil
}

// decodeBody decodes the request body into a new object of kind gvk,
// honouring fieldValidation (Strict rejects unknown and duplicate fields,
// Warn reports them in Warning headers, Ignore drops them).
func decodeBody(w http.ResponseWriter, r *http.Request, gvk schema.GroupVersionKind, into runtime.Object) (runtime.Object, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return nil, apierrors.NewBadRequest("the request body is empty")
	}
	info, err := bodyDecoder(r)
	if err != nil {
		return nil, err
	}
	validation := r.URL.Query().Get("fieldValidation")
	dec := info.Serializer
	switch {
	case validation == "Ignore":
		if lenient, ok := runtime.SerializerInfoForMediaType(api.LenientCodecs.SupportedMediaTypes(), info.MediaType); ok {
			dec = lenient.Serializer
		}
	case info.StrictSerializer != nil:
		dec = info.StrictSerializer
	}
	obj, got, err := dec.Decode(body, &gvk, into)
	cannot := func(err error) error {
		// Kubernetes' wording, which kubectl prints as it is.
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
	}
	if err != nil && runtime.IsStrictDecodingError(err) && obj != nil {
		if validation == "Strict" {
			return nil, cannot(err)
		}
		if strict, ok := runtime.AsStrictDecodingError(err); ok {
			for _, e := range strict.Errors() {
				w.Header().Add("Warning", fmt.Sprintf(`299 - %q`, e))
			}
		}
		err = nil
	}
	if err != nil {
		return nil, cannot(err)
	}
	if got != nil && (got.Kind != "" && got.Kind != gvk.Kind || got.GroupVersion() != gvk.GroupVersion() && got.Version != "") {
		if got.GroupVersion() != gvk.GroupVersion() {
			return nil, apierrors.NewBadRequest(fmt.Sprintf(
				"the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), gvk.GroupVersion()))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf(
			"the kind in the data (%s) does not match the expected kind (%s)", got.Kind, gvk.Kind))
	}
	if obj != into {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the object provided is not a %s", gvk.Kind))
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	out, err := negotiate(r)
	if err != nil {
		return err
	}
	var opts metav1.GetOptions
	if err := decodeParams(r, &opts); err != nil {
		return err
	}
	obj, err := rr.Get(r.Context(), req.namespace, req.name, opts)
	if err != nil {
		return err
	}
	return respondObject(w, http.StatusOK, req.res, obj, out)
}

// respondObject writes one object, as a Table or metadata when asked.
func respondObject(w http.ResponseWriter, code int, res *api.Resource, obj runtime.Object, out output) error {
	switch out.as {
	case "Table":
		t, err := toTable(res, []runtime.Object{obj}, nil, out, true)
		if err != nil {
			return err
		}
		writeObject(w, code, t, out)
	case "PartialObjectMetadata":
		pom, err := partialMetadata(obj)
		if err != nil {
			return err
		}
		writeObject(w, code, pom, out)
	default:
		writeObject(w, code, obj, out)
	}
	return nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	out, err := negotiate(r)
	if err != nil {
		return err
	}
	var opts metav1.ListOptions
	if err := decodeParams(r, &opts); err != nil {
		return err
	}
	list, err := rr.List(r.Context(), req.namespace, opts)
	if err != nil {
		return err
	}
	if out.as == "" {
		writeObject(w, http.StatusOK, list, out)
		return nil
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return err
	}
	switch out.as {
	case "Table":
		t, err := toTable(req.res, items, lm, out, true)
		if err != nil {
			return err
		}
		writeObject(w, http.StatusOK, t, out)
	default:
		pl, err := partialMetadataList(items, lm)
		if err != nil {
			return err
		}
		writeObject(w, http.StatusOK, pl, out)
	}
	return nil
}

// writeRequest reads what create and update share: the response format,
// the options from the query (checked by validate, reported as a 422 on
// optionsKind) and the object in the body.
func writeRequest(w http.ResponseWriter, r *http.Request, req request, opts runtime.Object, optionsKind string,
	validate func() field.ErrorList) (output, runtime.Object, error) {
	out, err := negotiate(r)
	if err != nil {
		return out, nil, err
	}
	if err := decodeParams(r, opts); err != nil {
		return out, nil, err
	}
	if errs := validate(); len(errs) > 0 {
		return out, nil, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: optionsKind}, "", errs)
	}
	obj, err := decodeBody(w, r, req.res.GVK(), req.res.New())
	return out, obj, err
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	var opts metav1.CreateOptions
	out, obj, err := writeRequest(w, r, req, &opts, "CreateOptions",
		func() field.ErrorList { return metav1validation.ValidateCreateOptions(&opts) })
	if err != nil {
		return err
	}
	opts.FieldManager = patch.ManagerName(opts.FieldManager, r.UserAgent())
	created, err := rr.Create(r.Context(), req.namespace, obj, opts)
	if err != nil {
		return err
	}
	return respondObject(w, http.StatusCreated, req.res, created, out)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	if req.name == "" {
		return methodNotAllowed(r)
	}
	var opts metav1.UpdateOptions
	out, obj, err := writeRequest(w, r, req, &opts, "UpdateOptions",
		func() field.ErrorList { return metav1validation.ValidateUpdateOptions(&opts) })
	if err != nil {
		return err
	}
	opts.FieldManager = patch.ManagerName(opts.FieldManager, r.UserAgent())
	updated, created, err := rr.Update(r.Context(), req.namespace, req.name, req.subresource, obj, opts)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	return respondObject(w, code, req.res, updated, out)
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	if req.name == "" {
		return methodNotAllowed(r)
	}
	out, err := negotiate(r)
	if err != nil {
		return err
	}
	var opts metav1.PatchOptions
	if err := decodeParams(r, &opts); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	pt, err := patch.ParsePatchType(r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	obj, created, warnings, err := rr.Patch(r.Context(), req.namespace, req.name, req.subresource, pt, body, opts, r.UserAgent())
	for _, wn := range warnings {
		w.Header().Add("Warning", fmt.Sprintf(`299 - %q`, wn))
	}
	if err != nil {
		return err
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	return respondObject(w, code, req.res, obj, out)
}

// deleteOptions reads DeleteOptions from the body (if any) and the query.
func deleteOptions(w http.ResponseWriter, r *http.Request) (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	if r.ContentLength != 0 && r.Body != nil {
		body, err := readBody(r)
		if err != nil {
			return opts, err
		}
		if len(body) > 0 {
			info, err := bodyDecoder(r)
			if err != nil {
				return opts, err
			}
			gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
			obj, got, err := info.Serializer.Decode(body, &gvk, &opts)
			if err != nil {
				return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid delete options: %v", err))
			}
			if obj != &opts || got != nil && got.Kind != "" && got.Kind != "DeleteOptions" {
				return opts, apierrors.NewBadRequest(fmt.Sprintf("the body of a delete must be DeleteOptions, not %s", got.Kind))
			}
		}
	}
	var q metav1.DeleteOptions
	if err := decodeParams(r, &q); err != nil {
		return opts, err
	}
	if q.GracePeriodSeconds != nil {
		opts.GracePeriodSeconds = q.GracePeriodSeconds
	}
	if q.PropagationPolicy != nil {
		opts.PropagationPolicy = q.PropagationPolicy
	}
	if len(q.DryRun) > 0 {
		opts.DryRun = q.DryRun
	}
	if opts.OrphanDependents != nil && opts.PropagationPolicy == nil {
		p := metav1.DeletePropagationBackground
		if *opts.OrphanDependents {
			p = metav1.DeletePropagationOrphan
		}
		opts.PropagationPolicy = &p
	}
	return opts, nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	if req.subresource != "" {
		return methodNotAllowed(r)
	}
	out, err := negotiate(r)
	if err != nil {
		return err
	}
	opts, err := deleteOptions(w, r)
	if err != nil {
		return err
	}
	obj, deleted, err := rr.Delete(r.Context(), req.namespace, req.name, opts)
	if err != nil {
		return err
	}
	if !deleted {
		return respondObject(w, http.StatusAccepted, req.res, obj, out)
	}
	if req.res.Resource == "pods" {
		return respondObject(w, http.StatusOK, req.res, obj, out)
	}
	m, _ := meta.Accessor(obj)
	writeStatus(w, metav1.Status{
		Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{
			Name: req.name, Group: req.res.Group, Kind: req.res.Resource, UID: m.GetUID(),
		},
	}, out)
	return nil
}

func (h *Handler) deleteCollection(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	out, err := negotiate(r)
	if err != nil {
		return err
	}
	opts, err := deleteOptions(w, r)
	if err != nil {
		return err
	}
	var lo metav1.ListOptions
	if err := decodeParams(r, &lo); err != nil {
		return err
	}
	list, err := rr.List(r.Context(), req.namespace, lo)
	if err != nil {
		return err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	for _, item := range items {
		m, _ := meta.Accessor(item)
		if _, _, err := rr.Delete(r.Context(), m.GetNamespace(), m.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	writeStatus(w, metav1.Status{Status: metav1.StatusSuccess}, out)
	return nil
}

// postToPod serves pods/binding and pods/eviction.
func (h *Handler) postToPod(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	out, err := negotiate(r)
	if err != nil {
		return err
	}
	var opts metav1.CreateOptions
	if err := decodeParams(r, &opts); err != nil {
		return err
	}
	ctx := r.Context()
	if req.subresource == "binding" {
		obj, err := decodeBody(w, r, corev1.SchemeGroupVersion.WithKind("Binding"), &corev1.Binding{})
		if err != nil {
			return err
		}
		if err := rr.Bind(ctx, req.namespace, req.name, obj.(*corev1.Binding), opts); err != nil {
			return err
		}
	} else {
		obj, err := decodeEviction(w, r)
		if err != nil {
			return err
		}
		if err := rr.Evict(ctx, req.namespace, req.name, obj); err != nil {
			return err
		}
	}
	writeStatus(w, metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated}, out)
	return nil
}

func decodeEviction(w http.ResponseWriter, r *http.Request) (*policyv1.Eviction, error) {
	obj, err := decodeBody(w, r, policyv1.SchemeGroupVersion.WithKind("Eviction"), &policyv1.Eviction{})
	if err != nil {
		return nil, err
	}
	return obj.(*policyv1.Eviction), nil
}

// serveScale serves the scale subresource.
func (h *Handler) serveScale(w http.ResponseWriter, r *http.Request, rr *registry.Resource, req request) error {
	out, err := negotiate(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	switch req.verb {
	case "get":
		sc, err := rr.Scale(ctx, req.namespace, req.name)
		if err != nil {
			return err
		}
		writeObject(w, http.StatusOK, sc, out)
		return nil
	case "update":
		var opts metav1.UpdateOptions
		if err := decodeParams(r, &opts); err != nil {
			return err
		}
		obj, err := decodeBody(w, r, autoscalingv1.SchemeGroupVersion.WithKind("Scale"), &autoscalingv1.Scale{})
		if err != nil {
			return err
		}
		want := obj.(*autoscalingv1.Scale)
		sc, err := rr.UpdateScale(ctx, req.namespace, req.name, len(opts.DryRun) > 0, patch.ManagerName(opts.FieldManager, r.UserAgent()),
			func(*autoscalingv1.Scale) (*autoscalingv1.Scale, error) { return want, nil })
		if err != nil {
			return err
		}
		writeObject(w, http.StatusOK, sc, out)
		return nil
	case "patch":
		var opts metav1.PatchOptions
		if err := decodeParams(r, &opts); err != nil {
			return err
		}
		body, err := readBody(r)
		if err != nil {
			return err
		}
		pt, err := patch.ParsePatchType(r.Header.Get("Content-Type"))
		if err != nil {
			return err
		}
		sc, err := rr.UpdateScale(ctx, req.namespace, req.name, len(opts.DryRun) > 0, patch.ManagerName(opts.FieldManager, r.UserAgent()),
			func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
				return registry.PatchScale(cur, pt, body)
			})
		if err != nil {
			return err
		}
		writeObject(w, http.StatusOK, sc, out)
		return nil
	}
	return methodNotAllowed(r)
}
