package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Two containers share the pod's network (localhost) and an emptyDir,
// and the pod's IP answers from the node.
func TestTwoContainersShareNetworkAndVolume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: duo}
spec:
  nodeName: {{NODE}}
  volumes: [{name: shared, emptyDir: {}}]
  containers:
  - name: web
    image: {{IMAGE}}
    command: [sh, -c, 'echo hello-from-web > /www/index.html; exec httpd -f -p 8080 -h /www']
    volumeMounts: [{name: shared, mountPath: /www}]
  - name: client
    image: {{IMAGE}}
    command: [sh, -c, 'sleep 3600']
    volumeMounts: [{name: shared, mountPath: /data}]
`)
	p := e.waitRunning("duo")
	out, errOut, err := e.kubectl("exec", "duo", "-c", "client", "--", "sh", "-c", "timeout 5 wget -qO- http://127.0.0.1:8080/ && cat /data/index.html")
	if err != nil || strings.Count(out, "hello-from-web") != 2 {
		t.Fatalf("client over localhost and emptyDir: err %v, stdout %q, stderr %q", err, out, errOut)
	}
	if p.Status.PodIP == "" || !strings.HasPrefix(p.Status.PodIP, "10.250.") {
		t.Fatalf("pod IP %q not in the node's pod CIDR %s", p.Status.PodIP, e.node.PodCIDR)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Get(fmt.Sprintf("http://%s:8080/", p.Status.PodIP))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, "hello-from-web") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET pod IP %s:8080 from the node: err %v body %q", p.Status.PodIP, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Killing the agent and starting it again leaves running containers
// alone: same container ID, no restart.
func TestAgentRestartKeepsContainers(t *testing.T) {
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: survivor}
spec:
  nodeName: {{NODE}}
  containers:
  - {name: main, image: {{IMAGE}}, command: [sleep, "3600"]}
`)
	before := containerStatus(e.waitRunning("survivor"), "main")
	if err := e.node.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := e.node.Restart(e.ctx); err != nil {
		t.Fatal(err)
	}
	// Give the restarted agent time to resync and report.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		p := e.pod("survivor")
		after := containerStatus(p, "main")
		if after == nil || after.ContainerID != before.ContainerID || after.RestartCount != 0 || after.State.Running == nil {
			t.Fatalf("after agent restart: before %s, now:\n%s", before.ContainerID, statusString(p))
		}
		time.Sleep(time.Second)
	}
	if p := e.pod("survivor"); !podReady(p) {
		t.Fatalf("pod not Ready after agent restart:\n%s", statusString(p))
	}
	_ = corev1.PodRunning
}
