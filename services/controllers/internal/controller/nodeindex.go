package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// PodNodeNameIndex is the index of a pod informer by spec.nodeName
// (unscheduled pods are not indexed), which IndexPodsByNodeName adds.
const PodNodeNameIndex = "gantry.dev/spec.nodeName"

// IndexPodsByNodeName adds PodNodeNameIndex to the shared pod informer,
// once however many controllers ask for it. Call it before the informer
// starts (in a controller's constructor).
func IndexPodsByNodeName(podInformer cache.SharedIndexInformer) error {
	if _, ok := podInformer.GetIndexer().GetIndexers()[PodNodeNameIndex]; ok {
		return nil
	}
	err := podInformer.AddIndexers(cache.Indexers{PodNodeNameIndex: func(obj any) ([]string, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return nil, nil
		}
		return []string{pod.Spec.NodeName}, nil
	}})
	if err != nil {
		return fmt.Errorf("index pods by node name: %w", err)
	}
	return nil
}

// PodsOnNode returns the cached pods bound to node, from an informer
// indexed by IndexPodsByNodeName. The pods are the cache's: do not
// modify them.
func PodsOnNode(podInformer cache.SharedIndexInformer, node string) ([]*corev1.Pod, error) {
	objs, err := podInformer.GetIndexer().ByIndex(PodNodeNameIndex, node)
	if err != nil {
		return nil, fmt.Errorf("pods on node %s: %w", node, err)
	}
	pods := make([]*corev1.Pod, 0, len(objs))
	for _, obj := range objs {
		if pod, ok := obj.(*corev1.Pod); ok {
			pods = append(pods, pod)
		}
	}
	return pods, nil
}
