package apiserver_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// get sends a GET with the given headers and returns the status, the
// Content-Type and the body.
func get(t *testing.T, c *http.Client, url string, header map[string]string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "authn")
	url := e.cp.Servers[0].URL
	anon, err := e.cp.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("anonymous", func(t *testing.T) {
		tests := []struct {
			path string
			want int
		}{
			{"/healthz", 200}, {"/livez", 200}, {"/readyz", 200}, {"/version", 200},
			{"/api", 401}, {"/apis", 401}, {"/api/v1", 401}, {"/apis/apps/v1", 401},
			{"/api/v1/namespaces", 401}, {"/api/v1/namespaces/default/pods", 401},
			{"/openapi/v2", 401}, {"/openapi/v3", 401}, {"/metrics", 401},
			{"/api/v1/namespaces?watch=true", 401}, {"/nonexistent", 401},
		}
		for _, tt := range tests {
			code, ctype, body := get(t, anon, url+tt.path, nil)
			if code != tt.want {
				t.Errorf("anonymous GET %s = %d, want %d", tt.path, code, tt.want)
				continue
			}
			if code != 401 {
				continue
			}
			var st metav1.Status
			if err := json.Unmarshal(body, &st); err != nil || ctype != "application/json" {
				t.Errorf("anonymous GET %s: %s body %q, want a JSON Status", tt.path, ctype, body)
				continue
			}
			if st.Kind != "Status" || st.Code != 401 || st.Reason != metav1.StatusReasonUnauthorized || st.Message != "Unauthorized" {
				t.Errorf("anonymous GET %s: %+v, want Status 401 Unauthorized", tt.path, st)
			}
		}
	})
	t.Run("version", func(t *testing.T) {
		_, _, body := get(t, anon, url+"/version", nil)
		var v struct{ Major, Minor, GitVersion string }
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("/version: %v: %s", err, body)
		}
		if v.Major != "1" || v.Minor != "37" || !strings.HasPrefix(v.GitVersion, "v1.37.") {
			t.Errorf("/version = %+v, want 1.37", v)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		code, _, _ := get(t, anon, url+"/api/v1/namespaces", map[string]string{"Authorization": "Bearer not-a-token"})
		if code != 401 {
			t.Errorf("GET with a wrong token = %d, want 401", code)
		}
		kc := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(kc, []byte(strings.Replace(e.cp.KubeconfigFor(0), e.cp.AdminToken, "not-a-token", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		// A second --kubeconfig overrides the test's.
		got := e.kubectlFails("", "--kubeconfig", kc, "get", "namespaces")
		// kubectl's discovery fails first; it reports the 401 as client-go
		// words it, as it does against Kubernetes.
		if want := "error: You must be logged in to the server (the server has asked for the client to provide credentials)\n"; !strings.HasSuffix(got, want) {
			t.Errorf("kubectl with a wrong token printed %q, want %q", got, want)
		}
	})
	t.Run("client certificate", func(t *testing.T) {
		cert, err := tls.LoadX509KeyPair(e.cp.AdminCert, e.cp.AdminKey)
		if err != nil {
			t.Fatal(err)
		}
		withCert, err := e.cp.HTTPClient()
		if err != nil {
			t.Fatal(err)
		}
		withCert.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
		if code, _, body := get(t, withCert, url+"/api/v1/namespaces/"+e.ns, nil); code != 200 {
			t.Errorf("GET with the admin certificate = %d %s, want 200", code, body)
		}
		cfg := &rest.Config{Host: url, TLSClientConfig: rest.TLSClientConfig{CAFile: e.cp.CAFile, CertFile: e.cp.AdminCert, KeyFile: e.cp.AdminKey}}
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Namespaces().Get(e.ctx, e.ns, metav1.GetOptions{}); err != nil {
			t.Errorf("client-go with the admin certificate: %v", err)
		}
		kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: gantry
  cluster: {server: %q, certificate-authority: %q}
users:
- name: cert
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: cert
  context: {cluster: gantry, user: cert, namespace: %q}
current-context: cert
`, url, e.cp.CAFile, e.cp.AdminCert, e.cp.AdminKey, e.ns)
		path := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, want := e.mustKubectl("", "--kubeconfig", path, "get", "namespace", e.ns, "-o", "name"), "namespace/"+e.ns+"\n"; got != want {
			t.Errorf("kubectl with a client certificate = %q, want %q", got, want)
		}
	})
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "discovery")
	t.Run("api-resources", func(t *testing.T) {
		rows := fields(e.mustKubectl("", "api-resources"))
		if got, want := strings.Join(rows[0], " "), "NAME SHORTNAMES APIVERSION NAMESPACED KIND"; got != want {
			t.Errorf("api-resources header = %q, want %q", got, want)
		}
		for _, want := range []string{
			"deployments deploy apps/v1 true Deployment",
			"replicasets rs apps/v1 true ReplicaSet",
			"pods po v1 true Pod",
			"namespaces ns v1 false Namespace",
			"nodes no v1 false Node",
			"configmaps cm v1 true ConfigMap",
			"services svc v1 true Service",
			"secrets v1 true Secret",
			"jobs batch/v1 true Job",
			"leases coordination.k8s.io/v1 true Lease",
		} {
			found := false
			for _, r := range rows[1:] {
				if strings.Join(r, " ") == want {
					found = true
				}
			}
			if !found {
				t.Errorf("api-resources has no row %q", want)
			}
		}
	})
	t.Run("api-versions", func(t *testing.T) {
		got := strings.Fields(e.mustKubectl("", "api-versions"))
		for _, want := range []string{"apps/v1", "batch/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1", "networking.k8s.io/v1", "v1"} {
			if !slices.Contains(got, want) {
				t.Errorf("api-versions = %v, want %s in it", got, want)
			}
		}
	})
	t.Run("aggregated", func(t *testing.T) {
		anon, err := e.cp.HTTPClient()
		if err != nil {
			t.Fatal(err)
		}
		const media = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
		h := map[string]string{"Authorization": "Bearer " + e.cp.AdminToken, "Accept": media + ",application/json"}
		code, ctype, body := get(t, anon, e.cp.Servers[0].URL+"/apis", h)
		if code != 200 || ctype != media {
			t.Fatalf("GET /apis = %d %q, want 200 %q", code, ctype, media)
		}
		var list apidiscoveryv2.APIGroupDiscoveryList
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		var deploy *apidiscoveryv2.APIResourceDiscovery
		for _, g := range list.Items {
			for _, v := range g.Versions {
				for i, r := range v.Resources {
					if g.Name == "apps" && v.Version == "v1" && r.Resource == "deployments" {
						deploy = &v.Resources[i]
					}
				}
			}
		}
		if deploy == nil {
			t.Fatalf("aggregated discovery has no apps/v1 deployments: %s", body)
		}
		var subs []string
		for _, s := range deploy.Subresources {
			subs = append(subs, s.Subresource)
		}
		slices.Sort(subs)
		if got, want := strings.Join(subs, ","), "scale,status"; got != want || deploy.Scope != apidiscoveryv2.ScopeNamespace || !slices.Contains(deploy.ShortNames, "deploy") {
			t.Errorf("deployments: subresources %s, scope %s, short names %v, want %s, Namespaced, deploy", got, deploy.Scope, deploy.ShortNames, want)
		}
		code, ctype, _ = get(t, anon, e.cp.Servers[0].URL+"/api", h)
		if code != 200 || ctype != media {
			t.Errorf("GET /api = %d %q, want 200 %q", code, ctype, media)
		}
	})
	t.Run("client-go", func(t *testing.T) {
		_, lists, err := e.kube.Discovery().ServerGroupsAndResources()
		if err != nil {
			t.Fatal(err)
		}
		var verbs []string
		for _, l := range lists {
			if l.GroupVersion != "apps/v1" {
				continue
			}
			for _, r := range l.APIResources {
				if r.Name == "deployments" {
					verbs = r.Verbs
				}
			}
		}
		slices.Sort(verbs)
		if got, want := strings.Join(verbs, ","), "create,delete,deletecollection,get,list,patch,update,watch"; got != want {
			t.Errorf("deployments verbs = %s, want %s", got, want)
		}
	})
	t.Run("category all", func(t *testing.T) {
		e.mustKubectl(deployment(1, "nginx:1.25"), "apply", "-f", "-")
		e.mustKubectl("", "create", "service", "clusterip", "web", "--tcp=80:80")
		e.mustKubectl("", "create", "configmap", "not-in-all")
		if got, want := e.mustKubectl("", "get", "all", "-o", "name"), "service/web\ndeployment.apps/web\n"; got != want {
			t.Errorf("get all = %q, want %q", got, want)
		}
	})
}

// TestOpenAPI: kubectl reads /openapi/v3 to validate, explain and patch.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "openapi")
	t.Run("root", func(t *testing.T) {
		body, err := e.kube.Discovery().RESTClient().Get().AbsPath("/openapi/v3").DoRaw(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var root struct {
			Paths map[string]struct{ ServerRelativeURL string }
		}
		if err := json.Unmarshal(body, &root); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"api/v1", "apis/apps/v1", "apis/batch/v1"} {
			if !strings.HasPrefix(root.Paths[p].ServerRelativeURL, "/openapi/v3/"+p+"?hash=") {
				t.Errorf("/openapi/v3 path %s = %q, want /openapi/v3/%s?hash=...", p, root.Paths[p].ServerRelativeURL, p)
			}
		}
	})
	t.Run("explain", func(t *testing.T) {
		out := e.mustKubectl("", "explain", "deployment.spec.replicas")
		for _, want := range []string{`^GROUP:\s+apps$`, `^KIND:\s+Deployment$`, `^VERSION:\s+v1$`, `^FIELD: replicas <integer>$`} {
			if !regexp.MustCompile("(?m)" + want).MatchString(out) {
				t.Errorf("explain has no line matching %s:\n%s", want, out)
			}
		}
	})
	unknown := strings.Replace(deployment(1, "nginx:1.25"), "spec:\n  replicas", "spec:\n  foo: bar\n  replicas", 1)
	t.Run("strict by default", func(t *testing.T) {
		want := `Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"` + "\n"
		if got := e.kubectlFails(unknown, "apply", "-f", "-"); got != want {
			t.Errorf("apply with an unknown field printed:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("warn", func(t *testing.T) {
		out, errOut, err := e.kubectl(unknown, "apply", "--validate=warn", "-f", "-")
		if err != nil {
			t.Fatalf("apply --validate=warn: %v: %s", err, errOut)
		}
		if want := "deployment.apps/web created\n"; out != want {
			t.Errorf("apply --validate=warn printed %q, want %q", out, want)
		}
		if want := `Warning: unknown field "spec.foo"` + "\n"; errOut != want {
			t.Errorf("apply --validate=warn warned %q, want %q", errOut, want)
		}
	})
	t.Run("ignore", func(t *testing.T) {
		withOther := strings.Replace(unknown, "name: web", "name: web2", 1)
		out, errOut, err := e.kubectl(withOther, "apply", "--validate=false", "-f", "-")
		if err != nil || out != "deployment.apps/web2 created\n" || errOut != "" {
			t.Errorf("apply --validate=false: %v, stdout %q, stderr %q, want created and no warning", err, out, errOut)
		}
	})
}
