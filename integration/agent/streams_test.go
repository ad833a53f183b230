package agent_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// kubectl logs, logs -f, exec with an exit code and port-forward go
// through the API server to the agent's streaming server.
func TestLogsExecPortForward(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  nodeName: {{NODE}}
  containers:
  - name: main
    image: {{IMAGE}}
    command: [sh, -c, 'echo line-one; echo to-stderr >&2; mkdir /www; echo pf-ok > /www/index.html; httpd -p 8080 -h /www; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.3; done']
`)
	e.waitRunning("talker")

	t.Run("logs", func(t *testing.T) {
		out, errOut, err := e.kubectl("logs", "talker")
		if err != nil || !strings.Contains(out, "line-one") || !strings.Contains(out, "to-stderr") {
			t.Errorf("logs: %q (err %v, %s)", out, err, errOut)
		}
	})
	t.Run("follow", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", e.cp.Kubeconfig, "-n", e.ns, "logs", "-f", "--tail=1", "talker")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var ticks []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "tick-") {
				ticks = append(ticks, sc.Text())
			}
		}
		cmd.Wait()
		// About 1 tick in 0.3 s for up to 3 s: -f keeps streaming.
		if len(ticks) < 3 {
			t.Errorf("logs -f gave %d new lines in 3s: %q", len(ticks), ticks)
		}
	})
	t.Run("exec exit code", func(t *testing.T) {
		out, errOut, err := e.kubectl("exec", "talker", "--", "sh", "-c", "echo out; exit 3")
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("exec exit 3: err %v (stderr %q)", err, errOut)
		}
		if strings.TrimSpace(out) != "out" {
			t.Errorf("exec stdout %q", out)
		}
		out, errOut, err = e.kubectl("exec", "-i", "talker", "--", "cat")
		_ = out
		if err != nil {
			t.Errorf("exec -i cat with no stdin: %v %s", err, errOut)
		}
	})
	t.Run("exec stdin", func(t *testing.T) {
		out, errOut, err := e.cp.Kubectl(e.ctx, []byte("piped-in\n"), "-n", e.ns, "exec", "-i", "talker", "--", "cat")
		if err != nil || strings.TrimSpace(out) != "piped-in" {
			t.Errorf("exec -i: %q (err %v, %s)", out, err, errOut)
		}
	})
	t.Run("port-forward", func(t *testing.T) {
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", e.cp.Kubeconfig, "--cache-dir", filepath.Join(e.cp.Dir, "kubectl-cache"),
			"-n", e.ns, "port-forward", "pod/talker", ":8080")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		defer cancel()
		re := regexp.MustCompile(`127\.0\.0\.1:(\d+) -> 8080`)
		portc := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					portc <- m[1]
					break
				}
			}
			io.Copy(io.Discard, stdout)
		}()
		var port string
		select {
		case port = <-portc:
		case <-time.After(20 * time.Second):
			t.Fatalf("port-forward did not report a port: %s", stderr.String())
		}
		c := &http.Client{Timeout: 5 * time.Second}
		for i := 0; i < 2; i++ { // two connections through one forward
			resp, err := c.Get("http://" + net.JoinHostPort("127.0.0.1", port) + "/")
			if err != nil {
				t.Fatalf("GET through port-forward: %v (%s)", err, stderr.String())
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(b)) != "pf-ok" {
				t.Errorf("port-forward body %q", b)
			}
		}
	})
	if p := e.pod("talker"); containerStatus(p, "main").RestartCount != 0 {
		t.Errorf("container restarted during the streams: %s", statusString(p))
	}
	_ = corev1.PodRunning
	_ = fmt.Sprint
}
