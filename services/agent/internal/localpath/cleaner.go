// Package localpath is the node agent's side of Gantry's local-path
// provisioner (see libs/storageutil for the whole protocol): it removes
// the directory of a local-path PersistentVolume of this node once the
// volume is being deleted, then the volume's gantry.dev/local-path-cleanup
// finalizer, which lets the deletion finish.
//
// A volume is this node's when it was provisioned by gantry.dev/local-path
// and its node affinity names the node's kubernetes.io/hostname. Its
// directory is removed only when its reclaim policy is Delete (a Retain
// volume deleted by hand keeps its data), only when no pod on the node
// still uses its claim (the cleaner checks again a little later), and
// only when the directory is the provisioner's own (an absolute path
// whose last element starts with "<volume name>_"), so that no crafted
// volume can make the agent remove another directory. One Cleaner may
// serve several simulated nodes, with nothing on disk.
package localpath

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/libs/storageutil"
)

// API is what the cleaner needs of the API server.
type API interface {
	// UpdateVolume writes a volume (its finalizers).
	UpdateVolume(ctx context.Context, pv *corev1.PersistentVolume) error
	// ClaimInUse reports whether a pod on node uses the claim
	// namespace/name.
	ClaimInUse(ctx context.Context, node, namespace, claim string) (bool, error)
}

// Config configures a Cleaner.
type Config struct {
	// Volumes is an informer of PersistentVolumes; the cleaner adds its
	// handler, the caller runs it.
	Volumes cache.SharedIndexInformer
	API     API
	// Nodes maps the kubernetes.io/hostname of each node served to its
	// name.
	Nodes map[string]string
	// OnDisk: directories are really there (false for simulated nodes).
	OnDisk bool
	// Retry is how long a volume whose claim is still in use waits
	// before the next check (default 5s).
	Retry time.Duration
	Log   *slog.Logger
}

// Cleaner removes the directories of deleted local-path volumes.
type Cleaner struct {
	cfg   Config
	queue workqueue.TypedRateLimitingInterface[string]
	log   *slog.Logger
}

// New returns a Cleaner; Run starts it.
func New(cfg Config) (*Cleaner, error) {
	if cfg.Retry <= 0 {
		cfg.Retry = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cleaner{
		cfg:   cfg,
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		log:   cfg.Log.With("component", "local-path-cleaner"),
	}
	enqueue := func(obj any) {
		if pv, ok := obj.(*corev1.PersistentVolume); ok && c.ours(pv) != "" {
			c.queue.Add(pv.Name)
		}
	}
	_, err := cfg.Volumes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ours is the name of the node served that pv lives on, "" when it is
// not a local-path volume of one of them.
func (c *Cleaner) ours(pv *corev1.PersistentVolume) string {
	if !storageutil.IsLocalPathVolume(pv) {
		return ""
	}
	return c.cfg.Nodes[storageutil.AffinityHostname(pv)]
}

// Run cleans volumes until ctx ends.
func (c *Cleaner) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.cfg.Volumes.HasSynced) {
		return nil
	}
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for {
		name, quit := c.queue.Get()
		if quit {
			return nil
		}
		retry, err := c.sync(ctx, name)
		switch {
		case err != nil && ctx.Err() == nil:
			c.log.Warn("cleaning a local-path volume; retrying", "volume", name, "err", err)
			c.queue.AddRateLimited(name)
		case retry:
			c.queue.Forget(name)
			c.queue.AddAfter(name, c.cfg.Retry)
		default:
			c.queue.Forget(name)
		}
		c.queue.Done(name)
	}
}

// sync cleans one volume if it is being deleted; retry asks for another
// look later (its claim is still in use).
func (c *Cleaner) sync(ctx context.Context, name string) (retry bool, err error) {
	obj, exists, err := c.cfg.Volumes.GetIndexer().GetByKey(name)
	if err != nil || !exists {
		return false, err
	}
	pv := obj.(*corev1.PersistentVolume)
	node := c.ours(pv)
	if node == "" || pv.DeletionTimestamp == nil || !hasFinalizer(pv) {
		return false, nil
	}
	if c.cfg.OnDisk && pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
		if ref := pv.Spec.ClaimRef; ref != nil {
			used, err := c.cfg.API.ClaimInUse(ctx, node, ref.Namespace, ref.Name)
			if err != nil {
				return false, err
			}
			if used {
				c.log.Info("volume still in use by a pod; waiting before removing its directory", "volume", pv.Name)
				return true, nil
			}
		}
		dir, err := volumeDir(pv)
		if err != nil {
			return false, err
		}
		if err := os.RemoveAll(dir); err != nil {
			return false, fmt.Errorf("remove %s: %w", dir, err)
		}
		c.log.Info("removed the directory of a deleted local-path volume", "volume", pv.Name, "path", dir)
	}
	next := pv.DeepCopy()
	next.Finalizers = nil
	for _, f := range pv.Finalizers {
		if f != storageutil.LocalPathCleanupFinalizer {
			next.Finalizers = append(next.Finalizers, f)
		}
	}
	if err := c.cfg.API.UpdateVolume(ctx, next); err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("remove the finalizer of %s: %w", pv.Name, err)
	}
	return false, nil
}

func hasFinalizer(pv *corev1.PersistentVolume) bool {
	for _, f := range pv.Finalizers {
		if f == storageutil.LocalPathCleanupFinalizer {
			return true
		}
	}
	return false
}

// volumeDir is the directory of a local-path volume, checked to be the
// provisioner's own: absolute, clean, and named "<volume name>_...".
func volumeDir(pv *corev1.PersistentVolume) (string, error) {
	if pv.Spec.HostPath == nil {
		return "", errors.New("not a hostPath volume")
	}
	dir := pv.Spec.HostPath.Path
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || !strings.HasPrefix(filepath.Base(dir), pv.Name+"_") {
		return "", fmt.Errorf("refusing to remove %q: not a directory the local-path provisioner made for %s", dir, pv.Name)
	}
	return dir, nil
}

// ClientAPI is the API through the agent's client.
func ClientAPI(c *client.Client) API { return clientAPI{c: c} }

type clientAPI struct{ c *client.Client }

func (a clientAPI) UpdateVolume(ctx context.Context, pv *corev1.PersistentVolume) error {
	_, err := client.PersistentVolumes(a.c).Update(ctx, pv, metav1.UpdateOptions{})
	return err
}

// ClaimInUse: a pod of the node, not finished, has a volume of the claim.
func (a clientAPI) ClaimInUse(ctx context.Context, node, namespace, claim string) (bool, error) {
	pods, err := client.Pods(a.c).List(ctx, namespace, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return false, err
	}
	for _, pod := range pods.Items {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
				return true, nil
			}
		}
	}
	return false, nil
}
