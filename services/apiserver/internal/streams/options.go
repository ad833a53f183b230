package streams

import (
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The query parameters are read with apimachinery's string conversions, so
// that "follow", "follow=1" and "follow=true" mean what they mean to
// Kubernetes; a value that does not parse is a 400.

func queryBool(q url.Values, name string) bool {
	var v bool
	in := q[name]
	_ = runtime.Convert_Slice_string_To_bool(&in, &v, nil)
	return v
}

func queryInt64(q url.Values, name string) (*int64, error) {
	var v *int64
	in := q[name]
	if err := runtime.Convert_Slice_string_To_Pointer_int64(&in, &v, nil); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s: %v", name, err))
	}
	return v, nil
}

// logOptions reads and validates PodLogOptions for pod name.
func logOptions(q url.Values, name string) (*corev1.PodLogOptions, error) {
	opts := &corev1.PodLogOptions{
		Container:  q.Get("container"),
		Follow:     queryBool(q, "follow"),
		Previous:   queryBool(q, "previous"),
		Timestamps: queryBool(q, "timestamps"),
	}
	var err error
	if opts.SinceSeconds, err = queryInt64(q, "sinceSeconds"); err != nil {
		return nil, err
	}
	if opts.TailLines, err = queryInt64(q, "tailLines"); err != nil {
		return nil, err
	}
	if opts.LimitBytes, err = queryInt64(q, "limitBytes"); err != nil {
		return nil, err
	}
	if since := q["sinceTime"]; len(since) > 0 {
		if err := metav1.Convert_Slice_string_To_Pointer_v1_Time(&since, &opts.SinceTime, nil); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("sinceTime: %v", err))
		}
	}
	if s, ok := q["stream"]; ok && len(s) > 0 {
		opts.Stream = &s[0]
	}
	if errs := validateLogOptions(opts); len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Kind: "PodLogOptions"}, name, errs)
	}
	return opts, nil
}

// validateLogOptions applies Kubernetes' rules for PodLogOptions.
func validateLogOptions(opts *corev1.PodLogOptions) field.ErrorList {
	var errs field.ErrorList
	if opts.TailLines != nil && *opts.TailLines < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *opts.TailLines, "must be greater than or equal to 0"))
	}
	if opts.LimitBytes != nil && *opts.LimitBytes < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *opts.LimitBytes, "must be greater than 0"))
	}
	switch {
	case opts.SinceSeconds != nil && opts.SinceTime != nil:
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	case opts.SinceSeconds != nil && *opts.SinceSeconds < 1:
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *opts.SinceSeconds, "must be greater than 0"))
	}
	if opts.Stream != nil {
		switch *opts.Stream {
		case corev1.LogStreamAll, corev1.LogStreamStdout, corev1.LogStreamStderr:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("stream"), *opts.Stream,
				[]string{corev1.LogStreamAll, corev1.LogStreamStdout, corev1.LogStreamStderr}))
		}
		if *opts.Stream != corev1.LogStreamAll && opts.TailLines != nil {
			errs = append(errs, field.Forbidden(field.NewPath(""), "`tailLines` and specific `stream` are mutually exclusive for now"))
		}
	}
	return errs
}

// execOptions reads PodExecOptions, or PodAttachOptions (no command) for
// attach. As the kubelet does, a terminal merges stderr into stdout.
func execOptions(q url.Values, attach bool) (*corev1.PodExecOptions, error) {
	opts := &corev1.PodExecOptions{
		Container: q.Get("container"),
		Stdin:     queryBool(q, "stdin"),
		Stdout:    queryBool(q, "stdout"),
		Stderr:    queryBool(q, "stderr"),
		TTY:       queryBool(q, "tty"),
	}
	if opts.TTY {
		opts.Stderr = false
	}
	if !opts.Stdin && !opts.Stdout && !opts.Stderr {
		return nil, apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	if attach {
		return opts, nil
	}
	opts.Command = q["command"]
	if len(opts.Command) == 0 {
		return nil, apierrors.NewBadRequest("you must specify at least one command for the container")
	}
	return opts, nil
}

// podContainer is the container a request is about: the named one, which
// must exist, or the only one.
func podContainer(pod *corev1.Pod, name string) (string, error) {
	if name != "" {
		if !hasContainer(pod, name) {
			return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
		}
		return name, nil
	}
	switch len(pod.Spec.Containers) {
	case 1:
		return pod.Spec.Containers[0].Name, nil
	case 0:
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s",
		pod.Name, containerNames(pod)))
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, n := range containerNames(pod) {
		if n == name {
			return true
		}
	}
	return false
}

// containerNames lists the pod's containers, init and ephemeral ones too.
func containerNames(pod *corev1.Pod) []string {
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	return names
}

func containerStatus(pod *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, list := range [][]corev1.ContainerStatus{
		pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses,
	} {
		for _, cs := range list {
			if cs.Name == name {
				return cs, true
			}
		}
	}
	return corev1.ContainerStatus{}, false
}

// waitingReasons words the common reasons a container has no log yet as
// the kubelet does.
var waitingReasons = map[string]string{
	"ErrImagePull":     "image can't be pulled",
	"ImagePullBackOff": "trying and failing to pull image",
}

// checkLogStatus fails with the kubelet's 400 when the pod's status says
// the container has no log to read. Without a status for the container it
// leaves the decision to the agent.
func checkLogStatus(pod *corev1.Pod, container string, previous bool) error {
	cs, ok := containerStatus(pod, container)
	if !ok {
		return nil
	}
	switch {
	case previous:
		if cs.LastTerminationState.Terminated == nil {
			return apierrors.NewBadRequest(fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod.Name))
		}
	case cs.State.Running != nil, cs.State.Terminated != nil, cs.LastTerminationState.Terminated != nil:
	case cs.State.Waiting != nil:
		reason := cs.State.Waiting.Reason
		if text, ok := waitingReasons[reason]; ok {
			reason = text
		}
		return apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, pod.Name, reason))
	}
	return nil
}
