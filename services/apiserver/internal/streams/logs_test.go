package streams

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLogFollowStreamsLinesAsTheyCome(t *testing.T) {
	env := newTestEnv(t)
	ctx := testContext(t)
	body, err := env.client.CoreV1().Pods(testNamespace).
		GetLogs(testPod, &corev1.PodLogOptions{Container: "web", Follow: true}).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	r := bufio.NewReader(body)
	for _, want := range []string{"line 1\n", "line 2\n"} {
		expectLine(t, r, want)
	}
	// The response is still open: a line written now reaches the client.
	select {
	case env.agent.follow <- "line 3\n":
	case <-ctx.Done():
		t.Fatal("the agent's follow loop never took the line")
	}
	expectLine(t, r, "line 3\n")
	// Closing the response ends the agent's call.
	body.Close()
	env.agent.waitIdle(t)
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	got, err := r.ReadString('\n')
	if err != nil || got != want {
		t.Fatalf("read %q, %v; want %q", got, err, want)
	}
}

func TestLogOptionsReachTheAgent(t *testing.T) {
	env := newTestEnv(t)
	since := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	stderr := corev1.LogStreamStderr
	for _, tc := range []struct {
		name     string
		opts     corev1.PodLogOptions
		want     *agentv1.LogsRequest
		wantBody string
	}{{
		name:     "only container defaults",
		opts:     corev1.PodLogOptions{Container: "web"},
		want:     &agentv1.LogsRequest{Container: "web"},
		wantBody: "line 1\nline 2\n",
	}, {
		name:     "tail, timestamps, since seconds",
		opts:     corev1.PodLogOptions{Container: "web", TailLines: ptr(int64(5)), Timestamps: true, SinceSeconds: ptr(int64(60))},
		want:     &agentv1.LogsRequest{Container: "web", TailLines: ptr(int64(5)), Timestamps: true, SinceSeconds: ptr(int64(60))},
		wantBody: "line 1\nline 2\n",
	}, {
		name:     "since time and a stream",
		opts:     corev1.PodLogOptions{Container: "web", SinceTime: &since, Stream: &stderr},
		want:     &agentv1.LogsRequest{Container: "web", SinceTime: timestamppb.New(since.Time), Stream: agentv1.LogStream_LOG_STREAM_STDERR},
		wantBody: "line 1\nline 2\n",
	}, {
		name:     "limit bytes is enforced here too",
		opts:     corev1.PodLogOptions{Container: "web", LimitBytes: ptr(int64(9))},
		want:     &agentv1.LogsRequest{Container: "web", LimitBytes: ptr(int64(9))},
		wantBody: "line 1\nli",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := env.client.CoreV1().Pods(testNamespace).GetLogs(testPod, &tc.opts).DoRaw(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.wantBody {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
			tc.want.Pod = env.agent.pod
			if got := env.agent.lastLogsRequest(); !proto.Equal(got, tc.want) {
				t.Errorf("agent got %v, want %v", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestLogErrors(t *testing.T) {
	env := newTestEnv(t)
	waiting := runningPod("waiting-0", testNode)
	waiting.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}
	env.objects.pods["waiting-0"] = waiting
	env.objects.pods["pending-0"] = runningPod("pending-0", "")
	env.objects.pods["lost-0"] = runningPod("lost-0", "node-2")
	env.objects.nodes["node-2"] = agentNode(t, "node-2", closedAddress(t))
	env.objects.pods["orphan-0"] = runningPod("orphan-0", "node-3")

	for _, tc := range []struct {
		name, path string
		method     string
		code       int
		message    string
	}{
		{"unknown container", "web-0/log?container=nope", "", 400, "container nope is not valid for pod web-0"},
		{"container needed", "web-0/log", "", 400, "a container name must be specified for pod web-0, choose one of: [web sidecar]"},
		{"waiting, from the pod's status", "waiting-0/log?container=web", "", 400, `container "web" in pod "waiting-0" is waiting to start: image can't be pulled`},
		{"waiting, from the agent", "web-0/log?container=sidecar", "", 400, `container "sidecar" in pod "web-0" is waiting to start: ContainerCreating`},
		{"no previous container", "web-0/log?container=web&previous=true", "", 400, `previous terminated container "web" in pod "web-0" not found`},
		{"negative tail", "web-0/log?container=web&tailLines=-1", "", 422, "tailLines: Invalid value: -1: must be greater than or equal to 0"},
		{"tail not a number", "web-0/log?container=web&tailLines=ten", "", 400, "tailLines"},
		{"two kinds of since", "web-0/log?container=web&sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z", "", 422, "at most one of `sinceTime` or `sinceSeconds` may be specified"},
		{"unknown stream", "web-0/log?container=web&stream=Both", "", 422, `stream: Unsupported value: "Both"`},
		{"no such pod", "nope-0/log", "", 404, `pods "nope-0" not found`},
		{"node not found", "orphan-0/log?container=web", "", 404, `nodes "node-3" not found`},
		{"agent unreachable", "lost-0/log?container=web", "", 503, `unable to reach the agent of node "node-2"`},
		{"not a GET", "web-0/log?container=web", http.MethodPost, 405, "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, st := env.do(t, tc.method, tc.path)
			if code != tc.code || !strings.Contains(st.Message, tc.message) {
				t.Errorf("got %d %q, want %d with %q", code, st.Message, tc.code, tc.message)
			}
			if int(st.Code) != tc.code || st.Kind != "Status" {
				t.Errorf("status %+v does not match the response code %d", st, code)
			}
		})
	}

	t.Run("unscheduled pod has an empty log", func(t *testing.T) {
		body, err := env.client.CoreV1().Pods(testNamespace).
			GetLogs("pending-0", &corev1.PodLogOptions{Container: "web"}).DoRaw(testContext(t))
		if err != nil || len(body) != 0 {
			t.Errorf("got %q, %v; want an empty log", body, err)
		}
	})
}

// do sends a request for a pod subresource path and decodes the Status
// it answers with.
func (e *testEnv) do(t *testing.T, method, path string) (int, metav1.Status) {
	t.Helper()
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(testContext(t), method, e.server.URL+"/api/v1/namespaces/default/pods/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var st metav1.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("%d %q is not a Status: %v", resp.StatusCode, body, err)
	}
	return resp.StatusCode, st
}

// closedAddress is an address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
