package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	agentv1 "github.com/gantry-dev/gantry/proto/gantry/agent/v1"
	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// t0 is the time of the first line of the test logs.
var t0 = time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)

// criLine is a line of a CRI log, written sec seconds after t0.
func criLine(sec int, stream, tag, content string) string {
	return fmt.Sprintf("%s %s %s %s\n", t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano), stream, tag, content)
}

// testLog is a log with a line cut in two parts and a stderr line between
// them; its lines in order are one, two, four, three, five.
var testLog = []string{
	criLine(0, "stdout", "F", "one"),
	criLine(1, "stderr", "F", "two"),
	criLine(2, "stdout", "P", "thr"),
	"not a CRI log line\n",
	criLine(2, "stderr", "F", "four"),
	criLine(3, "stdout", "F", "ee"),
	criLine(4, "stdout", "F", "five"),
}

func writeFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
}

// logEnv is a server whose pod has container "web" (id "c2", log
// web/2.log, running) and its previous instance (id "c1", web/1.log).
type logEnv struct {
	client  agentv1.AgentClient
	runtime *fakeRuntime
	current string // the log of the running instance
	prev    string
}

func newLogEnv(t *testing.T) *logEnv {
	dir := t.TempDir()
	e := &logEnv{runtime: newFakeRuntime(), current: filepath.Join(dir, "2.log"), prev: filepath.Join(dir, "1.log")}
	e.runtime.setState("c2", runtime.StateRunning)
	e.runtime.setState("c1", runtime.StateExited)
	pods := &fakePods{
		current:  map[string]runtime.ContainerStatus{"web": {ID: "c2", Name: "web", Attempt: 2, State: runtime.StateRunning, LogPath: e.current}},
		previous: map[string]runtime.ContainerStatus{"web": {ID: "c1", Name: "web", Attempt: 1, State: runtime.StateExited, LogPath: e.prev}},
	}
	s := New(Config{Pods: pods, Runtime: e.runtime, Log: testLogger(t), FollowInterval: 20 * time.Millisecond})
	e.client = startServer(t, s)
	return e
}

// logs returns what a Logs call sends until it ends, and how it ended
// (nil for OK).
func (e *logEnv) logs(ctx context.Context, req *agentv1.LogsRequest) (string, error) {
	stream, err := e.client.Logs(ctx, req)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		b.Write(chunk.GetData())
	}
}

func webLogs(mod func(*agentv1.LogsRequest)) *agentv1.LogsRequest {
	req := &agentv1.LogsRequest{Pod: testPodRef(), Container: "web"}
	if mod != nil {
		mod(req)
	}
	return req
}

func TestLogs(t *testing.T) {
	e := newLogEnv(t)
	writeFile(t, e.current, testLog...)
	writeFile(t, e.prev, criLine(-60, "stdout", "F", "previous"), criLine(-59, "stdout", "P", "cut short"))

	tests := []struct {
		name string
		req  *agentv1.LogsRequest
		want string
	}{
		{"all", webLogs(nil), "one\ntwo\nfour\nthree\nfive\n"},
		{"stdout", webLogs(func(r *agentv1.LogsRequest) { r.Stream = agentv1.LogStream_LOG_STREAM_STDOUT }), "one\nthree\nfive\n"},
		{"stderr", webLogs(func(r *agentv1.LogsRequest) { r.Stream = agentv1.LogStream_LOG_STREAM_STDERR }), "two\nfour\n"},
		{"tail", webLogs(func(r *agentv1.LogsRequest) { r.TailLines = proto.Int64(2) }), "three\nfive\n"},
		{"tail 0", webLogs(func(r *agentv1.LogsRequest) { r.TailLines = proto.Int64(0) }), ""},
		{"tail more than there is", webLogs(func(r *agentv1.LogsRequest) { r.TailLines = proto.Int64(100) }), "one\ntwo\nfour\nthree\nfive\n"},
		{"since time", webLogs(func(r *agentv1.LogsRequest) { r.SinceTime = timestamppb.New(t0.Add(2 * time.Second)) }), "four\nthree\nfive\n"},
		{"since time and tail", webLogs(func(r *agentv1.LogsRequest) {
			r.SinceTime = timestamppb.New(t0.Add(3 * time.Second))
			r.TailLines = proto.Int64(3)
		}), "five\n"},
		{"timestamps", webLogs(func(r *agentv1.LogsRequest) {
			r.Timestamps = true
			r.TailLines = proto.Int64(2)
		}), "2024-01-02T03:04:07.123456789Z three\n2024-01-02T03:04:09.123456789Z five\n"},
		{"limit", webLogs(func(r *agentv1.LogsRequest) { r.LimitBytes = proto.Int64(6) }), "one\ntw"},
		{"limit with timestamps", webLogs(func(r *agentv1.LogsRequest) {
			r.LimitBytes = proto.Int64(36)
			r.Timestamps = true
		}), "2024-01-02T03:04:05.123456789Z one\n2"},
		{"previous", webLogs(func(r *agentv1.LogsRequest) { r.Previous = true }), "previous\ncut short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.logs(testContext(t), tc.req)
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestLogsSinceSeconds(t *testing.T) {
	e := newLogEnv(t)
	now := time.Now()
	writeFile(t, e.current,
		fmt.Sprintf("%s stdout F old\n", now.Add(-time.Hour).Format(time.RFC3339Nano)),
		fmt.Sprintf("%s stdout F new\n", now.Add(-time.Second).Format(time.RFC3339Nano)),
	)
	got, err := e.logs(testContext(t), webLogs(func(r *agentv1.LogsRequest) { r.SinceSeconds = proto.Int64(60) }))
	if err != nil || got != "new\n" {
		t.Errorf("got %q, %v; want %q", got, err, "new\n")
	}
}

func TestLogsRotated(t *testing.T) {
	e := newLogEnv(t)
	// Oldest first: path.2, path.1, path.
	writeFile(t, e.current+".2", testLog[:2]...)
	writeFile(t, e.current+".1", testLog[2:4]...)
	writeFile(t, e.current, testLog[4:]...)
	for _, tc := range []struct {
		tail *int64
		want string
	}{
		{nil, "one\ntwo\nfour\nthree\nfive\n"},
		{proto.Int64(4), "two\nfour\nthree\nfive\n"},
	} {
		got, err := e.logs(testContext(t), webLogs(func(r *agentv1.LogsRequest) { r.TailLines = tc.tail }))
		if err != nil || got != tc.want {
			t.Errorf("tail %v: got %q, %v; want %q", tc.tail, got, err, tc.want)
		}
	}
}

func TestLogsErrors(t *testing.T) {
	e := newLogEnv(t)
	writeFile(t, e.current, testLog...)
	otherUID := testPodRef()
	otherUID.Uid = "uid-other"
	tests := []struct {
		name string
		req  *agentv1.LogsRequest
		code codes.Code
		msg  string
	}{
		{"unknown pod", &agentv1.LogsRequest{Pod: otherUID, Container: "web"}, codes.NotFound, `pod "web-0" in namespace "default" (uid uid-other): not found`},
		{"unknown container", webLogs(func(r *agentv1.LogsRequest) { r.Container = "db" }), codes.NotFound, `container "db" in pod "web-0": not found`},
		{"waiting", webLogs(func(r *agentv1.LogsRequest) { r.Container = "waiting" }), codes.FailedPrecondition, `container "waiting" in pod "web-0" is waiting to start: ContainerCreating`},
		{"no container", webLogs(func(r *agentv1.LogsRequest) { r.Container = "" }), codes.InvalidArgument, "a container name is required"},
		{"negative tail", webLogs(func(r *agentv1.LogsRequest) { r.TailLines = proto.Int64(-1) }), codes.InvalidArgument, "tailLines must be greater than or equal to 0"},
		{"zero limit", webLogs(func(r *agentv1.LogsRequest) { r.LimitBytes = proto.Int64(0) }), codes.InvalidArgument, "limitBytes must be greater than 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := e.client.Logs(testContext(t), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			// The refusal comes instead of the headers.
			md, err := stream.Header()
			if md != nil {
				t.Errorf("got headers %v before the refusal", md)
			}
			if err == nil {
				_, err = stream.Recv()
			}
			if st := status.Convert(err); st.Code() != tc.code || st.Message() != tc.msg {
				t.Errorf("got %v; want %v %q", err, tc.code, tc.msg)
			}
		})
	}

	t.Run("no previous", func(t *testing.T) {
		pods := &fakePods{current: map[string]runtime.ContainerStatus{"web": {ID: "c2", LogPath: e.current}}}
		client := startServer(t, New(Config{Pods: pods, Runtime: e.runtime, Log: testLogger(t)}))
		stream, err := client.Logs(testContext(t), webLogs(func(r *agentv1.LogsRequest) { r.Previous = true }))
		if err == nil {
			_, err = stream.Recv()
		}
		want := `previous terminated container "web" in pod "web-0": not started`
		if st := status.Convert(err); st.Code() != codes.FailedPrecondition || st.Message() != want {
			t.Errorf("got %v; want FailedPrecondition %q", err, want)
		}
	})
}

// follower reads a followed log as it comes.
type follower struct {
	t      *testing.T
	stream agentv1.Agent_LogsClient
	got    strings.Builder
}

// expect reads until what has come ends with want.
func (f *follower) expect(want string) {
	f.t.Helper()
	for !strings.HasSuffix(f.got.String(), want) {
		chunk, err := f.stream.Recv()
		if err != nil {
			f.t.Fatalf("got %q, then %v; want it to end with %q", f.got.String(), err, want)
		}
		f.got.Write(chunk.GetData())
	}
}

func TestLogsFollow(t *testing.T) {
	e := newLogEnv(t)
	writeFile(t, e.current, criLine(0, "stdout", "F", "a"), criLine(1, "stdout", "F", "b"))
	stream, err := e.client.Logs(testContext(t), webLogs(func(r *agentv1.LogsRequest) {
		r.Follow = true
		r.TailLines = proto.Int64(1)
	}))
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{t: t, stream: stream}
	f.expect("b\n")

	appendFile(t, e.current, criLine(2, "stdout", "P", "c"))
	appendFile(t, e.current, criLine(2, "stdout", "F", "c"))
	f.expect("b\ncc\n")

	// Rotation: the old file gets one more line after it was renamed,
	// before the new one is created.
	if err := os.Rename(e.current, e.current+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, e.current+".1", criLine(3, "stderr", "F", "d"))
	appendFile(t, e.current, criLine(4, "stdout", "F", "e"))
	f.expect("b\ncc\nd\ne\n")

	// Two rotations in a row, then the container exits after its last line.
	if err := os.Rename(e.current+".1", e.current+".2"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.current, e.current+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, e.current+".1", criLine(5, "stdout", "F", "f"))
	appendFile(t, e.current, criLine(6, "stdout", "F", "g"))
	e.runtime.setState("c2", runtime.StateExited)
	f.expect("b\ncc\nd\ne\nf\ng\n")
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after the container exited got %v; want the end of the log", err)
	}
}

func TestLogsFollowNewLog(t *testing.T) {
	e := newLogEnv(t)
	ctx, cancel := context.WithCancel(testContext(t))
	stream, err := e.client.Logs(ctx, webLogs(func(r *agentv1.LogsRequest) {
		r.Follow = true
		r.Timestamps = true
	}))
	if err != nil {
		t.Fatal(err)
	}
	// The headers come before any line, although there is no log yet.
	if md, err := stream.Header(); md == nil || err != nil {
		t.Fatalf("headers: %v, %v", md, err)
	}
	appendFile(t, e.current, criLine(0, "stdout", "F", "first"))
	f := &follower{t: t, stream: stream}
	f.expect("2024-01-02T03:04:05.123456789Z first\n")

	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("after cancelling got %v", err)
	}
}

func TestLogsFollowPrevious(t *testing.T) {
	e := newLogEnv(t)
	writeFile(t, e.prev, criLine(0, "stdout", "F", "done"))
	// The previous instance has exited: following it ends at once.
	got, err := e.logs(testContext(t), webLogs(func(r *agentv1.LogsRequest) {
		r.Follow = true
		r.Previous = true
	}))
	if err != nil || got != "done\n" {
		t.Errorf("got %q, %v; want %q", got, err, "done\n")
	}
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		line string
		want record
		ok   bool
	}{
		{"2016-10-06T00:17:09.669794202Z stdout F text", record{time: time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC), stream: "stdout", content: []byte("text")}, true},
		{"2016-10-06T00:17:09.669794202Z stderr P part", record{time: time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC), stream: "stderr", partial: true, content: []byte("part")}, true},
		{"2016-10-06T00:17:09Z stdout F ", record{time: time.Date(2016, 10, 6, 0, 17, 9, 0, time.UTC), stream: "stdout", content: []byte{}}, true},
		{"2016-10-06T00:17:09Z stdout F:x with  spaces ", record{time: time.Date(2016, 10, 6, 0, 17, 9, 0, time.UTC), stream: "stdout", content: []byte("with  spaces ")}, true},
		{"2016-10-06T00:17:09Z stdin F text", record{}, false},
		{"yesterday stdout F text", record{}, false},
		{"2016-10-06T00:17:09Z stdout X text", record{}, false},
		{"2016-10-06T00:17:09Z", record{}, false},
	}
	for _, tc := range tests {
		got, err := parseRecord([]byte(tc.line))
		if (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok=%v", tc.line, err, tc.ok)
			continue
		}
		if tc.ok && (!got.time.Equal(tc.want.time) || got.stream != tc.want.stream || got.partial != tc.want.partial || string(got.content) != string(tc.want.content)) {
			t.Errorf("%q: got %+v; want %+v", tc.line, got, tc.want)
		}
	}
}
