package apiserver_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// deployment is a Deployment manifest named web with two containers.
func deployment(replicas int, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: %d
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: %s
      - name: sidecar
        image: busybox:1.36
`, replicas, image)
}

func configMap(name string, data map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n", name)
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %q\n", k, data[k])
	}
	return b.String()
}

func TestKubectlApply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "apply")
	steps := []struct {
		name     string
		manifest string
		want     string
		replicas int32
	}{
		{"create", deployment(2, "nginx:1.25"), "deployment.apps/web created\n", 2},
		{"unchanged", deployment(2, "nginx:1.25"), "deployment.apps/web unchanged\n", 2},
		{"update", deployment(3, "nginx:1.26"), "deployment.apps/web configured\n", 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if got := e.mustKubectl(st.manifest, "apply", "-f", "-"); got != st.want {
				t.Errorf("kubectl apply printed %q, want %q", got, st.want)
			}
			d, err := e.kube.AppsV1().Deployments(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := *d.Spec.Replicas; got != st.replicas {
				t.Errorf("replicas = %d, want %d", got, st.replicas)
			}
			if got := d.Annotations[corev1.LastAppliedConfigAnnotation]; !strings.Contains(got, `"replicas":`+fmt.Sprint(st.replicas)) {
				t.Errorf("last-applied-configuration = %q, want replicas %d in it", got, st.replicas)
			}
		})
	}
	d, err := e.kube.AppsV1().Deployments(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Spec.Template.Spec.Containers[0].Image, "nginx:1.26"; got != want {
		t.Errorf("image after apply = %q, want %q", got, want)
	}
	if got, want := d.Generation, int64(2); got != want {
		t.Errorf("generation after one spec change = %d, want %d", got, want)
	}
}

func TestKubectlGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "get")
	e.mustKubectl(deployment(2, "nginx:1.25"), "apply", "-f", "-")
	e.mustKubectl(configMap("settings", map[string]string{"a": "1", "b": "2"}), "apply", "-f", "-")
	e.mustKubectl(pod("p", ""), "apply", "-f", "-")

	tables := []struct {
		name   string
		args   []string
		header []string
		row    []string // the cells of a row but AGE, "|" standing for it where cells follow
	}{
		{"deployments", []string{"get", "deployments"},
			[]string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}, []string{"web", "0/2", "0", "0"}},
		{"deployment by short name", []string{"get", "deploy", "web"},
			[]string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}, []string{"web", "0/2", "0", "0"}},
		{"wide", []string{"get", "deployments", "-o", "wide"},
			[]string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"},
			[]string{"web", "0/2", "0", "0", "|", "web,sidecar", "nginx:1.25,busybox:1.36", "app=web"}},
		{"configmaps", []string{"get", "configmaps", "settings"},
			[]string{"NAME", "DATA", "AGE"}, []string{"settings", "2"}},
		{"all namespaces", []string{"get", "configmaps", "-A", "--field-selector", "metadata.name=settings"},
			[]string{"NAMESPACE", "NAME", "DATA", "AGE"}, []string{e.ns, "settings", "2"}},
		{"pods", []string{"get", "pods"},
			[]string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}, []string{"p", "0/1", "Pending", "0"}},
		{"pods wide", []string{"get", "pods", "-o", "wide"},
			[]string{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"},
			[]string{"p", "0/1", "Pending", "0", "|", "<none>", "<none>", "<none>", "<none>"}},
		{"namespace", []string{"get", "namespace", e.ns},
			[]string{"NAME", "STATUS", "AGE"}, []string{e.ns, "Active"}},
	}
	for _, tt := range tables {
		t.Run(tt.name, func(t *testing.T) {
			rows := fields(e.mustKubectl("", tt.args...))
			if len(rows) < 2 {
				t.Fatalf("kubectl %s printed %d lines, want a header and rows", strings.Join(tt.args, " "), len(rows))
			}
			if got := strings.Join(rows[0], " "); got != strings.Join(tt.header, " ") {
				t.Errorf("header = %q, want %q", got, strings.Join(tt.header, " "))
			}
			// The row's cells before AGE and after it; AGE varies.
			before, after, _ := strings.Cut(strings.Join(tt.row, " "), " | ")
			nBefore, nAfter := len(strings.Fields(before)), len(strings.Fields(after))
			var found bool
			for _, r := range rows[1:] {
				if len(r) == nBefore+1+nAfter && strings.Join(r[:nBefore], " ") == before && strings.Join(r[nBefore+1:], " ") == after {
					found = true
				}
			}
			if !found {
				t.Errorf("no row %v in:\n%v", tt.row, rows)
			}
		})
	}

	t.Run("name", func(t *testing.T) {
		if got, want := e.mustKubectl("", "get", "deployments,configmaps", "-o", "name"), "deployment.apps/web\nconfigmap/settings\n"; got != want {
			t.Errorf("get -o name printed %q, want %q", got, want)
		}
	})
	t.Run("json", func(t *testing.T) {
		var d struct {
			Kind     string
			Metadata struct{ Name, Namespace, UID, ResourceVersion string }
			Spec     struct{ Replicas int }
		}
		out := e.mustKubectl("", "get", "deployment", "web", "-o", "json")
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("get -o json: %v\n%s", err, out)
		}
		if d.Kind != "Deployment" || d.Metadata.Name != "web" || d.Metadata.Namespace != e.ns || d.Spec.Replicas != 2 {
			t.Errorf("get -o json = %+v, want Deployment %s/web with 2 replicas", d, e.ns)
		}
		if d.Metadata.UID == "" || d.Metadata.ResourceVersion == "" {
			t.Errorf("get -o json has uid %q and resourceVersion %q, want both set", d.Metadata.UID, d.Metadata.ResourceVersion)
		}
	})
	t.Run("yaml", func(t *testing.T) {
		var cm corev1.ConfigMap
		out := e.mustKubectl("", "get", "configmap", "settings", "-o", "yaml")
		if err := yaml.UnmarshalStrict([]byte(out), &cm); err != nil {
			t.Fatalf("get -o yaml: %v\n%s", err, out)
		}
		if cm.Kind != "ConfigMap" || cm.Data["a"] != "1" || cm.Data["b"] != "2" {
			t.Errorf("get -o yaml = %+v, want ConfigMap with a=1 b=2", cm)
		}
	})
	t.Run("list json", func(t *testing.T) {
		var list struct {
			Kind  string
			Items []struct{ Kind string }
		}
		out := e.mustKubectl("", "get", "configmaps", "-o", "json")
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("get -o json: %v\n%s", err, out)
		}
		if list.Kind != "List" || len(list.Items) != 1 || list.Items[0].Kind != "ConfigMap" {
			t.Errorf("get configmaps -o json = %+v, want a List of one ConfigMap", list)
		}
	})
	t.Run("jsonpath", func(t *testing.T) {
		if got, want := e.mustKubectl("", "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[*].image}"), "nginx:1.25 busybox:1.36"; got != want {
			t.Errorf("jsonpath = %q, want %q", got, want)
		}
	})
	t.Run("empty namespace", func(t *testing.T) {
		_, errOut, err := e.kubectl("", "get", "jobs")
		if err != nil {
			t.Fatalf("get jobs: %v: %s", err, errOut)
		}
		if want := "No resources found in " + e.ns + " namespace.\n"; errOut != want {
			t.Errorf("get jobs where there are none printed %q, want %q", errOut, want)
		}
	})
}

func TestKubectlGetWatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "watch")
	e.mustKubectl(configMap("first", map[string]string{"a": "1"}), "apply", "-f", "-")
	s := e.startKubectl("get", "configmaps", "--watch")
	hasRow := func(name, data string) error {
		for _, r := range fields(strings.Join(s.Lines(), "\n")) {
			if len(r) == 3 && r[0] == name && r[1] == data {
				return nil
			}
		}
		return fmt.Errorf("no row %s %s in %q", name, data, s.Lines())
	}
	eventually(t, 20*time.Second, func() error { return hasRow("first", "1") })
	if got := s.Lines(); len(got) == 0 || strings.Join(strings.Fields(got[0]), " ") != "NAME DATA AGE" {
		t.Errorf("get -w first line = %q, want the header NAME DATA AGE", got)
	}
	e.mustKubectl(configMap("second", map[string]string{"a": "1", "b": "2"}), "apply", "-f", "-")
	eventually(t, 20*time.Second, func() error { return hasRow("second", "2") })
	e.mustKubectl(configMap("first", map[string]string{"a": "1", "b": "2", "c": "3"}), "apply", "-f", "-")
	eventually(t, 20*time.Second, func() error { return hasRow("first", "3") })
}

func TestKubectlDescribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "describe")
	e.mustKubectl(deployment(2, "nginx:1.25"), "apply", "-f", "-")
	d, err := e.kube.AppsV1().Deployments(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "web.1", Namespace: e.ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Namespace: e.ns,
			Name: "web", UID: d.UID},
		Reason: "Scaled", Message: "hello from the test", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "e2e"}, FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	if _, err := e.kube.CoreV1().Events(e.ns).Create(e.ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// An event of another object must not show.
	other := ev.DeepCopy()
	other.Name, other.InvolvedObject.Name, other.InvolvedObject.UID, other.Message = "other.1", "other", "", "not this one"
	if _, err := e.kube.CoreV1().Events(e.ns).Create(e.ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := e.mustKubectl("", "describe", "deployment", "web")
	for _, want := range []string{
		`^Name:\s+web$`,
		`^Namespace:\s+` + e.ns + `$`,
		`^Labels:\s+app=web$`,
		`^Selector:\s+app=web$`,
		`^Replicas:\s+2 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$`,
		`^StrategyType:\s+RollingUpdate$`,
		`^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$`,
		`^\s+Image:\s+nginx:1.25$`,
		`^\s+Image:\s+busybox:1.36$`,
		`^\s+Normal\s+Scaled\s+\S+\s+e2e\s+hello from the test$`,
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(out) {
			t.Errorf("describe deployment has no line matching %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not this one") {
		t.Errorf("describe deployment shows another object's event:\n%s", out)
	}

	e.mustKubectl(pod("p", "n1"), "apply", "-f", "-")
	out = e.mustKubectl("", "describe", "pod", "p")
	for _, want := range []string{`^Name:\s+p$`, `^Namespace:\s+` + e.ns + `$`, `^Node:\s+n1/$`, `^Status:\s+Pending$`, `^\s+Image:\s+nginx:1.25$`, `^Events:\s+<none>$`} {
		if !regexp.MustCompile("(?m)" + want).MatchString(out) {
			t.Errorf("describe pod has no line matching %s:\n%s", want, out)
		}
	}
}

// pod is a Pod manifest; node, when set, binds it.
func pod(name, node string) string {
	s := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels:
    app: %s
spec:
  containers:
  - name: main
    image: nginx:1.25
`, name, name)
	if node != "" {
		s += "  nodeName: " + node + "\n"
	}
	return s
}

func TestKubectlDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "delete")
	e.mustKubectl(deployment(1, "nginx:1.25"), "apply", "-f", "-")
	e.mustKubectl(configMap("c1", nil)+"---\n"+configMap("c2", nil)+"---\n"+configMap("c3", nil), "apply", "-f", "-")
	e.mustKubectl(pod("unbound", ""), "apply", "-f", "-")

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"delete", "deployment", "web"}, `deployment.apps "web" deleted` + "\n"},
		{[]string{"delete", "configmap", "c1", "c2"}, `configmap "c1" deleted` + "\n" + `configmap "c2" deleted` + "\n"},
		// A pod no node runs goes at once.
		{[]string{"delete", "pod", "unbound"}, `pod "unbound" deleted` + "\n"},
	}
	for _, tt := range tests {
		if got := e.mustKubectl("", tt.args...); got != tt.want {
			t.Errorf("kubectl %s printed %q, want %q", strings.Join(tt.args, " "), got, tt.want)
		}
	}
	if got, want := e.mustKubectl("", "get", "configmaps,deployments,pods", "-o", "name"), "configmap/c3\n"; got != want {
		t.Errorf("left after deletes: %q, want %q", got, want)
	}
	if got, want := e.mustKubectl("", "delete", "configmaps", "--all"), `configmap "c3" deleted`+"\n"; got != want {
		t.Errorf("delete --all printed %q, want %q", got, want)
	}
	if got, want := e.kubectlFails("", "delete", "configmap", "c3"), `Error from server (NotFound): configmaps "c3" not found`+"\n"; got != want {
		t.Errorf("delete of a deleted configmap printed %q, want %q", got, want)
	}
}

// TestGracefulPodDeletion: a pod bound to a node is only marked deleted;
// the node agent confirms later. A forced delete removes it at once.
func TestGracefulPodDeletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "graceful")
	e.mustKubectl(pod("p", "n1"), "apply", "-f", "-")
	if got, want := e.mustKubectl("", "delete", "pod", "p", "--wait=false"), `pod "p" deleted`+"\n"; got != want {
		t.Errorf("delete printed %q, want %q", got, want)
	}
	p, err := e.kube.CoreV1().Pods(e.ns).Get(e.ctx, "p", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod after a graceful delete: %v", err)
	}
	if p.DeletionTimestamp == nil {
		t.Errorf("deletionTimestamp not set after a graceful delete")
	}
	if p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Errorf("deletionGracePeriodSeconds = %v, want 30", p.DeletionGracePeriodSeconds)
	}
	rows := fields(e.mustKubectl("", "get", "pod", "p"))
	if len(rows) != 2 || len(rows[1]) < 3 || rows[1][2] != "Terminating" {
		t.Errorf("get pod after a graceful delete = %v, want STATUS Terminating", rows)
	}
	// Deleting again changes nothing and is no error.
	if got, want := e.mustKubectl("", "delete", "pod", "p", "--wait=false"), `pod "p" deleted`+"\n"; got != want {
		t.Errorf("second delete printed %q, want %q", got, want)
	}
	out, errOut, err := e.kubectl("", "delete", "pod", "p", "--grace-period=0", "--force")
	if err != nil {
		t.Fatalf("forced delete: %v: %s", err, errOut)
	}
	if want := `pod "p" force deleted` + "\n"; out != want {
		t.Errorf("forced delete printed %q, want %q", out, want)
	}
	if want := "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated."; !strings.Contains(errOut, want) {
		t.Errorf("forced delete warned %q, want %q", errOut, want)
	}
	if got, want := e.kubectlFails("", "get", "pod", "p"), `Error from server (NotFound): pods "p" not found`+"\n"; got != want {
		t.Errorf("get after forced delete printed %q, want %q", got, want)
	}
}

// TestKubectlEditReplace changes objects the ways that read and write
// whole objects: edit (with sed as the editor) and replace.
func TestKubectlEditReplace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "edit")
	e.mustKubectl(deployment(2, "nginx:1.25"), "apply", "-f", "-")
	out, errOut, err := e.kubectlEnv([]string{"KUBE_EDITOR=sed -i -e s/nginx:1.25/nginx:1.26/"}, "", "edit", "deployment", "web")
	if err != nil {
		t.Fatalf("kubectl edit: %v: %s", err, errOut)
	}
	if want := "deployment.apps/web edited\n"; out != want {
		t.Errorf("kubectl edit printed %q, want %q", out, want)
	}
	_, errOut, err = e.kubectlEnv([]string{"KUBE_EDITOR=true"}, "", "edit", "deployment", "web")
	if want := "Edit cancelled, no changes made.\n"; err != nil || errOut != want {
		t.Errorf("kubectl edit without changes: %v, printed %q, want %q", err, errOut, want)
	}

	manifest := e.mustKubectl("", "get", "deployment", "web", "-o", "yaml")
	manifest = strings.Replace(manifest, "replicas: 2", "replicas: 4", 1)
	if got, want := e.mustKubectl(manifest, "replace", "-f", "-"), "deployment.apps/web replaced\n"; got != want {
		t.Errorf("kubectl replace printed %q, want %q", got, want)
	}
	if got, want := e.mustKubectl("", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}"), "4 nginx:1.26"; got != want {
		t.Errorf("after edit and replace: %q, want %q", got, want)
	}
	// The manifest still names the resourceVersion it was read at: a
	// second replace is stale, though it asks for what is stored.
	want := `Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again` + "\n"
	if got := e.kubectlFails(manifest, "replace", "-f", "-"); got != want {
		t.Errorf("replace at a stale resourceVersion printed %q, want %q", got, want)
	}
}

func TestKubectlScale(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "scale")
	e.mustKubectl(deployment(2, "nginx:1.25"), "apply", "-f", "-")
	if got, want := e.mustKubectl("", "scale", "deployment", "web", "--replicas=3"), "deployment.apps/web scaled\n"; got != want {
		t.Errorf("scale printed %q, want %q", got, want)
	}
	if got, want := e.mustKubectl("", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"), "3"; got != want {
		t.Errorf("replicas after scale = %s, want %s", got, want)
	}
	if got, want := e.kubectlFails("", "scale", "deployment", "web", "--current-replicas=2", "--replicas=4"), "error: Expected replicas to be 2, was 3\n"; got != want {
		t.Errorf("scale with a wrong precondition printed %q, want %q", got, want)
	}
	if got, want := e.mustKubectl("", "scale", "deployment", "web", "--current-replicas=3", "--replicas=0"), "deployment.apps/web scaled\n"; got != want {
		t.Errorf("scale with a precondition printed %q, want %q", got, want)
	}
	if got, want := e.mustKubectl("", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"), "0"; got != want {
		t.Errorf("replicas after scale to 0 = %s, want %s", got, want)
	}
	sc, err := e.kube.AppsV1().Deployments(e.ns).GetScale(e.ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Spec.Replicas != 0 || sc.Status.Selector != "app=web" {
		t.Errorf("scale subresource = replicas %d selector %q, want 0 and app=web", sc.Spec.Replicas, sc.Status.Selector)
	}
}

func TestKubectlLabelAnnotate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "label")
	e.mustKubectl(deployment(1, "nginx:1.25"), "apply", "-f", "-")
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"label", "deployment", "web", "tier=frontend"}, "deployment.apps/web labeled\n"},
		{[]string{"label", "deployment", "web", "tier=backend", "--overwrite"}, "deployment.apps/web labeled\n"},
		{[]string{"label", "deployment", "web", "tier-"}, "deployment.apps/web unlabeled\n"},
		{[]string{"annotate", "deployment", "web", "note=hello"}, "deployment.apps/web annotated\n"},
		{[]string{"annotate", "deployment", "web", "note=again", "--overwrite"}, "deployment.apps/web annotated\n"},
		{[]string{"label", "deployment", "web", "owner=alice"}, "deployment.apps/web labeled\n"},
	}
	for _, st := range steps {
		if got := e.mustKubectl("", st.args...); got != st.want {
			t.Errorf("kubectl %s printed %q, want %q", strings.Join(st.args, " "), got, st.want)
		}
	}
	if got, want := e.kubectlFails("", "label", "deployment", "web", "owner=bob"), "error: 'owner' already has a value (alice), and --overwrite is false\n"; got != want {
		t.Errorf("label without --overwrite printed %q, want %q", got, want)
	}
	d, err := e.kube.AppsV1().Deployments(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Labels, map[string]string{"app": "web", "owner": "alice"}; !maps.Equal(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
	if got, want := d.Annotations["note"], "again"; got != want {
		t.Errorf("annotation note = %q, want %q", got, want)
	}
	if got, want := e.mustKubectl("", "get", "deployments", "-l", "owner=alice", "-o", "name"), "deployment.apps/web\n"; got != want {
		t.Errorf("get -l owner=alice = %q, want %q", got, want)
	}
	if got, want := e.mustKubectl("", "get", "deployments", "-l", "owner=bob", "-o", "name"), ""; got != want {
		t.Errorf("get -l owner=bob = %q, want nothing", got)
	}
}

func TestKubectlPatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "patch")
	e.mustKubectl(deployment(2, "nginx:1.25"), "apply", "-f", "-")
	const containers = "jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}"
	tests := []struct {
		name       string
		args       []string
		want       string
		containers string
		replicas   string
	}{
		{"strategic merges containers by name",
			[]string{"-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}`},
			"deployment.apps/web patched\n", "web=nginx:1.26 sidecar=busybox:1.36 ", "2"},
		{"json patch",
			[]string{"--type", "json", "-p", `[{"op":"replace","path":"/spec/replicas","value":5},{"op":"add","path":"/metadata/labels/patched","value":"json"}]`},
			"deployment.apps/web patched\n", "web=nginx:1.26 sidecar=busybox:1.36 ", "5"},
		{"json patch that changes nothing",
			[]string{"--type", "json", "-p", `[{"op":"replace","path":"/spec/replicas","value":5}]`},
			"deployment.apps/web patched (no change)\n", "web=nginx:1.26 sidecar=busybox:1.36 ", "5"},
		{"merge replaces lists",
			[]string{"--type", "merge", "-p", `{"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}`},
			"deployment.apps/web patched\n", "web=nginx:1.27 ", "1"},
		{"strategic deletes by directive",
			[]string{"-p", `{"metadata":{"labels":{"patched":null}}}`},
			"deployment.apps/web patched\n", "web=nginx:1.27 ", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"patch", "deployment", "web"}, tt.args...)
			if got := e.mustKubectl("", args...); got != tt.want {
				t.Errorf("kubectl patch printed %q, want %q", got, tt.want)
			}
			if got := e.mustKubectl("", "get", "deployment", "web", "-o", containers); got != tt.containers {
				t.Errorf("containers = %q, want %q", got, tt.containers)
			}
			if got := e.mustKubectl("", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != tt.replicas {
				t.Errorf("replicas = %s, want %s", got, tt.replicas)
			}
		})
	}
	if got, want := e.mustKubectl("", "get", "deployment", "web", "-o", "jsonpath={.metadata.labels}"), `{"app":"web"}`; got != want {
		t.Errorf("labels = %s, want %s", got, want)
	}
	// kubectl prints a failed json patch test as Kubernetes answers it:
	// 422 with no details beyond the message.
	if got, want := e.kubectlFails("", "patch", "deployment", "web", "--type", "json", "-p", `[{"op":"test","path":"/spec/replicas","value":7}]`),
		"The request is invalid: the server rejected our request due to an error in our request\n"; got != want {
		t.Errorf("failing json patch test printed %q, want %q", got, want)
	}
}

const ssaConflictHelp = `Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the ` + "`--force-conflicts`" + ` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
`

func TestKubectlServerSideApply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "ssa")
	const applied = "deployment.apps/web serverside-applied\n"
	steps := []struct {
		name     string
		manager  string
		replicas int
		force    bool
		want     string // stdout, or stderr when the apply fails
		failed   bool
		after    string // replicas after the step
	}{
		{"create", "alice", 2, false, applied, false, "2"},
		{"conflict", "bob", 3, false,
			"error: Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas\n" + ssaConflictHelp, true, "2"},
		{"co-own with the same value", "bob", 2, false, applied, false, "2"},
		{"two conflicts", "carol", 3, false,
			"error: Apply failed with 2 conflicts: conflicts with \"alice\":\n- .spec.replicas\nconflicts with \"bob\":\n- .spec.replicas\n" + ssaConflictHelp, true, "2"},
		{"forced", "carol", 3, true, applied, false, "3"},
		{"conflict with the new owner", "alice", 2, false,
			"error: Apply failed with 1 conflict: conflict with \"carol\": .spec.replicas\n" + ssaConflictHelp, true, "3"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			args := []string{"apply", "--server-side", "--field-manager=" + st.manager, "-f", "-"}
			if st.force {
				args = append(args, "--force-conflicts")
			}
			out, errOut, err := e.kubectl(deployment(st.replicas, "nginx:1.25"), args...)
			if failed := err != nil; failed != st.failed {
				t.Errorf("apply failed = %v (%v), want %v; stderr:\n%s", failed, err, st.failed, errOut)
			}
			got := out
			if st.failed {
				got = errOut
			}
			if got != st.want {
				t.Errorf("apply printed:\n%s\nwant:\n%s", got, st.want)
			}
			if got := e.mustKubectl("", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != st.after {
				t.Errorf("replicas = %s, want %s", got, st.after)
			}
		})
	}
	d, err := e.kube.AppsV1().Deployments(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var owners []string
	for _, mf := range d.ManagedFields {
		if mf.FieldsV1 != nil && strings.Contains(string(mf.FieldsV1.Raw), `"f:replicas"`) {
			owners = append(owners, mf.Manager+"/"+string(mf.Operation))
		}
	}
	if got, want := strings.Join(owners, ","), "carol/Apply"; got != want {
		t.Errorf("managers of spec.replicas = %s, want %s", got, want)
	}
}

// TestKubectlCreate runs kubectl's generators, which send their objects in
// protobuf.
func TestKubectlCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "create")
	other := uniqueName("created")
	tests := []struct {
		name  string
		args  []string
		want  string
		check []string // a kubectl get, then what it must print
	}{
		{"namespace", []string{"create", "namespace", other}, "namespace/" + other + " created\n",
			[]string{"get", "namespace", other, "-o", "jsonpath={.status.phase}", "Active"}},
		{"deployment", []string{"create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "--port=80"}, "deployment.apps/web created\n",
			[]string{"get", "deployment", "web", "-o", "jsonpath={.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.spec.containers[0].name} {.spec.template.spec.containers[0].ports[0].containerPort}", "2 web nginx 80"}},
		{"configmap", []string{"create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=two"}, "configmap/cfg created\n",
			[]string{"get", "configmap", "cfg", "-o", "jsonpath={.data.a} {.data.b}", "1 two"}},
		{"secret", []string{"create", "secret", "generic", "pw", "--from-literal=password=hunter2"}, "secret/pw created\n",
			[]string{"get", "secret", "pw", "-o", "jsonpath={.type} {.data.password}", "Opaque aHVudGVyMg=="}},
		{"service", []string{"create", "service", "clusterip", "web", "--tcp=80:8080"}, "service/web created\n",
			[]string{"get", "service", "web", "-o", "jsonpath={.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.selector.app}", "ClusterIP 80 8080 web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.mustKubectl("", tt.args...); got != tt.want {
				t.Errorf("kubectl %s printed %q, want %q", strings.Join(tt.args, " "), got, tt.want)
			}
			n := len(tt.check)
			if got := e.mustKubectl("", tt.check[:n-1]...); got != tt.check[n-1] {
				t.Errorf("kubectl %s = %q, want %q", strings.Join(tt.check[:n-1], " "), got, tt.check[n-1])
			}
		})
	}

	t.Run("server dry run", func(t *testing.T) {
		if got, want := e.mustKubectl("", "create", "configmap", "dry", "--from-literal=a=1", "--dry-run=server"), "configmap/dry created (server dry run)\n"; got != want {
			t.Errorf("server dry run printed %q, want %q", got, want)
		}
		if got, want := e.kubectlFails("", "get", "configmap", "dry"), `Error from server (NotFound): configmaps "dry" not found`+"\n"; got != want {
			t.Errorf("get after a dry run printed %q, want %q", got, want)
		}
		// A dry run fails where the create would.
		out, errOut, err := e.kubectl("", "create", "namespace", other, "--dry-run=server")
		if want := `Error from server (AlreadyExists): namespaces "` + other + `" already exists` + "\n"; err == nil || errOut != want {
			t.Errorf("dry run of an existing namespace: %v, stdout %q, stderr %q, want %q", err, out, errOut, want)
		}
	})
}

// TestKubectlErrors checks the messages kubectl prints for the errors
// Kubernetes answers with 404, 409 and 422.
func TestKubectlErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "errors")
	e.mustKubectl(configMap("taken", map[string]string{"a": "1"}), "apply", "-f", "-")
	cm, err := e.kube.CoreV1().ConfigMaps(e.ns).Get(e.ctx, "taken", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: taken\n  resourceVersion: %q\ndata:\n  a: \"2\"\n", cm.ResourceVersion)
	cm.Data["a"] = "changed"
	if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Update(e.ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	const rfc1123 = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"get missing", "", []string{"get", "deployment", "nope"},
			`Error from server (NotFound): deployments.apps "nope" not found` + "\n"},
		{"get missing core", "", []string{"get", "configmap", "nope"},
			`Error from server (NotFound): configmaps "nope" not found` + "\n"},
		{"unknown resource type", "", []string{"get", "widgets"},
			`error: the server doesn't have a resource type "widgets"` + "\n"},
		{"create existing", configMap("taken", nil), []string{"create", "-f", "-"},
			`Error from server (AlreadyExists): error when creating "STDIN": configmaps "taken" already exists` + "\n"},
		{"create existing with a generator", "", []string{"create", "configmap", "taken"},
			`error: failed to create configmap: configmaps "taken" already exists` + "\n"},
		{"replace stale", stale, []string{"replace", "-f", "-"},
			`Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "taken": the object has been modified; please apply your changes to the latest version and try again` + "\n"},
		{"invalid name", configMap("Bad_Name", nil), []string{"create", "-f", "-"},
			`The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ` + rfc1123 + "\n"},
		{"invalid deployment", strings.Replace(deployment(-1, "nginx:1.25"), "app: web\n  template", "app: other\n  template", 1), []string{"create", "-f", "-"},
			"The Deployment \"web\" is invalid: \n" +
				"* spec.replicas: Invalid value: -1: must be greater than or equal to 0\n" +
				"* spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.kubectlFails(tt.stdin, tt.args...); got != tt.want {
				t.Errorf("kubectl %s printed:\n%s\nwant:\n%s", strings.Join(tt.args, " "), got, tt.want)
			}
		})
	}
}
