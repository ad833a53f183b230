package job

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gantry-dev/gantry/libs/client"
	"github.com/gantry-dev/gantry/services/controllers/internal/controller"
)

// api is what the Job controller asks of the API server (a fake in
// tests).
type api interface {
	// CreatePod creates a pod of job and records SuccessfulCreate or
	// FailedCreate on it.
	CreatePod(ctx context.Context, pod *corev1.Pod, job *batchv1.Job) error
	// DeletePod deletes a pod of job (gone already is fine) and records
	// SuccessfulDelete or FailedDelete on it.
	DeletePod(ctx context.Context, pod *corev1.Pod, job *batchv1.Job) error
	PatchPod(ctx context.Context, namespace, name string, pt types.PatchType, patch []byte) error
	GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error)
	UpdateJobStatus(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error)
	// Event records an event on job.
	Event(job *batchv1.Job, eventType, reason, message string)
}

// apiClient is api over the API client.
type apiClient struct {
	pods     *client.Resource[*corev1.Pod, *corev1.PodList]
	jobs     *client.Resource[*batchv1.Job, *batchv1.JobList]
	podCtl   *controller.PodControl
	recorder *client.EventRecorder
}

func newAPIClient(c *controller.Context) apiClient {
	return apiClient{
		pods: client.Pods(c.Client), jobs: client.Jobs(c.Client),
		podCtl: controller.NewPodControl(c, component), recorder: c.Recorder(component),
	}
}

func (a apiClient) CreatePod(ctx context.Context, pod *corev1.Pod, job *batchv1.Job) error {
	_, err := a.podCtl.Create(ctx, pod, job, jobGVK)
	return err
}

func (a apiClient) DeletePod(ctx context.Context, pod *corev1.Pod, job *batchv1.Job) error {
	return a.podCtl.Delete(ctx, pod, job, jobGVK)
}

func (a apiClient) PatchPod(ctx context.Context, namespace, name string, pt types.PatchType, patch []byte) error {
	_, err := a.pods.Patch(ctx, namespace, name, pt, patch, metav1.PatchOptions{})
	return err
}

func (a apiClient) GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error) {
	return a.jobs.Get(ctx, namespace, name, metav1.GetOptions{})
}

func (a apiClient) UpdateJobStatus(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	return a.jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{})
}

func (a apiClient) Event(job *batchv1.Job, eventType, reason, message string) {
	a.recorder.Event(controller.Ref(job, jobGVK), eventType, reason, message)
}
