package grpcapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/libs/client/wire"
	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/authn"
	"github.com/gantry-dev/gantry/services/apiserver/internal/patch"
	"github.com/gantry-dev/gantry/services/apiserver/internal/registry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Service serves gantry.api.v1.Resources over the registry.
type Service struct {
	apiv1.UnimplementedResourcesServer
	reg  *registry.Registry
	auth *authn.Authenticator
	log  *slog.Logger
}

// Register adds the Resources service to s. Every call authenticates
// with auth, whatever interceptors s has.
func Register(s grpc.ServiceRegistrar, reg *registry.Registry, auth *authn.Authenticator, log *slog.Logger) {
	apiv1.RegisterResourcesServer(s, &Service{reg: reg, auth: auth, log: log.With("component", "grpcapi")})
}

// call is one authenticated request for a served resource.
type call struct {
	rr  *registry.Resource
	res *api.Resource
	ns  string
	// name and sub are the target's object and subresource.
	name, sub string
	// agent is the first word of the caller's user agent, the default
	// field manager.
	agent string
}

// verbRule says what a verb accepts: whether it names one object, and
// which subresources besides none.
type verbRule struct {
	named        bool
	subresources []string
}

var verbs = map[string]verbRule{
	"get":          {named: true},
	"list":         {},
	"watch":        {},
	"create":       {},
	"update":       {named: true, subresources: []string{"finalize", "approval"}},
	"updatestatus": {named: true, subresources: []string{"status"}},
	"patch":        {named: true, subresources: []string{"status", "approval"}},
	"delete":       {named: true},
	"bind":         {named: true, subresources: []string{"binding"}},
}

// handle authenticates, resolves the target and runs fn; errors are
// mapped to a gRPC status here, once.
func handle[Resp any](ctx context.Context, s *Service, verb string, t *apiv1.Target, fn func(context.Context, *call) (Resp, error)) (Resp, error) {
	ctx, c, err := s.begin(ctx, verb, t)
	if err != nil {
		var zero Resp
		return zero, s.fail(verb, t, err)
	}
	resp, err := fn(ctx, c)
	if err != nil {
		var zero Resp
		return zero, s.fail(verb, t, err)
	}
	return resp, nil
}

func (s *Service) begin(ctx context.Context, verb string, t *apiv1.Target) (context.Context, *call, error) {
	ctx, user, err := s.authenticate(ctx)
	if err != nil {
		return ctx, nil, err
	}
	c, err := s.resolve(verb, t)
	if err != nil {
		if authn.IsAnonymous(user) {
			// Anonymous callers learn nothing about what is served.
			return ctx, nil, apierrors.NewUnauthorized("Unauthorized")
		}
		return ctx, nil, err
	}
	if err := authorize(user, verb, c); err != nil {
		return ctx, nil, err
	}
	c.agent = userAgent(ctx)
	return ctx, c, nil
}

// resolve finds the target's resource and checks the target against what
// verb accepts.
func (s *Service) resolve(verb string, t *apiv1.Target) (*call, error) {
	gvr := wire.TargetGVR(t)
	rr, ok := s.reg.Resource(gvr)
	if !ok {
		return nil, apierrors.NewGenericServerResponse(http.StatusNotFound, verb, gvr.GroupResource(), "",
			"the server could not find the requested resource", 0, false)
	}
	res := rr.API()
	rule := verbs[verb]
	c := &call{rr: rr, res: res, ns: t.GetNamespace(), name: t.GetName(), sub: t.GetSubresource()}
	switch {
	case rule.named && c.name == "":
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s of %s needs the name of an object", verb, res.Resource))
	case !rule.named && c.name != "":
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s of %s takes no object name; select with a field selector", verb, res.Resource))
	case !res.Namespaced && c.ns != "":
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s are cluster-scoped: the namespace must be empty", res.Resource))
	case res.Namespaced && c.ns == "" && verb != "list" && verb != "watch":
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s are namespaced: the namespace is required", res.Resource))
	case c.sub != "" && (!slices.Contains(rule.subresources, c.sub) || !res.HasSubresource(c.sub)):
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s of %s/%s is not served", verb, res.Resource, c.sub))
	}
	return c, nil
}

// fail maps err to the gRPC status the caller gets, logging server
// errors as REST does.
func (s *Service) fail(verb string, t *apiv1.Target, err error) error {
	if st := wire.Status(err); st.Code >= http.StatusInternalServerError && st.Reason != "Timeout" {
		s.log.Error("request failed", "verb", verb, "resource", t.GetResource(), "namespace", t.GetNamespace(),
			"name", t.GetName(), "err", err)
	}
	return wire.ToGRPC(err)
}

// userAgent is the first word of the caller's user agent ("kubectl" of
// "kubectl/v1.32 grpc-go/1.85.0").
func userAgent(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	ua := md.Get("user-agent")
	if len(ua) == 0 {
		return ""
	}
	word, _, _ := strings.Cut(strings.TrimSpace(ua[0]), " ")
	return word
}

// decodeObject reads a request's object, which must be of kind gvk.
func decodeObject(data []byte, gvk schema.GroupVersionKind, into runtime.Object) (runtime.Object, error) {
	if len(data) == 0 {
		return nil, apierrors.NewBadRequest("the request has no object")
	}
	if err := wire.DecodeAs(data, gvk, into); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the object provided is unrecognized or malformed: %v", err))
	}
	return into, nil
}

// encodeObject encodes an object of the call's resource ("" for none).
func (c *call) encodeObject(obj runtime.Object) ([]byte, error) {
	if obj == nil {
		return nil, nil
	}
	return wire.Encode(obj, c.res.GVK())
}

// Get returns one object.
func (s *Service) Get(ctx context.Context, req *apiv1.GetRequest) (*apiv1.GetResponse, error) {
	return handle(ctx, s, "get", req.GetTarget(), func(ctx context.Context, c *call) (*apiv1.GetResponse, error) {
		obj, err := c.rr.Get(ctx, c.ns, c.name, wire.GetOptionsFromProto(req.GetOptions()))
		if err != nil {
			return nil, err
		}
		raw, err := c.encodeObject(obj)
		return &apiv1.GetResponse{Object: raw}, err
	})
}

// List returns a typed list.
func (s *Service) List(ctx context.Context, req *apiv1.ListRequest) (*apiv1.ListResponse, error) {
	return handle(ctx, s, "list", req.GetTarget(), func(ctx context.Context, c *call) (*apiv1.ListResponse, error) {
		list, err := c.rr.List(ctx, c.ns, wire.ListOptionsFromProto(req.GetOptions()))
		if err != nil {
			return nil, err
		}
		raw, err := wire.Encode(list, c.res.GroupVersion().WithKind(c.res.Kind+"List"))
		return &apiv1.ListResponse{List: raw}, err
	})
}

// Create stores a new object.
func (s *Service) Create(ctx context.Context, req *apiv1.CreateRequest) (*apiv1.CreateResponse, error) {
	return handle(ctx, s, "create", req.GetTarget(), func(ctx context.Context, c *call) (*apiv1.CreateResponse, error) {
		obj, err := decodeObject(req.GetObject(), c.res.GVK(), c.res.New())
		if err != nil {
			return nil, err
		}
		opts := wire.CreateOptionsFromProto(req.GetOptions())
		opts.FieldManager = patch.ManagerName(opts.FieldManager, c.agent)
		created, err := c.rr.Create(ctx, c.ns, obj, opts)
		if err != nil {
			return nil, err
		}
		raw, err := c.encodeObject(created)
		return &apiv1.CreateResponse{Object: raw}, err
	})
}

// Update replaces an object, a namespace's finalizers through its
// finalize subresource, or a CSR's conditions through its approval
// subresource.
func (s *Service) Update(ctx context.Context, req *apiv1.UpdateRequest) (*apiv1.UpdateResponse, error) {
	return handle(ctx, s, "update", req.GetTarget(), func(ctx context.Context, c *call) (*apiv1.UpdateResponse, error) {
		return c.update(ctx, req, c.sub)
	})
}

// UpdateStatus replaces the status of an object.
func (s *Service) UpdateStatus(ctx context.Context, req *apiv1.UpdateRequest) (*apiv1.UpdateResponse, error) {
	return handle(ctx, s, "updatestatus", req.GetTarget(), func(ctx context.Context, c *call) (*apiv1.UpdateResponse, error) {
		if !c.res.HasSubresource("status") {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s have no status subresource", c.res.Resource))
		}
		return c.update(ctx, req, "status")
	})
}

func (c *call) update(ctx context.Context, req *apiv1.UpdateRequest, sub string) (*apiv1.UpdateResponse, error) {
	obj, err := decodeObject(req.GetObject(), c.res.GVK(), c.res.New())
	if err != nil {
		return nil, err
	}
	opts := wire.UpdateOptionsFromProto(req.GetOptions())
	opts.FieldManager = patch.ManagerName(opts.FieldManager, c.agent)
	updated, created, err := c.rr.Update(ctx, c.ns, c.name, sub, obj, opts)
	if err != nil {
		return nil, err
	}
	raw, err := c.encodeObject(updated)
	return &apiv1.UpdateResponse{Object: raw, Created: created}, err
}

// Patch patches an object or its status.
func (s *Service) Patch(ctx context.Context, req *apiv1.PatchRequest) (*apiv1.PatchResponse, error) {
	return handle(ctx, s, "patch", req.GetTarget(), func(ctx context.Context, c *call) (*apiv1.PatchResponse, error) {
		obj, created, warnings, err := c.rr.Patch(ctx, c.ns, c.name, c.sub, types.PatchType(req.GetPatchType()),
			req.GetPatch(), wire.PatchOptionsFromProto(req.GetOptions()), c.agent)
		if err != nil {
			return nil, err
		}
		raw, err := c.encodeObject(obj)
		return &apiv1.PatchResponse{Object: raw, Created: created, Warnings: warnings}, err
	})
}

// Delete deletes an object or starts its graceful deletion.
func (s *Service) Delete(ctx context.Context, req *apiv1.DeleteRequest) (*apiv1.DeleteResponse, error) {
	return handle(ctx, s, "delete", req.GetTarget(), func(ctx context.Context, c *call) (*apiv1.DeleteResponse, error) {
		obj, deleted, err := c.rr.Delete(ctx, c.ns, c.name, wire.DeleteOptionsFromProto(req.GetOptions()))
		if err != nil {
			return nil, err
		}
		raw, err := c.encodeObject(obj)
		return &apiv1.DeleteResponse{Object: raw, Deleted: deleted}, err
	})
}

// Bind assigns a pod to a node.
func (s *Service) Bind(ctx context.Context, req *apiv1.BindRequest) (*apiv1.BindResponse, error) {
	return handle(ctx, s, "bind", req.GetTarget(), func(ctx context.Context, c *call) (*apiv1.BindResponse, error) {
		if !c.res.HasSubresource("binding") {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s have no binding subresource", c.res.Resource))
		}
		obj, err := decodeObject(req.GetBinding(), corev1.SchemeGroupVersion.WithKind("Binding"), &corev1.Binding{})
		if err != nil {
			return nil, err
		}
		opts := wire.CreateOptionsFromProto(req.GetOptions())
		opts.FieldManager = patch.ManagerName(opts.FieldManager, c.agent)
		return &apiv1.BindResponse{}, c.rr.Bind(ctx, c.ns, c.name, obj.(*corev1.Binding), opts)
	})
}
