package apiserver_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// controllerRevision is a ControllerRevision manifest.
func controllerRevision(name, data string, revision int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: ControllerRevision
metadata:
  name: %s
  labels: {app: web}
data: %s
revision: %d
`, name, data, revision)
}

const revisionData = `{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"web"}}}}}`

func TestControllerRevisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "revisions")

	t.Run("discovery", func(t *testing.T) {
		want := "controllerrevisions apps/v1 true ControllerRevision"
		found := false
		for _, r := range fields(e.mustKubectl("", "api-resources")) {
			found = found || strings.Join(r, " ") == want
		}
		if !found {
			t.Errorf("kubectl api-resources has no row %q", want)
		}
		if out := e.mustKubectl("", "explain", "controllerrevision.revision"); !strings.Contains(out, "ControllerRevision") {
			t.Errorf("kubectl explain printed %q", out)
		}
	})

	name := uniqueName("web")
	e.mustKubectl(controllerRevision(name, revisionData, 1), "apply", "-f", "-")

	t.Run("stored and printed", func(t *testing.T) {
		rows := fields(e.mustKubectl("", "get", "controllerrevisions"))
		if got := strings.Join(rows[0], " "); got != "NAME CONTROLLER REVISION AGE" {
			t.Errorf("header %q", got)
		}
		if len(rows) != 2 || strings.Join(rows[1][:3], " ") != name+" <none> 1" {
			t.Errorf("rows %v, want %s <none> 1", rows, name)
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: shared.store.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		key := "/registry/controllerrevisions/" + e.ns + "/" + name
		if resp, err := cli.Get(e.ctx, key, clientv3.WithCountOnly()); err != nil || resp.Count != 1 {
			t.Errorf("store key %s: count %v, error %v", key, resp, err)
		}
	})

	t.Run("controller column", func(t *testing.T) {
		first, err := e.kube.AppsV1().ControllerRevisions(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		owned := name + "-owned"
		cr := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: owned, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: types.UID("6a9c2a07-8f0e-4d4b-9a57-0c1de0a1b2c3"), Controller: new(true)}}},
			Data: first.Data, Revision: 2,
		}
		if _, err := e.kube.AppsV1().ControllerRevisions(e.ns).Create(e.ctx, cr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rows := fields(e.mustKubectl("", "get", "controllerrevision", owned))
		if len(rows) != 2 || strings.Join(rows[1][:3], " ") != owned+" statefulset.apps/web 2" {
			t.Errorf("rows %v, want %s statefulset.apps/web 2", rows, owned)
		}
	})

	t.Run("validation", func(t *testing.T) {
		bad := uniqueName("bad")
		got := e.kubectlFails(controllerRevision(bad, revisionData, -1), "create", "-f", "-")
		if want := fmt.Sprintf(`The ControllerRevision %q is invalid: revision: Invalid value: -1: must be greater than or equal to 0`, bad); !strings.Contains(got, want) {
			t.Errorf("negative revision: %q, want %q", got, want)
		}
		got = e.kubectlFails(strings.Replace(controllerRevision(bad, "null", 1), "data: null\n", "", 1), "create", "-f", "-")
		if want := "data: Required value: data is mandatory"; !strings.Contains(got, want) {
			t.Errorf("no data: %q, want %q", got, want)
		}
		// The data is immutable; the revision number is not (controllers
		// renumber a revision they roll back to).
		got = e.kubectlFails("", "patch", "controllerrevision", name, "--type=merge", "-p", `{"data":{"spec":{"template":{"metadata":{"labels":{"app":"api"}}}}}}`)
		if want := "data: Invalid value:"; !strings.Contains(got, want) || !strings.Contains(got, "field is immutable") {
			t.Errorf("changed data: %q, want %q ... field is immutable", got, want)
		}
		e.mustKubectl("", "patch", "controllerrevision", name, "--type=merge", "-p", `{"revision":5,"metadata":{"labels":{"extra":"yes"}}}`)
		cr, err := e.kube.AppsV1().ControllerRevisions(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil || cr.Revision != 5 || cr.Labels["extra"] != "yes" || !strings.Contains(string(cr.Data.Raw), `"$patch":"replace"`) {
			t.Errorf("after the patch: %+v, %v", cr, err)
		}
	})
}

// TestDaemonSetTemplateGeneration: the API server counts a DaemonSet's
// template changes in the deprecated.daemonset.template.generation
// annotation, as Kubernetes does.
func TestDaemonSetTemplateGeneration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "dsgen")
	manifest := `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: main
        image: busybox
`
	e.mustKubectl(manifest, "apply", "-f", "-")
	state := func() string {
		ds, err := e.kube.AppsV1().DaemonSets(e.ns).Get(e.ctx, "agent", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("generation %d, template generation %s", ds.Generation, ds.Annotations[appsv1.DeprecatedTemplateGeneration])
	}
	for _, step := range []struct {
		what  string
		args  []string
		state string
	}{
		{"created", nil, "generation 1, template generation 1"},
		{"new image", []string{"set", "image", "ds/agent", "main=busybox:2"}, "generation 2, template generation 2"},
		{"spec change outside the template", []string{"patch", "ds/agent", "-p", `{"spec":{"minReadySeconds":5}}`},
			"generation 3, template generation 2"},
		{"annotation set by a client", []string{"annotate", "--overwrite", "ds/agent", appsv1.DeprecatedTemplateGeneration + "=9"},
			"generation 3, template generation 2"},
	} {
		if step.args != nil {
			e.mustKubectl("", step.args...)
		}
		if got := state(); got != step.state {
			t.Errorf("%s: %s, want %s", step.what, got, step.state)
		}
	}
}
