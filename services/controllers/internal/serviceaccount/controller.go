package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
	"github.com/gantry-dev/gantry/services/controllers/internal/endpointutil"
)

// Name is the controller's name (--controllers) and its work queue's.
const Name = "serviceaccount"

// Controller creates the default ServiceAccounts of namespaces.
type Controller struct {
	accounts   *client.Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList]
	namespaces listers.ResourceIndexer[*corev1.Namespace]
	cached     listers.ResourceIndexer[*corev1.ServiceAccount]
	want       []string
	loop       *controller.Loop
	log        *slog.Logger
}

// New builds the ServiceAccount controller on c's shared informers.
func New(c *controller.Context) (controller.Runnable, error) {
	nsInf := client.InformerFor(c.Informers, client.Namespaces)
	saInf := client.InformerFor(c.Informers, client.ServiceAccounts)
	ctl := &Controller{
		accounts:   client.ServiceAccounts(c.Client),
		namespaces: client.Lister(client.Namespaces(c.Client), nsInf),
		cached:     client.Lister(client.ServiceAccounts(c.Client), saInf),
		want:       DefaultAccounts,
	}
	ctl.loop = controller.NewLoop(c, Name, ctl.sync, nsInf.HasSynced, saInf.HasSynced)
	ctl.log = ctl.loop.Log()
	if _, err := nsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ctl.loop.Enqueue,
		UpdateFunc: func(_, cur any) { ctl.loop.Enqueue(cur) },
	}); err != nil {
		return nil, err
	}
	// A deleted account is made again: sync its namespace.
	if _, err := saInf.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: ctl.accountDeleted}); err != nil {
		return nil, err
	}
	return ctl, nil
}

// Run syncs namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Controller) accountDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if sa, ok := obj.(*corev1.ServiceAccount); ok {
		c.loop.EnqueueKey(sa.Namespace)
	}
}

// sync creates the accounts namespace key lacks.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, err := c.namespaces.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("namespace %s from the cache: %w", key, err)
	}
	inNS := listers.NewNamespaced(c.cached, key)
	has := func(name string) bool {
		_, err := inNS.Get(name)
		return err == nil
	}
	var errs []error
	for _, name := range toCreate(ns, c.want, has) {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: key, Name: name}}
		_, err := c.accounts.Create(ctx, sa, metav1.CreateOptions{})
		switch {
		case err == nil:
			c.log.Info("created service account", "namespace", key, "name", name)
		case apierrors.IsAlreadyExists(err):
			// The cache is behind: it is there.
		case endpointutil.NamespaceTerminating(err):
			return nil // the namespace started going meanwhile
		default:
			errs = append(errs, fmt.Errorf("create service account %s/%s: %w", key, name, err))
		}
	}
	return errors.Join(errs...)
}
