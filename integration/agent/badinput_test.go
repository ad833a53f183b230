package agent_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// An image that does not exist: ErrImagePull then ImagePullBackOff, and
// an Event saying so.
func TestUnknownImage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  nodeName: {{NODE}}
  containers:
  - {name: main, image: gantry.local/does-not-exist:v0, command: [sleep, "1"]}
`)
	seen := map[string]bool{}
	e.waitPod("noimage", 90*time.Second, "in ImagePullBackOff after ErrImagePull", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "main")
		if cs != nil && cs.State.Waiting != nil {
			seen[cs.State.Waiting.Reason] = true
		}
		return seen["ImagePullBackOff"]
	})
	if !seen["ErrImagePull"] {
		t.Logf("ErrImagePull not observed between polls (seen %v)", seen)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := e.cs.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "noimage").String(),
		})
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, ev := range evs.Items {
			reasons = append(reasons, ev.Reason+": "+ev.Message)
			if ev.Type == corev1.EventTypeWarning && (ev.Reason == "Failed" || ev.Reason == "ErrImagePull" || ev.Reason == "BackOff") &&
				strings.Contains(ev.Message, "does-not-exist") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Warning event naming the image; events: %q", reasons)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// A command that does not exist leaves a clear container state.
func TestBadCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`
apiVersion: v1
kind: Pod
metadata: {name: nocmd}
spec:
  nodeName: {{NODE}}
  restartPolicy: Never
  containers:
  - {name: main, image: {{IMAGE}}, command: [/no/such/binary]}
`)
	p := e.waitPod("nocmd", 60*time.Second, "failed to start", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "main")
		if cs == nil {
			return false
		}
		if w := cs.State.Waiting; w != nil && (w.Reason == "RunContainerError" || w.Reason == "CreateContainerError") {
			return true
		}
		return cs.State.Terminated != nil
	})
	cs := containerStatus(p, "main")
	switch {
	case cs.State.Terminated != nil:
		tm := cs.State.Terminated
		if tm.Reason != "StartError" || tm.ExitCode != 128 || !strings.Contains(tm.Message, "/no/such/binary") {
			t.Errorf("terminated %+v; want reason StartError, exit 128, a message naming the binary", tm)
		}
		if p.Status.Phase != corev1.PodFailed {
			t.Errorf("phase %s, want Failed", p.Status.Phase)
		}
	default:
		if !strings.Contains(cs.State.Waiting.Message, "/no/such/binary") {
			t.Errorf("waiting %+v: message does not name the binary", cs.State.Waiting)
		}
	}
}

// A volume mount naming no volume is rejected by the API server.
func TestInvalidVolumeRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	yaml := strings.NewReplacer("{{NODE}}", e.node.Name, "{{IMAGE}}", image).Replace(`
apiVersion: v1
kind: Pod
metadata: {name: badvol}
spec:
  nodeName: {{NODE}}
  containers:
  - name: main
    image: {{IMAGE}}
    command: [sleep, "3600"]
    volumeMounts: [{name: missing, mountPath: /x}]
`)
	out, errOut, err := e.cp.Kubectl(e.ctx, []byte(yaml), "-n", e.ns, "create", "--validate=false", "-f", "-")
	if err == nil {
		t.Fatalf("pod with a mount of no volume accepted: %s", out)
	}
	if !strings.Contains(errOut, "invalid") || !strings.Contains(errOut, "missing") {
		t.Errorf("rejection does not say it is invalid and name the volume: %s", errOut)
	}
	_, getErr := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, "badvol", metav1.GetOptions{})
	if getErr == nil {
		t.Errorf("the rejected pod exists")
	}
	// 422 precisely, through the raw API.
	res := e.cs.CoreV1().RESTClient().Post().Namespace(e.ns).Resource("pods").
		SetHeader("Content-Type", "application/yaml").Body([]byte(yaml)).Do(e.ctx)
	var code int
	res.StatusCode(&code)
	if code != 422 {
		t.Errorf("POST status %d (err %v), want 422", code, res.Error())
	}
}
