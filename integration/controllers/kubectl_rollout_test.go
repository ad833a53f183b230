package controllers_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// depRolloutStatus runs kubectl rollout status on Deployment name and
// checks it reports success.
func (e *env) depRolloutStatus(name string) {
	e.t.Helper()
	out := e.kubectl("rollout", "status", "deployment/"+name, "--timeout=90s")
	if want := fmt.Sprintf("deployment %q successfully rolled out", name); !strings.Contains(out, want) {
		e.t.Fatalf("kubectl rollout status said:\n%s\nwant %q", out, want)
	}
}

// depImage is the image of the first container of Deployment name.
func (e *env) depImage(name string) string {
	e.t.Helper()
	return e.kubectl("get", "deployment", name, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
}

// TestKubectlRollout drives a Deployment the way users do, with kubectl:
// create, scale, set image, rollout status/history/undo/pause/resume/
// restart, get rs,pods.
func TestKubectlRollout(t *testing.T) {
	e := depStart(t, 2)
	out := e.kubectl("create", "deployment", "web", "--image="+busybox, "--replicas=3")
	if !strings.Contains(out, "deployment.apps/web created") {
		t.Fatalf("create said %q", out)
	}
	e.depRolloutStatus("web")

	e.kubectl("scale", "deployment/web", "--replicas=5")
	e.depRolloutStatus("web")
	if got := e.kubectl("get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}/{.status.updatedReplicas}"); got != "5/5" {
		t.Errorf("available/updated = %s after scaling to 5", got)
	}

	e.kubectl("set", "image", "deployment/web", "busybox=gantry.local/busybox:v2")
	e.depRolloutStatus("web")
	hist := e.kubectl("rollout", "history", "deployment/web")
	if !regexp.MustCompile(`(?m)^1\s`).MatchString(hist) || !regexp.MustCompile(`(?m)^2\s`).MatchString(hist) {
		t.Errorf("rollout history:\n%s\nwant revisions 1 and 2", hist)
	}
	if rev2 := e.kubectl("rollout", "history", "deployment/web", "--revision=2"); !strings.Contains(rev2, "gantry.local/busybox:v2") {
		t.Errorf("revision 2:\n%s", rev2)
	}

	out = e.kubectl("rollout", "undo", "deployment/web")
	if !strings.Contains(out, "deployment.apps/web rolled back") {
		t.Errorf("undo said %q", out)
	}
	e.depRolloutStatus("web")
	if img := e.depImage("web"); img != busybox {
		t.Errorf("image after undo = %s, want %s", img, busybox)
	}
	e.eventually(10*time.Second, "revision 3", func() (bool, error) {
		rev := e.kubectl("get", "deployment", "web", "-o", `jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}`)
		return rev == "3", fmt.Errorf("revision %q", rev)
	})

	e.kubectl("rollout", "pause", "deployment/web")
	e.kubectl("set", "image", "deployment/web", "busybox=gantry.local/busybox:v3")
	e.eventually(15*time.Second, "the paused change observed", func() (bool, error) {
		d := e.depGet("web")
		c := depCondition(d, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && c != nil && c.Reason == "DeploymentPaused", fmt.Errorf("status %+v", d.Status)
	})
	if n := len(e.depReplicaSets(e.depGet("web"))); n != 2 {
		t.Errorf("%d replica sets while paused, want 2 (no rollout)", n)
	}
	e.kubectl("rollout", "resume", "deployment/web")
	e.depRolloutStatus("web")
	if n := len(e.depReplicaSets(e.depGet("web"))); n != 3 {
		t.Errorf("%d replica sets after resuming, want 3", n)
	}

	before := e.depGet("web")
	e.kubectl("rollout", "restart", "deployment/web")
	e.depRolloutStatus("web")
	d := e.depGet("web")
	if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" || d.Generation == before.Generation {
		t.Errorf("restart did not change the template: %v", d.Spec.Template.Annotations)
	}
	rss := e.depReplicaSets(d)
	if len(rss) != 4 || *rss[3].Spec.Replicas != 5 || rss[3].Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Errorf("after restart, replica sets %v", depImages(rss))
	}

	got := e.kubectl("get", "rs,pods", "-l", "app=web")
	newRS := rss[3].Name
	if !regexp.MustCompile(`replicaset.apps/` + newRS + `\s+5\s+5\s+5\s`).MatchString(got) {
		t.Errorf("kubectl get rs,pods: no line for %s with 5 desired, current and ready:\n%s", newRS, got)
	}
	if n := strings.Count(got, "pod/"+newRS+"-"); n != 5 {
		t.Errorf("kubectl get rs,pods lists %d pods of %s, want 5:\n%s", n, newRS, got)
	}
}
