package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/defaults"
	"github.com/gantry-dev/gantry/services/apiserver/internal/storage"
	"github.com/gantry-dev/gantry/services/apiserver/internal/validation"
	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource serves one resource: the operations both facades call.
type Resource struct {
	res   *api.Resource
	gr    schema.GroupResource
	store *storage.Store
	cache *storage.Cache
	reg   *Registry
	hooks hooks
}

// hooks are the kind-specific parts of the rules.
type hooks struct {
	// prepareCreate finishes a new object after defaulting, before
	// validation (Kubernetes' PrepareForCreate).
	prepareCreate func(obj runtime.Object)
	// admit is the mutating admission of a new object, after defaulting
	// and before validation (Kubernetes' mutating admission plugins, such
	// as Priority); it may refuse the object. name is how Kubernetes'
	// admission names it in errors: the requested name, or the
	// generateName it was made from.
	admit func(ctx context.Context, obj runtime.Object, name string) error
	// admitUpdate is the mutating admission of an update, given the
	// stored object: it runs before the generation is bumped and before
	// prepareUpdate and validation.
	admitUpdate func(ctx context.Context, obj, old runtime.Object) error
	// validateAdmission checks a new (old nil) or updated object after
	// validation (Kubernetes' validating admission plugins); it may
	// refuse it.
	validateAdmission func(ctx context.Context, obj, old runtime.Object) error
	// allocate runs after validation and returns operations to write
	// atomically with the new object (Kubernetes' BeginCreate).
	allocate func(ctx context.Context, obj runtime.Object) ([]storage.Op, error)
	// prepareUpdate adjusts an updated object given the stored one; it
	// may claim allocations the new object needs.
	prepareUpdate func(ctx context.Context, obj, old runtime.Object) error
	// prepareStatus adjusts an update of the status subresource given the
	// stored object (Kubernetes' status strategy PrepareForUpdate).
	prepareStatus func(obj, old runtime.Object)
	// afterUpdate runs once an update is stored (releases allocations).
	afterUpdate func(ctx context.Context, obj, old runtime.Object)
	// gracePeriod says how long a delete waits for confirmation, and
	// whether the object is deleted gracefully at all (pods on a node).
	gracePeriod func(obj runtime.Object, opts *metav1.DeleteOptions) (int64, bool)
	// beginDelete marks an object that is held by finalizers; it returns
	// true when it changed the object (namespaces turn Terminating).
	beginDelete func(obj runtime.Object) bool
	// releaseOps are written in the delete transaction (allocations).
	releaseOps func(obj runtime.Object) []clientv3.Op
	// createOnUpdate allows PUT of a missing object.
	createOnUpdate bool
}

// API is the served resource's description.
func (r *Resource) API() *api.Resource { return r.res }

// Cache is the resource's watch cache.
func (r *Resource) Cache() *storage.Cache { return r.cache }

// Get returns one object. resourceVersion "0" may be served from the
// cache; anything else reads the store.
func (r *Resource) Get(ctx context.Context, ns, name string, opts metav1.GetOptions) (runtime.Object, error) {
	if opts.ResourceVersion == "0" {
		if obj, _, ok := r.cache.Get(r.res.Key(ns, name)); ok {
			return obj, nil
		}
	}
	return r.store.Get(ctx, ns, name)
}

// Create stores a new object. obj is consumed.
func (r *Resource) Create(ctx context.Context, ns string, obj runtime.Object, opts metav1.CreateOptions) (runtime.Object, error) {
	return r.create(ctx, ns, obj, opts, opts.FieldManager)
}

// create stores a new object; manager is empty when managedFields are
// already recorded.
func (r *Resource) create(ctx context.Context, ns string, obj runtime.Object, opts metav1.CreateOptions, manager string) (runtime.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if err := r.checkNamespace(m, ns); err != nil {
		return nil, err
	}
	if m.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	admissionName := m.GetName()
	if m.GetName() == "" && m.GetGenerateName() != "" {
		admissionName = m.GetGenerateName()
		m.SetName(m.GetGenerateName() + randomSuffix())
	}
	r.initMeta(m)
	defaults.Default(obj)
	if r.hooks.admit != nil {
		if err := r.hooks.admit(ctx, obj, admissionName); err != nil {
			return nil, err
		}
	}
	// Status is the controllers' to write, except a Node's, which its agent
	// registers with (as Kubernetes keeps it).
	if hasField(obj, "Status") && r.res.HasSubresource("status") && r.res.Resource != "nodes" {
		resetField(obj, "Status")
	}
	if r.hooks.prepareCreate != nil {
		r.hooks.prepareCreate(obj)
	}
	if errs := validation.ValidateCreate(obj); len(errs) > 0 {
		return nil, r.invalid(m.GetName(), errs)
	}
	if err := r.reg.admitNamespace(ctx, r.res, m.GetNamespace(), m.GetName()); err != nil {
		return nil, err
	}
	if r.hooks.validateAdmission != nil {
		if err := r.hooks.validateAdmission(ctx, obj, nil); err != nil {
			return nil, err
		}
	}
	if err := r.reg.managedFields(obj, nil, manager, ""); err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		// An allocation changes the object and may be retried with a
		// fresh copy; without one, the object goes to the store as it is.
		attempt := obj
		if r.hooks.allocate != nil {
			attempt = obj.DeepCopyObject()
		}
		var extra []storage.Op
		if r.hooks.allocate != nil {
			if extra, err = r.hooks.allocate(ctx, attempt); err != nil {
				return nil, err
			}
		}
		if isDryRun(opts.DryRun) {
			if _, err := r.store.Get(ctx, m.GetNamespace(), m.GetName()); err == nil {
				return nil, apierrors.NewAlreadyExists(r.gr, m.GetName())
			} else if !apierrors.IsNotFound(err) {
				return nil, err
			}
			return attempt, nil
		}
		out, err := r.store.Create(ctx, m.GetNamespace(), m.GetName(), attempt, extra...)
		if errors.Is(err, errRetryAllocation) && try < 8 {
			continue
		}
		return out, err
	}
}

// checkNamespace reconciles the object's namespace with the URL's.
func (r *Resource) checkNamespace(m metav1.Object, ns string) error {
	if !r.res.Namespaced {
		m.SetNamespace("")
		return nil
	}
	switch {
	case m.GetNamespace() == "":
		m.SetNamespace(ns)
	case ns != "" && m.GetNamespace() != ns:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

func (r *Resource) initMeta(m metav1.Object) {
	m.SetUID(types.UID(uuid.NewString()))
	m.SetCreationTimestamp(metav1.NewTime(time.Now().Truncate(time.Second)))
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	if hasField(m.(runtime.Object), "Spec") {
		m.SetGeneration(1)
	} else {
		m.SetGeneration(0)
	}
}

func (r *Resource) invalid(name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(r.res.GVK().GroupKind(), name, errs)
}

// Update replaces an object (sub "") or its status (sub "status"). The
// returned flag is true when the object was created.
func (r *Resource) Update(ctx context.Context, ns, name, sub string, obj runtime.Object, opts metav1.UpdateOptions) (runtime.Object, bool, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, false, apierrors.NewBadRequest(err.Error())
	}
	if err := r.checkNamespace(m, ns); err != nil {
		return nil, false, err
	}
	if m.GetName() != name {
		return nil, false, apierrors.NewBadRequest(fmt.Sprintf(
			"the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
	}
	return r.update(ctx, ns, name, isDryRun(opts.DryRun), func(cur runtime.Object) (runtime.Object, error) {
		return r.prepare(ctx, obj.DeepCopyObject(), cur, sub, opts.FieldManager, false)
	})
}

// prepare turns the desired object into the one to store, given the
// current one (nil when missing). An update without a resourceVersion is
// unconditional: it takes the current one, so that the store's
// compare-and-swap still guards the read-modify-write.
func (r *Resource) prepare(ctx context.Context, next, cur runtime.Object, sub, manager string, allowCreate bool) (runtime.Object, error) {
	if cur == nil {
		return r.prepareCreateOnUpdate(ctx, next, sub, manager, allowCreate)
	}
	if m := next.(metav1.Object); m.GetResourceVersion() == "" {
		m.SetResourceVersion(cur.(metav1.Object).GetResourceVersion())
	}
	switch sub {
	case "status":
		return r.prepareStatus(next, cur, manager)
	case "finalize":
		return r.prepareFinalize(next, cur, manager)
	case "approval":
		return r.prepareApproval(next, cur, manager)
	case "binding":
		// Binding sets spec.nodeName and the PodScheduled condition,
		// which no ordinary update may. As in Kubernetes, whose binding
		// writes the pod straight to storage, the pod's managedFields do
		// not change: no manager owns spec.nodeName (and the field set of
		// the whole pod is not recomputed for every binding).
		if err := keepSystemMeta(next.(metav1.Object), cur.(metav1.Object)); err != nil {
			return nil, err
		}
		return r.finishUpdate(next, cur, "", "binding")
	}
	return r.prepareUpdate(ctx, next, cur, manager)
}

// Mutate applies fn to the current object as an update of sub. It is the
// path of PATCH and of subresources that rewrite their parent (binding,
// scale). fn gets the current object (nil when missing and allowCreate)
// and returns the desired one, which it owns.
func (r *Resource) Mutate(ctx context.Context, ns, name, sub string, dryRun bool, allowCreate bool, manager string,
	fn func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, bool, error) {
	return r.update(ctx, ns, name, dryRun, func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil && !allowCreate {
			return nil, apierrors.NewNotFound(r.gr, name)
		}
		next, err := fn(cur)
		if err != nil || next == nil {
			return next, err
		}
		m, err := meta.Accessor(next)
		if err != nil {
			return nil, err
		}
		if err := r.checkNamespace(m, ns); err != nil {
			return nil, err
		}
		if m.GetName() != name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf(
				"the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
		}
		return r.prepare(ctx, next, cur, sub, manager, allowCreate)
	})
}

// errDeleteNow tells update that an update removed the last finalizer of
// an object being deleted: it goes away instead of being written.
var errDeleteNow = errors.New("delete now")

func (r *Resource) update(ctx context.Context, ns, name string, dryRun bool, fn storage.UpdateFunc) (runtime.Object, bool, error) {
	if dryRun {
		cur, err := r.store.Get(ctx, ns, name)
		if apierrors.IsNotFound(err) {
			cur, err = nil, nil
		}
		if err != nil {
			return nil, false, err
		}
		next, err := fn(cur)
		if errors.Is(err, errDeleteNow) {
			return cur, false, nil
		}
		if next == nil && err == nil {
			next = cur
		}
		return next, cur == nil, err
	}
	var old runtime.Object
	remember := func(cur runtime.Object) (runtime.Object, error) {
		old = cur
		return fn(cur)
	}
	for {
		obj, created, err := r.store.Update(ctx, ns, name, remember, true)
		if err == nil && old != nil && obj != old && r.hooks.afterUpdate != nil {
			r.hooks.afterUpdate(ctx, obj, old)
		}
		if !errors.Is(err, errDeleteNow) {
			return obj, created, err
		}
		cur, err := r.store.Get(ctx, ns, name)
		if err != nil {
			return nil, false, err
		}
		rv := cur.(metav1.Object).GetResourceVersion()
		deleted, err := r.store.Delete(ctx, ns, name, cur, storage.Preconditions{ResourceVersion: &rv}, nil, r.release(cur)...)
		if apierrors.IsConflict(err) {
			continue
		}
		return deleted, false, err
	}
}

func (r *Resource) prepareCreateOnUpdate(ctx context.Context, next runtime.Object, sub, manager string, allowed bool) (runtime.Object, error) {
	m := next.(metav1.Object)
	if !(r.hooks.createOnUpdate || allowed) || sub != "" {
		return nil, apierrors.NewNotFound(r.gr, m.GetName())
	}
	if m.GetResourceVersion() != "" {
		return nil, apierrors.NewNotFound(r.gr, m.GetName())
	}
	r.initMeta(m)
	defaults.Default(next)
	if r.hooks.admit != nil {
		if err := r.hooks.admit(ctx, next, m.GetName()); err != nil {
			return nil, err
		}
	}
	if r.hooks.prepareCreate != nil {
		r.hooks.prepareCreate(next)
	}
	if r.hooks.allocate != nil {
		// Creating through an update cannot write claims in its
		// transaction; kinds that allocate are created by POST or apply.
		return nil, apierrors.NewMethodNotSupported(r.gr, "create on update")
	}
	if errs := validation.ValidateCreate(next); len(errs) > 0 {
		return nil, r.invalid(m.GetName(), errs)
	}
	if err := r.reg.admitNamespace(ctx, r.res, m.GetNamespace(), m.GetName()); err != nil {
		return nil, err
	}
	if r.hooks.validateAdmission != nil {
		if err := r.hooks.validateAdmission(ctx, next, nil); err != nil {
			return nil, err
		}
	}
	return next, r.reg.managedFields(next, nil, manager, "")
}

// keepSystemMeta copies the fields clients cannot change from cur.
func keepSystemMeta(m, cm metav1.Object) error {
	if uid := m.GetUID(); uid != "" && uid != cm.GetUID() {
		return apierrors.NewConflict(schema.GroupResource{}, m.GetName(), fmt.Errorf(
			"Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, cm.GetUID()))
	}
	m.SetUID(cm.GetUID())
	m.SetCreationTimestamp(cm.GetCreationTimestamp())
	m.SetDeletionTimestamp(cm.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
	m.SetGeneration(cm.GetGeneration())
	m.SetGenerateName(pick(m.GetGenerateName(), cm.GetGenerateName()))
	return nil
}

func pick(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (r *Resource) prepareUpdate(ctx context.Context, next, cur runtime.Object, manager string) (runtime.Object, error) {
	m, cm := next.(metav1.Object), cur.(metav1.Object)
	if err := keepSystemMeta(m, cm); err != nil {
		return nil, err
	}
	defaults.Default(next)
	if r.hooks.admitUpdate != nil {
		if err := r.hooks.admitUpdate(ctx, next, cur); err != nil {
			return nil, err
		}
	}
	if r.res.HasSubresource("status") {
		copyField(next, cur.DeepCopyObject(), "Status")
	}
	if hasField(next, "Spec") && !sameField(next, cur, "Spec") {
		m.SetGeneration(cm.GetGeneration() + 1)
	}
	if r.hooks.prepareUpdate != nil {
		if err := r.hooks.prepareUpdate(ctx, next, cur); err != nil {
			return nil, err
		}
	}
	if errs := validation.ValidateUpdate(next, cur); len(errs) > 0 {
		return nil, r.invalid(m.GetName(), errs)
	}
	if r.hooks.validateAdmission != nil {
		if err := r.hooks.validateAdmission(ctx, next, cur); err != nil {
			return nil, err
		}
	}
	return r.finishUpdate(next, cur, manager, "")
}

func (r *Resource) prepareStatus(next, cur runtime.Object, manager string) (runtime.Object, error) {
	// Only the status (and the compare-and-swap version) is taken.
	base := cur.DeepCopyObject()
	copyField(base, next, "Status")
	bm := base.(metav1.Object)
	bm.SetResourceVersion(next.(metav1.Object).GetResourceVersion())
	if r.hooks.prepareStatus != nil {
		r.hooks.prepareStatus(base, cur)
	}
	if errs := validation.ValidateStatusUpdate(base, cur); len(errs) > 0 {
		return nil, r.invalid(bm.GetName(), errs)
	}
	return r.finishUpdate(base, cur, manager, "status")
}

// prepareFinalize takes a namespace's spec.finalizers (and metadata)
// through namespaces/finalize, keeping its status, as Kubernetes' finalize
// strategy does. Removing the last finalizer of a namespace being deleted
// deletes it.
func (r *Resource) prepareFinalize(next, cur runtime.Object, manager string) (runtime.Object, error) {
	if _, ok := next.(*corev1.Namespace); !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%T has no finalize subresource", next))
	}
	if err := keepSystemMeta(next.(metav1.Object), cur.(metav1.Object)); err != nil {
		return nil, err
	}
	copyField(next, cur.DeepCopyObject(), "Status")
	if errs := validation.ValidateUpdate(next, cur); len(errs) > 0 {
		return nil, r.invalid(next.(metav1.Object).GetName(), errs)
	}
	return r.finishUpdate(next, cur, manager, "finalize")
}

// finishUpdate records managed fields, skips writes that change nothing,
// and turns the removal of the last finalizer of a deleted object into
// its deletion.
func (r *Resource) finishUpdate(next, cur runtime.Object, manager, sub string) (runtime.Object, error) {
	if err := r.reg.managedFields(next, cur, manager, sub); err != nil {
		return nil, err
	}
	m := next.(metav1.Object)
	if m.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) == 0 && r.heldOnlyByFinalizers(next) {
		return nil, errDeleteNow
	}
	// A binding always changes spec.nodeName (Bind refuses a pod that has
	// one), so only the other updates can be no-ops.
	if sub != "binding" && unchanged(next, cur) {
		// Nothing to write, but a compare-and-swap the client asked for
		// must still hold.
		if rv := m.GetResourceVersion(); rv != cur.(metav1.Object).GetResourceVersion() {
			return nil, apierrors.NewConflict(r.gr, m.GetName(),
				errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		return nil, nil
	}
	return next, nil
}

// heldOnlyByFinalizers reports whether a deleted object waits for nothing
// but its finalizers (a pod in its grace period waits for its node).
func (r *Resource) heldOnlyByFinalizers(obj runtime.Object) bool {
	if ns, ok := obj.(*corev1.Namespace); ok {
		return len(ns.Spec.Finalizers) == 0
	}
	m := obj.(metav1.Object)
	g := m.GetDeletionGracePeriodSeconds()
	return g == nil || *g == 0
}

// unchanged compares everything but the resourceVersion and the managed
// fields' timestamps. It compares shallow copies whose metadata alone is
// copied and cleared, not deep copies of both objects.
func unchanged(next, cur runtime.Object) bool {
	return equality.Semantic.DeepEqual(comparable(next), comparable(cur))
}

// comparable returns a copy of obj that shares everything with it but
// its ObjectMeta, whose resourceVersion and managed fields' times are
// cleared. An object without an embedded ObjectMeta is deep-copied.
func comparable(obj runtime.Object) any {
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		c := reflect.New(v.Elem().Type())
		c.Elem().Set(v.Elem())
		if f := c.Elem().FieldByName("ObjectMeta"); f.IsValid() && f.Type() == objectMetaType {
			clearCompared(f.Addr().Interface().(*metav1.ObjectMeta))
			return c.Interface()
		}
	}
	o := obj.DeepCopyObject()
	m := o.(metav1.Object)
	m.SetResourceVersion("")
	mf := m.GetManagedFields()
	for i := range mf {
		mf[i].Time = nil
	}
	return o
}

var objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()

// clearCompared clears, in a copy of an object's metadata, what unchanged
// ignores; the managed fields list is copied before its times are.
func clearCompared(m *metav1.ObjectMeta) {
	m.ResourceVersion = ""
	if len(m.ManagedFields) == 0 {
		return
	}
	mf := slices.Clone(m.ManagedFields)
	for i := range mf {
		mf[i].Time = nil
	}
	m.ManagedFields = mf
}

func isDryRun(dryRun []string) bool {
	for _, d := range dryRun {
		if d == metav1.DryRunAll {
			return true
		}
	}
	return false
}

// Delete deletes an object, or starts its graceful deletion. deleted is
// false when the object still exists (finalizers, grace period).
func (r *Resource) Delete(ctx context.Context, ns, name string, opts metav1.DeleteOptions) (obj runtime.Object, deleted bool, err error) {
	var pre storage.Preconditions
	if opts.Preconditions != nil {
		pre.UID = opts.Preconditions.UID
		pre.ResourceVersion = opts.Preconditions.ResourceVersion
	}
	for {
		cur, err := r.store.Get(ctx, ns, name)
		if err != nil {
			return nil, false, err
		}
		next, err := r.deletion(cur, &opts)
		if err != nil {
			return nil, false, err
		}
		if isDryRun(opts.DryRun) {
			if next != nil {
				return next, false, nil
			}
			return cur, true, nil
		}
		if next == cur {
			return cur, false, nil // already being deleted; nothing changes
		}
		if next != nil {
			// Graceful: record the deletion and keep the object.
			rv := cur.(metav1.Object).GetResourceVersion()
			next.(metav1.Object).SetResourceVersion(rv)
			out, _, err := r.store.Update(ctx, ns, name, func(now runtime.Object) (runtime.Object, error) {
				if err := r.store.CheckPreconditions(now, pre); err != nil {
					return nil, err
				}
				return next, nil
			}, false)
			if apierrors.IsConflict(err) {
				continue
			}
			return out, false, err
		}
		rv := cur.(metav1.Object).GetResourceVersion()
		out, err := r.store.Delete(ctx, ns, name, cur, storage.Preconditions{ResourceVersion: &rv},
			func(now runtime.Object) error { return r.store.CheckPreconditions(now, pre) }, r.release(cur)...)
		if apierrors.IsConflict(err) && pre.ResourceVersion == nil && pre.UID == nil {
			continue
		}
		return out, err == nil, err
	}
}

// deletion decides how cur is deleted: nil means now; otherwise the
// object to write instead (deletionTimestamp set).
func (r *Resource) deletion(cur runtime.Object, opts *metav1.DeleteOptions) (runtime.Object, error) {
	cm := cur.(metav1.Object)
	var grace int64
	graceful := false
	if r.hooks.gracePeriod != nil {
		grace, graceful = r.hooks.gracePeriod(cur, opts)
	}
	next := cur.DeepCopyObject()
	m := next.(metav1.Object)
	held := r.hooks.beginDelete != nil && r.hooks.beginDelete(next)
	finalizers, changed := gcFinalizers(m.GetFinalizers(), opts)
	if changed {
		m.SetFinalizers(finalizers)
	}
	if len(finalizers) == 0 && !held && !graceful {
		return nil, nil
	}
	if cm.GetDeletionTimestamp() != nil {
		// Already being deleted: only a shorter grace period changes it
		// (a pod's node agent confirms with 0 while finalizers hold it).
		old := cm.GetDeletionGracePeriodSeconds()
		if old == nil || *old == 0 || graceful && grace >= *old {
			if held || changed {
				return next, nil
			}
			return cur, nil
		}
	}
	now := metav1.NewTime(time.Now().Add(time.Duration(grace) * time.Second).Truncate(time.Second))
	m.SetDeletionTimestamp(&now)
	m.SetDeletionGracePeriodSeconds(&grace)
	if !graceful {
		zero := int64(0)
		m.SetDeletionGracePeriodSeconds(&zero)
	}
	return next, nil
}

// gcFinalizers are the finalizers an object deleted with opts gets for
// the garbage collector (Kubernetes' deletionFinalizersForGarbageCollection):
// "orphan" when its dependents are to be orphaned, "foregroundDeletion"
// when they are to be deleted first. An explicit orphanDependents or
// propagationPolicy decides, replacing the other finalizer; without one
// the finalizers the object has stay. changed reports a difference.
func gcFinalizers(current []string, opts *metav1.DeleteOptions) (finalizers []string, changed bool) {
	orphan := slices.Contains(current, metav1.FinalizerOrphanDependents)
	foreground := slices.Contains(current, metav1.FinalizerDeleteDependents)
	switch {
	case opts.OrphanDependents != nil:
		orphan, foreground = *opts.OrphanDependents, false
	case opts.PropagationPolicy != nil:
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	}
	for _, f := range current {
		if f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			finalizers = append(finalizers, f)
		}
	}
	if orphan {
		finalizers = append(finalizers, metav1.FinalizerOrphanDependents)
	}
	if foreground {
		finalizers = append(finalizers, metav1.FinalizerDeleteDependents)
	}
	if sets.New(finalizers...).Equal(sets.New(current...)) {
		return current, false
	}
	return finalizers, true
}

func (r *Resource) release(obj runtime.Object) []clientv3.Op {
	if r.hooks.releaseOps == nil {
		return nil
	}
	return r.hooks.releaseOps(obj)
}

// List returns the objects of ns (all namespaces when empty) that opts
// select, as a typed list.
func (r *Resource) List(ctx context.Context, ns string, opts metav1.ListOptions) (runtime.Object, error) {
	pred, err := NewPredicate(r.res.New(), opts.LabelSelector, opts.FieldSelector)
	if err != nil {
		return nil, err
	}
	items, rev, cont, remaining, err := r.list(ctx, ns, opts, pred)
	if err != nil {
		return nil, err
	}
	list := r.res.NewList()
	if err := meta.SetList(list, items); err != nil {
		return nil, err
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return nil, err
	}
	lm.SetResourceVersion(strconv.FormatInt(rev, 10))
	lm.SetContinue(cont)
	if remaining > 0 {
		lm.SetRemainingItemCount(&remaining)
	}
	list.GetObjectKind().SetGroupVersionKind(r.res.GroupVersion().WithKind(r.res.Kind + "List"))
	return list, nil
}

func (r *Resource) list(ctx context.Context, ns string, opts metav1.ListOptions, pred Predicate) ([]runtime.Object, int64, string, int64, error) {
	prefix := r.res.KeyPrefix(ns)
	keep := pred.Matches
	if pred.Everything() {
		keep = nil
	}
	if opts.Continue != "" || opts.Limit > 0 && opts.ResourceVersion != "0" || opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact {
		return r.listStore(ctx, prefix, opts, keep)
	}
	switch opts.ResourceVersion {
	case "":
		if err := r.cache.Consistent(ctx); err != nil {
			return nil, 0, "", 0, err
		}
	case "0":
	default:
		rev, err := strconv.ParseInt(opts.ResourceVersion, 10, 64)
		if err != nil {
			return nil, 0, "", 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", opts.ResourceVersion))
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = r.cache.WaitFor(wctx, rev)
		cancel()
		if err != nil {
			return nil, 0, "", 0, err
		}
	}
	items, rev, _ := r.cache.List(prefix, "", 0, keep)
	return items, rev, "", 0, nil
}

// listStore serves paginated and exact-revision lists from the store, at
// one revision across pages, as Kubernetes does.
func (r *Resource) listStore(ctx context.Context, prefix string, opts metav1.ListOptions, keep func(runtime.Object) bool) ([]runtime.Object, int64, string, int64, error) {
	var rev int64
	start := ""
	if opts.Continue != "" {
		c, err := decodeContinue(opts.Continue, prefix)
		if err != nil {
			return nil, 0, "", 0, err
		}
		rev, start = c.Rev, c.Start
	} else if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		v, err := strconv.ParseInt(opts.ResourceVersion, 10, 64)
		if err != nil {
			return nil, 0, "", 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", opts.ResourceVersion))
		}
		if opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact {
			rev = v
		}
	}
	page, err := r.store.ListPage(ctx, prefix, start, rev, opts.Limit, keep)
	if err != nil {
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			// As Kubernetes does, offer a token that continues from the
			// same key at the newest revision.
			se := apierrors.NewResourceExpired(
				"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
			se.ErrStatus.ListMeta.Continue = encodeContinue(-1, start, prefix)
			return nil, 0, "", 0, se
		}
		return nil, 0, "", 0, err
	}
	cont := ""
	if page.Next != "" {
		cont = encodeContinue(page.Revision, page.Next, prefix)
	}
	return page.Items, page.Revision, cont, page.Remaining, nil
}

// Watch starts a watch of ns (all when empty).
func (r *Resource) Watch(ctx context.Context, ns string, opts metav1.ListOptions) (*storage.Watcher, error) {
	pred, err := NewPredicate(r.res.New(), opts.LabelSelector, opts.FieldSelector)
	if err != nil {
		return nil, err
	}
	wo := storage.WatchOptions{
		Prefix:    r.res.KeyPrefix(ns),
		Bookmarks: opts.AllowWatchBookmarks,
	}
	if !pred.Everything() {
		wo.Match = pred.Matches
	}
	if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
		wo.Initial, wo.InitialEventsEnd = true, true
		wo.Bookmarks = true
		if opts.ResourceVersion == "" {
			if err := r.cache.Consistent(ctx); err != nil {
				return nil, err
			}
		}
	}
	switch opts.ResourceVersion {
	case "", "0":
		if !wo.Initial && opts.ResourceVersion == "" {
			// "Get state and start at most recent": current objects as
			// Added events, from a consistent cache.
			if err := r.cache.Consistent(ctx); err != nil {
				return nil, err
			}
		}
	default:
		rev, err := strconv.ParseInt(opts.ResourceVersion, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", opts.ResourceVersion))
		}
		wo.Rev = rev
	}
	return r.cache.Watch(ctx, wo)
}
