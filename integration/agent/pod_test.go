package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
// alone: same container ID, no restart. The cgroup and log directory of
// a pod that went while the agent was down are removed; the running
// pod's stay.
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
	survivor := e.waitRunning("survivor")
	before := containerStatus(survivor, "main")
	if err := e.node.Kill(); err != nil {
		t.Fatal(err)
	}
	// What a pod deleted while the agent was down leaves behind: an
	// (empty) pod cgroup with a container's under it, and its logs.
	const goneUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	for _, h := range []string{"memory", "cpu", "pids"} {
		d := filepath.Join("/sys/fs/cgroup", h, e.node.CgroupRoot, "pod"+goneUID)
		if err := os.MkdirAll(filepath.Join(d, "c0ffee"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	goneLogs := filepath.Join(e.node.PodLogDir, e.ns+"_gone_"+goneUID)
	if err := os.MkdirAll(filepath.Join(goneLogs, "main"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(goneLogs, "main", "0.log"), []byte("bye\n"), 0o644); err != nil {
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
	// The restarted agent sweeps once it has synced its pods.
	deadline = time.Now().Add(30 * time.Second)
	for {
		left := e.podCgroups(goneUID)
		if _, err := os.Stat(goneLogs); err == nil {
			left = append(left, goneLogs)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leftovers of a pod gone while the agent was down are still there: %v", left)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(e.podCgroups(survivor.UID)) == 0 {
		t.Error("the running pod's cgroup was removed")
	}
	if _, err := os.Stat(e.podLogDir(survivor)); err != nil {
		t.Errorf("the running pod's log directory: %v", err)
	}
	_ = corev1.PodRunning
}
