package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
)

// Store reads and writes the objects of one resource.
type Store struct {
	cli   *clientv3.Client
	res   *api.Resource
	gr    schema.GroupResource
	proto *protobuf.Serializer
	// Metrics may be nil.
	Metrics *Metrics
	// TTL, if set, is how long objects live after their last write
	// (events: --event-ttl); Leases hands out the store leases for it.
	TTL    time.Duration
	Leases *Leases
	// cached, if set, returns the object under a key as the watch cache
	// holds it (possibly behind the store); Update starts from it.
	cached func(key string) (runtime.Object, bool)
}

// NewStore returns the store of res.
func NewStore(cli *clientv3.Client, res *api.Resource) *Store {
	return &Store{
		cli:   cli,
		res:   res,
		gr:    res.GVR().GroupResource(),
		proto: protobuf.NewSerializer(api.Scheme, api.Scheme),
	}
}

// Resource is the resource this store holds.
func (s *Store) Resource() *api.Resource { return s.res }

// Op is an extra operation written in the same transaction as an object,
// with the condition it needs: how the service IP allocator claims an
// address atomically with the Service that owns it.
type Op struct {
	Cmp clientv3.Cmp
	Op  clientv3.Op
	// Err is returned when Cmp does not hold.
	Err error
}

// Encode turns obj into its stored form. It sets the type fields and clears
// resourceVersion on obj, which the caller owns.
func (s *Store) Encode(obj runtime.Object) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(s.res.GVK())
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion("")
	return runtime.Encode(s.proto, obj)
}

// Decode turns a stored value into a new object with the given
// resourceVersion.
func (s *Store) Decode(data []byte, rev int64) (runtime.Object, error) {
	obj := s.res.New()
	if _, _, err := s.proto.Decode(data, nil, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", s.gr, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(s.res.GVK())
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return obj, nil
}

func (s *Store) decodeKV(kv *mvccpb.KeyValue) (runtime.Object, error) {
	return s.Decode(kv.Value, kv.ModRevision)
}

// Create writes a new object; it fails with AlreadyExists if the key is
// taken. obj is consumed: its resourceVersion is set to the new revision.
func (s *Store) Create(ctx context.Context, ns, name string, obj runtime.Object, extra ...Op) (runtime.Object, error) {
	data, err := s.Encode(obj)
	if err != nil {
		return nil, err
	}
	key := s.res.Key(ns, name)
	put, err := s.put(ctx, key, data)
	if err != nil {
		return nil, err
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)}
	ops := []clientv3.Op{put}
	for _, e := range extra {
		cmps = append(cmps, e.Cmp)
		ops = append(ops, e.Op)
	}
	start := time.Now()
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	s.Metrics.observe("create", s.gr.String(), start)
	if err != nil {
		s.leaseFailed(err)
		return nil, s.storeError(err)
	}
	if !resp.Succeeded {
		// Find out which condition failed.
		if len(extra) > 0 {
			if err := s.whichFailed(ctx, key, extra); err != nil {
				return nil, err
			}
		}
		return nil, apierrors.NewAlreadyExists(s.gr, name)
	}
	return obj, setRV(obj, resp.Header.Revision)
}

func (s *Store) whichFailed(ctx context.Context, key string, extra []Op) error {
	resp, err := s.cli.Get(ctx, key, clientv3.WithCountOnly())
	if err != nil {
		return s.storeError(err)
	}
	if resp.Count > 0 {
		return nil // the object exists: AlreadyExists
	}
	for _, e := range extra {
		r, err := s.cli.Txn(ctx).If(e.Cmp).Commit()
		if err != nil {
			return s.storeError(err)
		}
		if !r.Succeeded {
			return e.Err
		}
	}
	return apierrors.NewConflict(s.gr, "", errors.New("a concurrent write changed the state; try again"))
}

// Get reads one object, linearizably.
func (s *Store) Get(ctx context.Context, ns, name string) (runtime.Object, error) {
	start := time.Now()
	resp, err := s.cli.Get(ctx, s.res.Key(ns, name))
	s.Metrics.observe("get", s.gr.String(), start)
	if err != nil {
		return nil, s.storeError(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, apierrors.NewNotFound(s.gr, name)
	}
	return s.decodeKV(resp.Kvs[0])
}

// UpdateFunc computes the new object from the current one. It must not
// modify cur. Returning a nil object with a nil error means "no change".
type UpdateFunc func(cur runtime.Object) (runtime.Object, error)

// Update applies fn to the current object and writes the result if the
// object has not changed meanwhile, retrying on a concurrent write. When
// the result's resourceVersion is set it must equal the current one
// (otherwise 409 Conflict, as the client asked for a compare-and-swap).
// If the object is missing and allowCreate is set, fn is called with a
// nil current object instead of failing with NotFound.
//
// As kube-apiserver's GuaranteedUpdate does, the first attempt starts from
// the watch cache's copy of the object (see UseCache) instead of reading
// the store: the write's compare-and-swap on the object's revision catches
// a stale copy, and the failed transaction returns the current object for
// the next attempt. Whatever the stale copy makes fn or the precondition
// decide (an error, or no change) is only believed after a read from the
// store.
func (s *Store) Update(ctx context.Context, ns, name string, fn UpdateFunc, allowCreate bool) (obj runtime.Object, created bool, err error) {
	key := s.res.Key(ns, name)
	cur, curRev, fromCache := s.cachedState(key)
	current := !fromCache
	if current {
		if cur, curRev, err = s.getRaw(ctx, key); err != nil {
			return nil, false, err
		}
	}
	refresh := func() error {
		cur, curRev, err = s.getRaw(ctx, key)
		current = true
		return err
	}
	for {
		if cur == nil && !allowCreate {
			return nil, false, apierrors.NewNotFound(s.gr, name)
		}
		next, err := fn(cur)
		if err == nil && next != nil {
			err = s.checkPrecondition(next, curRev, name)
		}
		if !current && (err != nil || next == nil) {
			if err := refresh(); err != nil {
				return nil, false, err
			}
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if next == nil {
			return cur, false, nil
		}
		data, err := s.Encode(next)
		if err != nil {
			return nil, false, err
		}
		put, err := s.put(ctx, key, data)
		if err != nil {
			return nil, false, err
		}
		start := time.Now()
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", curRev)).
			Then(put).
			Else(clientv3.OpGet(key)).
			Commit()
		s.Metrics.observe("update", s.gr.String(), start)
		if err != nil {
			s.leaseFailed(err)
			return nil, false, s.storeError(err)
		}
		if resp.Succeeded {
			return next, cur == nil, setRV(next, resp.Header.Revision)
		}
		// Someone else wrote in between (or the cached copy was stale):
		// retry from the object the transaction read.
		if cur, curRev, err = s.fromRange(resp); err != nil {
			return nil, false, err
		}
		current = true
	}
}

// put is the write of an object's data under key: with a lease when the
// resource's objects expire.
func (s *Store) put(ctx context.Context, key string, data []byte) (clientv3.Op, error) {
	if s.TTL <= 0 || s.Leases == nil {
		return clientv3.OpPut(key, string(data)), nil
	}
	id, err := s.Leases.For(ctx, s.TTL)
	if err != nil {
		return clientv3.Op{}, s.storeError(err)
	}
	return clientv3.OpPut(key, string(data), clientv3.WithLease(id)), nil
}

// leaseFailed makes the next write take a new lease when the store says
// the current one is gone (revoked by hand, say); the failed write is
// the client's to retry.
func (s *Store) leaseFailed(err error) {
	if s.Leases != nil && errors.Is(err, rpctypes.ErrLeaseNotFound) {
		s.Leases.Reset()
	}
}

// UseCache makes Update start from the objects of c (the watch cache of
// this store's resource) rather than a read of the store.
func (s *Store) UseCache(c *Cache) {
	s.cached = func(key string) (runtime.Object, bool) {
		obj, _, ok := c.Get(key)
		return obj, ok
	}
}

// cachedState returns a copy of the cached object under key and its
// revision, and whether there is one.
func (s *Store) cachedState(key string) (runtime.Object, int64, bool) {
	if s.cached == nil {
		return nil, 0, false
	}
	obj, ok := s.cached(key)
	if !ok {
		return nil, 0, false
	}
	return withRevision(obj)
}

// withRevision returns a copy of obj, which the caller may then hand to
// update functions, and the revision its resourceVersion names; false
// when obj is nil or names none.
func withRevision(obj runtime.Object) (runtime.Object, int64, bool) {
	m, err := meta.Accessor(obj)
	if obj == nil || err != nil {
		return nil, 0, false
	}
	rev, err := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	if err != nil || rev <= 0 {
		return nil, 0, false
	}
	return obj.DeepCopyObject(), rev, true
}

// checkPrecondition enforces a compare-and-swap asked for by the client:
// a resourceVersion on the new object must match the stored one.
func (s *Store) checkPrecondition(next runtime.Object, curRev int64, name string) error {
	m, err := meta.Accessor(next)
	if err != nil {
		return err
	}
	rv := m.GetResourceVersion()
	if rv == "" {
		return nil
	}
	want, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", rv))
	}
	if curRev == 0 {
		return apierrors.NewNotFound(s.gr, name)
	}
	if want != curRev {
		return apierrors.NewConflict(s.gr, name,
			errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	return nil
}

func (s *Store) getRaw(ctx context.Context, key string) (runtime.Object, int64, error) {
	start := time.Now()
	resp, err := s.cli.Get(ctx, key)
	s.Metrics.observe("get", s.gr.String(), start)
	if err != nil {
		return nil, 0, s.storeError(err)
	}
	return s.first(resp.Kvs)
}

// first decodes the first of kvs (the one key a read asked for) and
// returns it with its revision; nil when there is none.
func (s *Store) first(kvs []*mvccpb.KeyValue) (runtime.Object, int64, error) {
	if len(kvs) == 0 {
		return nil, 0, nil
	}
	obj, err := s.decodeKV(kvs[0])
	if err != nil {
		return nil, 0, err
	}
	return obj, kvs[0].ModRevision, nil
}

// Preconditions of a delete.
type Preconditions struct {
	UID             *types.UID
	ResourceVersion *string
}

// Delete removes an object. check sees the current object first and may
// refuse. It returns the deleted object with the revision of the delete.
// known, if not nil, is the object as the caller has just read it: the
// delete starts from it instead of reading the store, its compare-and-swap
// on the object's revision catches a change, and the failed transaction
// returns the current object for the next attempt.
func (s *Store) Delete(ctx context.Context, ns, name string, known runtime.Object, pre Preconditions, check func(cur runtime.Object) error, extra ...clientv3.Op) (runtime.Object, error) {
	key := s.res.Key(ns, name)
	cur, curRev, fromKnown := withRevision(known)
	current := !fromKnown
	if current {
		var err error
		if cur, curRev, err = s.getRaw(ctx, key); err != nil {
			return nil, err
		}
	}
	for {
		if cur == nil {
			return nil, apierrors.NewNotFound(s.gr, name)
		}
		err := s.CheckPreconditions(cur, pre)
		if err == nil && check != nil {
			err = check(cur)
		}
		if err != nil && !current {
			if cur, curRev, err = s.getRaw(ctx, key); err != nil {
				return nil, err
			}
			current = true
			continue
		}
		if err != nil {
			return nil, err
		}
		ops := append([]clientv3.Op{clientv3.OpDelete(key)}, extra...)
		start := time.Now()
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", curRev)).
			Then(ops...).
			Else(clientv3.OpGet(key)).
			Commit()
		s.Metrics.observe("delete", s.gr.String(), start)
		if err != nil {
			return nil, s.storeError(err)
		}
		if resp.Succeeded {
			return cur, setRV(cur, resp.Header.Revision)
		}
		if cur, curRev, err = s.fromRange(resp); err != nil {
			return nil, err
		}
		current = true
	}
}

// fromRange returns the object a failed transaction's Else(OpGet) read,
// nil if there was none.
func (s *Store) fromRange(resp *clientv3.TxnResponse) (runtime.Object, int64, error) {
	return s.first(resp.Responses[0].GetResponseRange().GetKvs())
}

// CheckPreconditions enforces a delete's uid and resourceVersion
// preconditions on the current object, with Kubernetes' messages.
func (s *Store) CheckPreconditions(cur runtime.Object, pre Preconditions) error {
	m, err := meta.Accessor(cur)
	if err != nil {
		return err
	}
	name := m.GetName()
	if pre.UID != nil && *pre.UID != m.GetUID() {
		return apierrors.NewConflict(s.gr, name, fmt.Errorf(
			"Precondition failed: UID in precondition: %v, UID in object meta: %v", *pre.UID, m.GetUID()))
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(s.gr, name, fmt.Errorf(
			"Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v",
			*pre.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// Page is one page of a list read from the store.
type Page struct {
	Items    []runtime.Object
	Revision int64
	// Next is the key to continue from, empty at the end.
	Next string
	// Remaining counts the keys after this page, when known.
	Remaining int64
}

// ListPage reads up to limit objects (0 = all) of prefix from key start on,
// at revision rev (0 = now). keep filters the objects; the page is filled
// up to limit with objects keep accepts.
func (s *Store) ListPage(ctx context.Context, prefix, start string, rev, limit int64, keep func(runtime.Object) bool) (*Page, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	if start == "" {
		start = prefix
	}
	page := &Page{Revision: rev}
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end)}
		if page.Revision > 0 {
			opts = append(opts, clientv3.WithRev(page.Revision))
		}
		batch := int64(0)
		if limit > 0 {
			batch = limit - int64(len(page.Items)) + 1
			if batch < 64 && keep != nil {
				batch = 64
			}
			opts = append(opts, clientv3.WithLimit(batch))
		}
		began := time.Now()
		resp, err := s.cli.Get(ctx, start, opts...)
		s.Metrics.observe("list", s.gr.String(), began)
		if err != nil {
			return nil, s.storeError(err)
		}
		if page.Revision == 0 {
			page.Revision = resp.Header.Revision
		}
		for i, kv := range resp.Kvs {
			if limit > 0 && int64(len(page.Items)) == limit {
				page.Next = string(kv.Key)
				page.Remaining = resp.Count - int64(i)
				return page, nil
			}
			obj, err := s.decodeKV(kv)
			if err != nil {
				return nil, err
			}
			if keep == nil || keep(obj) {
				page.Items = append(page.Items, obj)
			}
		}
		if !resp.More {
			return page, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Revision returns the store's current revision, read linearizably.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.res.StoragePrefix+"\x00", clientv3.WithCountOnly())
	if err != nil {
		return 0, s.storeError(err)
	}
	return resp.Header.Revision, nil
}

func (s *Store) storeError(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierrors.NewTimeoutError(fmt.Sprintf("request to the store did not complete: %v", err), 1)
	case errors.Is(err, rpctypes.ErrCompacted):
		return apierrors.NewResourceExpired(fmt.Sprintf("resourceVersion too old: %v", err))
	case errors.Is(err, rpctypes.ErrFutureRev):
		return apierrors.NewTimeoutError("Too large resource version", 1)
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		return apierrors.NewRequestEntityTooLargeError("the object is larger than the store accepts")
	case errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrLeaderChanged), errors.Is(err, rpctypes.ErrTimeout):
		return apierrors.NewServerTimeout(s.gr, "store", 1)
	}
	return apierrors.NewInternalError(fmt.Errorf("store: %w", err))
}

func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}
