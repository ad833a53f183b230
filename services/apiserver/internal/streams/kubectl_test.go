package streams

// These tests run the real kubectl (when it is on PATH) against the
// handler behind a server that fakes just enough of the API for it:
// version, discovery of pods and GET of a pod.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

// kubectl runs kubectl with a kubeconfig for a test server.
type kubectl struct {
	path, kubeconfig, cacheDir string
}

func newKubectl(t *testing.T, env *testEnv) *kubectl {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("kubectl is not on PATH: these tests drive the real kubectl")
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: test
  user:
    token: test
contexts:
- name: test
  context: {cluster: test, user: test, namespace: default}
current-context: test
`, env.server.URL, base64.StdEncoding.EncodeToString(env.config.CAData))
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &kubectl{path: path, kubeconfig: kubeconfig, cacheDir: filepath.Join(dir, "cache")}
}

// command is kubectl with args; extraEnv is added to its environment.
func (k *kubectl) command(t *testing.T, extraEnv []string, args ...string) *exec.Cmd {
	args = append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", k.cacheDir}, args...)
	cmd := exec.CommandContext(testContext(t), k.path, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	return cmd
}

// fakeAPI serves what kubectl reads before it streams and hands the pod
// subresources to streams.
func fakeAPI(streams http.Handler, objects *fakeObjects) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, version.Info{Major: "1", Minor: "32", GitVersion: "v1.32.0"})
	})
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
	})
	mux.HandleFunc("GET /apis", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}})
	})
	mux.HandleFunc("GET /api/v1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: "v1",
			APIResources: []metav1.APIResource{
				{Name: "pods", SingularName: "pod", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"get", "list"}, ShortNames: []string{"po"}},
				{Name: "pods/log", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"get"}},
				{Name: "pods/exec", Namespaced: true, Kind: "PodExecOptions", Verbs: metav1.Verbs{"create", "get"}},
				{Name: "pods/attach", Namespaced: true, Kind: "PodAttachOptions", Verbs: metav1.Verbs{"create", "get"}},
				{Name: "pods/portforward", Namespaced: true, Kind: "PodPortForwardOptions", Verbs: metav1.Verbs{"create", "get"}},
			},
		})
	})
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", func(w http.ResponseWriter, r *http.Request) {
		pod, err := objects.Pod(r.Context(), r.PathValue("ns"), r.PathValue("name"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		pod = pod.DeepCopy()
		pod.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
		writeJSON(w, pod)
	})
	mux.Handle("/api/v1/namespaces/{ns}/pods/{name}/{sub}", streams)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func TestKubectlLogs(t *testing.T) {
	env := newTestEnv(t)
	out, err := newKubectl(t, env).command(t, nil, "logs", "web-0", "-c", "web").Output()
	if err != nil || string(out) != "line 1\nline 2\n" {
		t.Errorf("kubectl logs: %q, %v", out, err)
	}
}

// Older kubectl, or KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, use SPDY.
var kubectlTransports = []struct {
	name, upgrade string
	env           []string
}{
	{"websocket", "websocket", nil},
	{"spdy", "spdy/3.1", []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false", "KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}},
}

func TestKubectlExec(t *testing.T) {
	env := newTestEnv(t)
	k := newKubectl(t, env)
	for _, tr := range kubectlTransports {
		t.Run(tr.name+"/exit code", func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := k.command(t, tr.env, "exec", "web-0", "-c", "web", "--", "fail")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 3 {
				t.Errorf("kubectl exec: %v (stderr %q), want exit code 3", err, stderr.String())
			}
			if stdout.String() != "out\n" || !strings.HasPrefix(stderr.String(), "err\n") {
				t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
			}
			if got := env.upgrades.last(); got != tr.upgrade {
				t.Errorf("kubectl upgraded to %q, want %q", got, tr.upgrade)
			}
		})
		t.Run(tr.name+"/stdin", func(t *testing.T) {
			cmd := k.command(t, tr.env, "exec", "-i", "web-0", "-c", "web", "--", "cat")
			cmd.Stdin = strings.NewReader("piped through\n")
			out, err := cmd.Output()
			if err != nil || string(out) != "piped through\n" {
				t.Errorf("kubectl exec -i: %q, %v", out, err)
			}
		})
	}
}

func TestKubectlPortForward(t *testing.T) {
	env := newTestEnv(t)
	k := newKubectl(t, env)
	podPort := upperServer(t)
	for _, tr := range kubectlTransports {
		t.Run(tr.name, func(t *testing.T) {
			cmd := k.command(t, tr.env, "port-forward", "--address", "127.0.0.1", "pod/web-0", fmt.Sprintf(":%d", podPort))
			pr, pw := io.Pipe()
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = pw, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			defer func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				pw.Close()
				wg.Wait()
			}()
			local, err := forwardedPort(pr)
			if err != nil {
				t.Fatalf("%v; kubectl said %q", err, stderr.String())
			}
			wg.Go(func() { _, _ = io.Copy(io.Discard, pr) })
			converse(t, local, 1)
			converse(t, local, 2)
			if got := env.upgrades.last(); got != tr.upgrade {
				t.Errorf("kubectl upgraded to %q, want %q", got, tr.upgrade)
			}
		})
	}
}

var forwardingFrom = regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) ->`)

// forwardedPort reads kubectl port-forward's output up to the line naming
// the local port.
func forwardedPort(r io.Reader) (int, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		if m := forwardingFrom.FindStringSubmatch(s.Text()); m != nil {
			var port int
			_, err := fmt.Sscan(m[1], &port)
			return port, err
		}
	}
	return 0, fmt.Errorf("kubectl port-forward ended without a local port: %v", s.Err())
}
