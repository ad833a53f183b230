package podgc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

const (
	name = "podgc"
	// passKey is the queue's only key: one pass over every pod.
	passKey = "pass"
	// checkPeriod is how often a pass runs (Kubernetes' gcCheckPeriod).
	checkPeriod = 20 * time.Second
	// parallelism bounds the deletions in flight.
	parallelism = 10
)

// GC is the pod garbage collector.
type GC struct {
	pods       *client.Resource[*corev1.Pod, *corev1.PodList]
	nodes      *client.Resource[*corev1.Node, *corev1.NodeList]
	podLister  listers.ResourceIndexer[*corev1.Pod]
	nodeLister listers.ResourceIndexer[*corev1.Node]
	threshold  int
	clock      clock.Clock
	loop       *controller.Loop
	log        *slog.Logger
}

// New builds the pod garbage collector.
func New(c *controller.Context) (controller.Runnable, error) {
	podInf := client.InformerFor(c.Informers, client.Pods)
	nodeInf := client.InformerFor(c.Informers, client.Nodes)
	gc := &GC{
		pods:       client.Pods(c.Client),
		nodes:      client.Nodes(c.Client),
		podLister:  client.Lister(client.Pods(c.Client), podInf),
		nodeLister: client.Lister(client.Nodes(c.Client), nodeInf),
		threshold:  c.Options.TerminatedPodGCThreshold,
		clock:      c.Clock,
	}
	gc.loop = controller.NewLoop(c, name, gc.sync, podInf.HasSynced, nodeInf.HasSynced)
	gc.loop.SetWorkers(1)
	gc.log = gc.loop.Log()
	// A deleted node leaves orphans: collect them soon rather than at
	// the next period.
	if _, err := nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(any) { gc.loop.EnqueueAfter(passKey, time.Second) },
	}); err != nil {
		return nil, err
	}
	return gc, nil
}

// Run collects pods until ctx ends.
func (gc *GC) Run(ctx context.Context) error {
	gc.loop.EnqueueKey(passKey)
	return gc.loop.Run(ctx)
}

// sync is one pass; the next one is due checkPeriod later.
func (gc *GC) sync(ctx context.Context, _ string) error {
	defer gc.loop.EnqueueAfter(passKey, checkPeriod)
	pods, err := gc.podLister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	nodeList, err := gc.nodeLister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	nodes := make(map[string]*corev1.Node, len(nodeList))
	for _, n := range nodeList {
		nodes[n.Name] = n
	}
	p := plan(pods, nodes, gc.threshold)

	var work []deletion
	orphanNodes := make([]string, 0, len(p.orphans))
	for n := range p.orphans {
		orphanNodes = append(orphanNodes, n)
	}
	slices.Sort(orphanNodes)
	var errs []error
	for _, n := range orphanNodes {
		gone, err := gc.nodeGone(ctx, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !gone {
			continue // the cache is behind: the node exists
		}
		cond := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
			Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"}
		for _, pod := range p.orphans[n] {
			work = append(work, deletion{pod, cond, "orphaned"})
		}
	}
	for _, pod := range p.unscheduled {
		work = append(work, deletion{pod, nil, "unscheduled and terminating"})
	}
	for _, pod := range p.outOfService {
		cond := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
			Reason: "DeletionByPodGC", Message: "PodGC: node is out of service"}
		work = append(work, deletion{pod, cond, "terminating on an out-of-service node"})
	}
	for _, pod := range p.terminated {
		work = append(work, deletion{pod, nil, "terminated beyond the threshold"})
	}
	errs = append(errs, gc.run(ctx, work)...)
	return errors.Join(errs...)
}

// nodeGone asks the API server whether node is really gone.
func (gc *GC) nodeGone(ctx context.Context, node string) (bool, error) {
	_, err := gc.nodes.Get(ctx, "", node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("check node %s: %w", node, err)
	}
	return false, nil
}

// deletion is one pod to force-delete, with the condition to record
// first and why (for the log).
type deletion struct {
	pod  *corev1.Pod
	cond *corev1.PodCondition
	why  string
}

func (gc *GC) run(ctx context.Context, work []deletion) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, parallelism)
	)
	for _, d := range work {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := gc.forceDelete(ctx, d); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// forceDelete marks a pod that has not finished Failed (with d's
// condition), so that its controller replaces it, then deletes it with
// grace period 0.
func (gc *GC) forceDelete(ctx context.Context, d deletion) error {
	pod := d.pod
	gc.log.Info("force deleting pod", "pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName, "reason", d.why)
	if !terminal(pod) {
		status := map[string]any{"phase": corev1.PodFailed}
		if d.cond != nil {
			c := *d.cond
			c.LastTransitionTime = metav1.NewTime(gc.clock.Now())
			status["conditions"] = []corev1.PodCondition{c}
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": pod.UID}, "status": status})
		if err != nil {
			return err
		}
		_, err = gc.pods.Patch(ctx, pod.Namespace, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // gone, or replaced by a namesake (another UID)
		}
		if err != nil {
			return fmt.Errorf("mark pod %s/%s failed: %w", pod.Namespace, pod.Name, err)
		}
	}
	zero := int64(0)
	uid := pod.UID
	err := gc.pods.Delete(ctx, pod.Namespace, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
