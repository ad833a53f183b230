package streams

import (
	"net/url"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestLogOptionsQuery(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  corev1.PodLogOptions
	}{
		{"", corev1.PodLogOptions{}},
		{"follow", corev1.PodLogOptions{Follow: true}},
		{"follow=1&previous=true&timestamps=TRUE", corev1.PodLogOptions{Follow: true, Previous: true, Timestamps: true}},
		{"follow=0&previous=false", corev1.PodLogOptions{}},
		{"container=web&tailLines=0&limitBytes=1", corev1.PodLogOptions{Container: "web", TailLines: ptr(int64(0)), LimitBytes: ptr(int64(1))}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := logOptions(q, "p")
			if err != nil || !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestExecOptionsQuery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		query  string
		attach bool
		want   *corev1.PodExecOptions
	}{
		{"kubectl exec -it", "command=sh&command=-c&command=ls&container=web&stdin=true&stdout=true&tty=true&stderr=true", false,
			&corev1.PodExecOptions{Command: []string{"sh", "-c", "ls"}, Container: "web", Stdin: true, Stdout: true, TTY: true}},
		{"attach needs no command", "container=web&stdout=true&stderr=true", true,
			&corev1.PodExecOptions{Container: "web", Stdout: true, Stderr: true}},
		{"exec needs a command", "container=web&stdout=true", false, nil},
		{"some stream is needed", "command=ls&tty=true", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := execOptions(q, tc.attach)
			if (err != nil) != (tc.want == nil) || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
