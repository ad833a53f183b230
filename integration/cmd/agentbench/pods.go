package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

const podNamespace = "agentbench"

type agentResult struct {
	perPod    []time.Duration // create call to the first watch event with phase Running
	createAPI []time.Duration // the create calls alone
	total     time.Duration   // first create call to the last pod Running
	deleteAll time.Duration   // delete calls to every pod gone from the API and containerd
}

func benchPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "agentbench"}},
		Spec: corev1.PodSpec{
			NodeName: node,
			// sleep runs as PID 1 and ignores SIGTERM: keep deletion short.
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name:            "sleep",
				Image:           image,
				ImagePullPolicy: corev1.PullNever,
				Command:         []string{"sleep", "3600"},
			}},
		},
	}
}

// podBurst creates n pods on node at once and waits for each to be Running,
// then deletes them all and waits until they are gone.
func podBurst(ctx context.Context, kube *kubernetes.Clientset, node string, n int, timeout time.Duration, sock string) (agentResult, error) {
	var res agentResult
	_, err := kube.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: podNamespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return res, err
	}
	pods := kube.CoreV1().Pods(podNamespace)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		return res, err
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return res, err
	}
	defer w.Stop()

	var mu sync.Mutex
	running := map[string]time.Time{}
	deleted := map[string]bool{}
	allRunning := make(chan struct{})
	allDeleted := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				watchErr <- fmt.Errorf("watch: %v", apierrors.FromObject(ev.Object))
				return
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			now := time.Now()
			mu.Lock()
			if ev.Type == watch.Deleted {
				deleted[p.Name] = true
				if len(deleted) == n {
					close(allDeleted)
				}
			} else if p.Status.Phase == corev1.PodRunning {
				if _, seen := running[p.Name]; !seen {
					running[p.Name] = now
					if len(running) == n {
						close(allRunning)
					}
				}
			}
			mu.Unlock()
		}
		watchErr <- errors.New("watch closed")
	}()

	names := make([]string, n)
	createStart := make([]time.Time, n)
	res.createAPI = make([]time.Duration, n)
	createErrs := make([]error, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		names[i] = fmt.Sprintf("sleep-%03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			createStart[i] = time.Now()
			_, createErrs[i] = pods.Create(ctx, benchPod(names[i], node), metav1.CreateOptions{})
			res.createAPI[i] = time.Since(createStart[i])
		}()
	}
	begin := time.Now()
	close(gate)
	wg.Wait()
	if err := errors.Join(createErrs...); err != nil {
		return res, fmt.Errorf("create pods: %w", err)
	}
	logf("agent: %d creates answered after %v", n, time.Since(begin).Round(time.Millisecond))

	select {
	case <-allRunning:
	case err := <-watchErr:
		return res, err
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(timeout):
		mu.Lock()
		got := len(running)
		mu.Unlock()
		return res, fmt.Errorf("only %d of %d pods Running after %v", got, n, timeout)
	}
	mu.Lock()
	var last time.Time
	for i, name := range names {
		t := running[name]
		res.perPod = append(res.perPod, t.Sub(createStart[i]))
		if t.After(last) {
			last = t
		}
	}
	mu.Unlock()
	res.total = last.Sub(begin)
	logSummary("agent", res.perPod, res.total)

	// Delete them all and wait until they are gone from the API and the
	// agent has removed their containers.
	logf("agent: deleting %d pods", n)
	t0 := time.Now()
	delErrs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			delErrs[i] = pods.Delete(ctx, names[i], metav1.DeleteOptions{})
		}()
	}
	wg.Wait()
	if err := errors.Join(delErrs...); err != nil {
		return res, fmt.Errorf("delete pods: %w", err)
	}
	select {
	case <-allDeleted:
	case err := <-watchErr:
		return res, err
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(timeout):
		return res, fmt.Errorf("pods not deleted after %v", timeout)
	}
	if err := waitNoContainers(ctx, sock, timeout); err != nil {
		return res, err
	}
	res.deleteAll = time.Since(t0)
	logf("agent: all pods gone after %v", res.deleteAll.Round(time.Millisecond))
	return res, nil
}

// waitNoContainers waits until the agent's namespace has no container.
func waitNoContainers(ctx context.Context, sock string, timeout time.Duration) error {
	client, err := containerd.New(sock)
	if err != nil {
		return err
	}
	defer client.Close()
	nsctx := namespaces.WithNamespace(ctx, agentNamespace)
	deadline := time.Now().Add(timeout)
	for {
		ctrs, err := client.Containers(nsctx)
		if err != nil {
			return err
		}
		if len(ctrs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d containers still in namespace %s after %v", len(ctrs), agentNamespace, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
