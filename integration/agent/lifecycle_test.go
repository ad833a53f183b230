package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// A container that keeps failing goes into CrashLoopBackOff and its
// restart count grows.
func TestCrashLoopBackOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  nodeName: {{NODE}}
  containers:
  - {name: main, image: {{IMAGE}}, command: [sh, -c, 'echo dying; exit 2']}
`)
	p := e.waitPod("crasher", 90*time.Second, "in CrashLoopBackOff with restarts >= 2", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs != nil && cs.RestartCount >= 2 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
	})
	cs := containerStatus(p, "main")
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 2 || lt.Reason != "Error" {
		t.Errorf("last termination: %+v, want exit 2 reason Error", cs.LastTerminationState)
	}
	out, errOut, err := e.kubectl("logs", "crasher", "--previous")
	if err != nil || strings.TrimSpace(out) != "dying" {
		t.Errorf("logs --previous: %q (err %v, %s)", out, err, errOut)
	}
}

// A failing liveness probe restarts the container.
func TestLivenessProbeRestarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: unlive}
spec:
  nodeName: {{NODE}}
  containers:
  - name: main
    image: {{IMAGE}}
    command: [sh, -c, 'touch /tmp/alive; sleep 3600']
    livenessProbe:
      exec: {command: [cat, /tmp/alive]}
      periodSeconds: 1
      failureThreshold: 1
`)
	first := containerStatus(e.waitRunning("unlive"), "main")
	if _, errOut, err := e.kubectl("exec", "unlive", "--", "rm", "/tmp/alive"); err != nil {
		t.Fatalf("rm: %v %s", err, errOut)
	}
	p := e.waitPod("unlive", 60*time.Second, "restarted by its liveness probe", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs != nil && cs.RestartCount >= 1 && cs.ContainerID != first.ContainerID && cs.State.Running != nil
	})
	if cs := containerStatus(p, "main"); cs.LastTerminationState.Terminated == nil {
		t.Errorf("no last termination state after the liveness restart: %+v", cs)
	}
}

// Readiness follows an exec probe: Ready goes False and back to True,
// without a restart.
func TestReadinessProbeTogglesReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  nodeName: {{NODE}}
  containers:
  - name: main
    image: {{IMAGE}}
    command: [sleep, "3600"]
    readinessProbe:
      exec: {command: [cat, /tmp/ready]}
      periodSeconds: 1
      failureThreshold: 1
`)
	notReady := func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning && !podReady(p) }
	e.waitPod("ready", 60*time.Second, "Running and not Ready", notReady)
	if _, errOut, err := e.kubectl("exec", "ready", "--", "touch", "/tmp/ready"); err != nil {
		t.Fatalf("touch: %v %s", err, errOut)
	}
	e.waitPod("ready", 30*time.Second, "Ready", podReady)
	if _, errOut, err := e.kubectl("exec", "ready", "--", "rm", "/tmp/ready"); err != nil {
		t.Fatalf("rm: %v %s", err, errOut)
	}
	p := e.waitPod("ready", 30*time.Second, "not Ready again", notReady)
	if cs := containerStatus(p, "main"); cs.RestartCount != 0 || cs.Ready {
		t.Errorf("container status after readiness failure: %+v", cs)
	}
}

// A container over its memory limit is OOMKilled with exit code 137.
func TestOOMKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  nodeName: {{NODE}}
  restartPolicy: Never
  containers:
  - name: main
    image: {{IMAGE}}
    command: [sh, -c, 'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done']
    resources: {limits: {memory: 32Mi}}
`)
	p := e.waitPod("hog", 90*time.Second, "terminated", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "main")
		return cs != nil && cs.State.Terminated != nil
	})
	term := containerStatus(p, "main").State.Terminated
	if term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Errorf("terminated: reason %q exit %d, want OOMKilled 137\n%s", term.Reason, term.ExitCode, statusString(p))
	}
	if p.Status.Phase != corev1.PodFailed {
		t.Errorf("phase %s, want Failed", p.Status.Phase)
	}
	// kubectl describe shows the kill among the events.
	want := "Container main exceeded its memory limit (32Mi) and was killed by the OOM killer"
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := e.cs.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "hog").String(),
		})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, ev := range evs.Items {
			if ev.Type == corev1.EventTypeWarning && ev.Reason == "OOMKilled" && ev.Message == want {
				return
			}
			seen = append(seen, ev.Reason+": "+ev.Message)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no OOMKilled event %q; events: %q", want, seen)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Deleting a pod runs its preStop hook, then stops the container
// gracefully within the grace period; the pod's cgroup (in every
// hierarchy) and its log directory go with it.
func TestGracefulDeletionRunsPreStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  nodeName: {{NODE}}
  terminationGracePeriodSeconds: 20
  volumes: [{name: out, hostPath: {path: /tmp/gantry-graceful-{{NS}}, type: DirectoryOrCreate}}]
  containers:
  - name: main
    image: {{IMAGE}}
    command: [sh, -c, 'trap "echo term >> /out/MARK; exit 0" TERM; while true; do sleep 0.2; done']
    volumeMounts: [{name: out, mountPath: /out}]
    lifecycle:
      preStop:
        exec: {command: [sh, -c, 'echo prestop >> /out/MARK; sleep 2']}
`)
	dir := "/tmp/gantry-graceful-" + e.ns
	t.Cleanup(func() { os.RemoveAll(dir) })
	running := e.waitRunning("graceful")
	if len(e.podCgroups(running.UID)) == 0 {
		t.Errorf("the running pod has no cgroup under %s", e.node.CgroupRoot)
	}
	logs := e.podLogDir(running)
	if _, err := os.Stat(logs); err != nil {
		t.Errorf("the running pod's log directory: %v", err)
	}
	start := time.Now()
	if err := e.cs.CoreV1().Pods(e.ns).Delete(e.ctx, "graceful", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The pod object stays while the agent stops it.
	for {
		_, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "graceful", metav1.GetOptions{})
		if err != nil {
			break
		}
		if time.Since(start) > 40*time.Second {
			t.Fatalf("pod not gone 40s after deletion (grace 20s):\n%s", statusString(e.pod("graceful")))
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	if took < 2*time.Second {
		t.Errorf("pod gone after %v: preStop (sleep 2) cannot have run to completion", took)
	}
	if took > 20*time.Second {
		t.Errorf("pod took %v to go; it exits on TERM right after preStop", took)
	}
	b, err := os.ReadFile(filepath.Join(dir, "MARK"))
	if got := strings.Fields(string(b)); strings.Join(got, ",") != "prestop,term" {
		t.Errorf("MARK: %q (err %v), want prestop then term", b, err)
	}
	// The agent confirms the deletion only once they are removed.
	if dirs := e.podCgroups(running.UID); len(dirs) > 0 {
		t.Errorf("the deleted pod's cgroup is left: %v", dirs)
	}
	if _, err := os.Stat(logs); !os.IsNotExist(err) {
		t.Errorf("the deleted pod's log directory %s is left (stat: %v)", logs, err)
	}
}
