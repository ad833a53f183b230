package integration

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/integration/cluster"
	"github.com/gantry-dev/gantry/integration/controlplane"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// The install material under deploy/ is checked here without a cluster:
// manifests decode strictly into Kubernetes' types, dashboards use metrics
// the daemons export, units and env files fit the daemons' flags.

// daemons are the services with a systemd unit, by the name used in
// gantry-<name>.service, /etc/gantry/<name>.env and GANTRY_<NAME>_ARGS.
var daemons = []string{"store", "apiserver", "scheduler", "controllers", "agent", "proxy", "ingress"}

const deployDir = "../deploy"

// deployFiles returns the files under deploy/<sub> whose names end in ext.
func deployFiles(t *testing.T, sub, ext string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(deployDir, sub), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ext) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no %s files under deploy/%s", ext, sub)
	}
	return files
}

// decodeManifests decodes every document of a YAML stream strictly: an
// unknown or duplicate field is an error.
func decodeManifests(data []byte) ([]runtime.Object, error) {
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objs = append(objs, obj)
	}
}

func TestDeployExamplesDecodeStrictly(t *testing.T) {
	t.Run("the decoder is strict", func(t *testing.T) {
		bad := []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selektor: {app: x}\n")
		if _, err := decodeManifests(bad); err == nil || !strings.Contains(err.Error(), "selektor") {
			t.Fatalf("an unknown field decoded without error (err %v)", err)
		}
	})
	for _, path := range deployFiles(t, "examples", ".yaml") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeManifests(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
			for _, problem := range checkManifests(objs) {
				t.Error(problem)
			}
		})
	}
}

// podTemplateOf returns the pod template and selector of a workload.
func podTemplateOf(obj runtime.Object) (string, *corev1.PodTemplateSpec, *metav1.LabelSelector) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return "Deployment " + o.Name, &o.Spec.Template, o.Spec.Selector
	case *appsv1.StatefulSet:
		return "StatefulSet " + o.Name, &o.Spec.Template, o.Spec.Selector
	case *appsv1.DaemonSet:
		return "DaemonSet " + o.Name, &o.Spec.Template, o.Spec.Selector
	case *batchv1.Job:
		// The API server generates a Job's selector.
		return "Job " + o.Name, &o.Spec.Template, nil
	}
	return "", nil, nil
}

// checkManifests checks what strict decoding does not: the references
// between the objects of one file and the conventions of the examples.
func checkManifests(objs []runtime.Object) []string {
	var problems []string
	services := map[string]*corev1.Service{}
	var templates []*corev1.PodTemplateSpec
	for _, obj := range objs {
		if s, ok := obj.(*corev1.Service); ok {
			services[s.Name] = s
		}
	}
	for _, obj := range objs {
		name, tmpl, sel := podTemplateOf(obj)
		if tmpl == nil {
			continue
		}
		templates = append(templates, tmpl)
		if sel != nil {
			s, err := metav1.LabelSelectorAsSelector(sel)
			if err != nil || s.Empty() || !s.Matches(labels.Set(tmpl.Labels)) {
				problems = append(problems, fmt.Sprintf("%s: selector %v does not select its template's labels %v (%v)", name, sel, tmpl.Labels, err))
			}
		}
		for _, c := range tmpl.Spec.Containers {
			if c.Image != "gantry.local/busybox:latest" {
				problems = append(problems, fmt.Sprintf("%s: container %s runs %q, not the built-in gantry.local/busybox:latest", name, c.Name, c.Image))
			}
			for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
				if p == nil {
					continue
				}
				var port *intOrName
				if p.HTTPGet != nil {
					port = &intOrName{p.HTTPGet.Port.String()}
				} else if p.TCPSocket != nil {
					port = &intOrName{p.TCPSocket.Port.String()}
				}
				if port != nil && !port.in(c.Ports) {
					problems = append(problems, fmt.Sprintf("%s: container %s probes port %s it does not declare", name, c.Name, port.v))
				}
			}
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			for _, c := range o.Spec.Template.Spec.Containers {
				if c.ReadinessProbe == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
					problems = append(problems, fmt.Sprintf("%s: container %s needs a readiness probe and a preStop hook", name, c.Name))
				}
			}
		case *appsv1.StatefulSet:
			if s := services[o.Spec.ServiceName]; s == nil || s.Spec.ClusterIP != corev1.ClusterIPNone {
				problems = append(problems, fmt.Sprintf("%s: serviceName %q is not a headless Service of the file", name, o.Spec.ServiceName))
			}
			if len(o.Spec.VolumeClaimTemplates) == 0 {
				problems = append(problems, name+": no volumeClaimTemplates")
			}
			for _, v := range o.Spec.VolumeClaimTemplates {
				if v.Spec.StorageClassName == nil || *v.Spec.StorageClassName != "local-path" {
					problems = append(problems, fmt.Sprintf("%s: claim template %s does not use storage class local-path", name, v.Name))
				}
			}
		}
	}
	// Services select pods of the file, on ports their containers declare.
	for _, s := range services {
		var matched *corev1.PodTemplateSpec
		for _, tmpl := range templates {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(tmpl.Labels)) {
				matched = tmpl
			}
		}
		if matched == nil {
			problems = append(problems, fmt.Sprintf("Service %s selects no pod template of the file", s.Name))
			continue
		}
		for _, p := range s.Spec.Ports {
			found := false
			for _, c := range matched.Spec.Containers {
				found = found || (&intOrName{p.TargetPort.String()}).in(c.Ports)
			}
			if !found {
				problems = append(problems, fmt.Sprintf("Service %s: targetPort %s is no container port", s.Name, p.TargetPort.String()))
			}
		}
	}
	// Ingress backends are Services of the file, by a port they have.
	for _, obj := range objs {
		ing, ok := obj.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				b := p.Backend.Service
				if b == nil {
					continue
				}
				s := services[b.Name]
				if s == nil {
					problems = append(problems, fmt.Sprintf("Ingress %s: backend Service %s is not in the file", ing.Name, b.Name))
					continue
				}
				if !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool {
					return (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number)
				}) {
					problems = append(problems, fmt.Sprintf("Ingress %s: Service %s has no port %v", ing.Name, b.Name, b.Port))
				}
			}
		}
	}
	return problems
}

// intOrName is a port given by number or by name.
type intOrName struct{ v string }

func (p *intOrName) in(ports []corev1.ContainerPort) bool {
	return slices.ContainsFunc(ports, func(cp corev1.ContainerPort) bool {
		return cp.Name == p.v || strconv.Itoa(int(cp.ContainerPort)) == p.v
	})
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID           string           `json:"uid"`
	Title         string           `json:"title"`
	Inputs        []dashboardInput `json:"__inputs"`
	SchemaVersion int              `json:"schemaVersion"`
	Panels        []struct {
		ID         int    `json:"id"`
		Title      string `json:"title"`
		Type       string `json:"type"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// dashboardInput is an input the dashboard asks for when imported.
type dashboardInput struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	PluginID string `json:"pluginId"`
}

// queries returns every PromQL expression of the dashboard, with the
// templating queries' label_values(...) unwrapped.
func (d *dashboard) queries() ([]string, error) {
	var out []string
	for _, p := range d.Panels {
		for _, t := range p.Targets {
			out = append(out, t.Expr)
		}
	}
	for _, v := range d.Templating.List {
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			if err := json.Unmarshal(v.Query, &q.Query); err != nil {
				return nil, fmt.Errorf("variable %s: query: %w", v.Name, err)
			}
		}
		if m := labelValuesRE.FindStringSubmatch(q.Query); m != nil {
			out = append(out, m[1])
		} else if q.Query != "" {
			out = append(out, q.Query)
		}
	}
	return out, nil
}

var (
	labelValuesRE = regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`)
	// Parts of PromQL that are not metric names: label matchers, grouping
	// clauses, strings, range and subquery selectors, template variables.
	promqlNoise = []*regexp.Regexp{
		regexp.MustCompile(`"(?:[^"\\]|\\.)*"`),
		regexp.MustCompile(`\{[^}]*\}`),
		regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
		regexp.MustCompile(`\[[^\]]*\]`),
		regexp.MustCompile(`\$\{?\w+\}?`),
	}
	promqlIdent = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	// Functions, aggregations and keywords of PromQL.
	promqlWords = map[string]bool{}
	// Metric families the daemons get from libraries rather than define,
	// each with the identifier whose use in services/ registers them.
	libraryFamilies = map[string]string{
		"process_":     "NewProcessCollector", // client_golang
		"go_":          "NewGoCollector",      // client_golang
		"grpc_server_": "NewServerMetrics",    // go-grpc-middleware's prometheus provider (gantry-store)
	}
	jobSelectorRE = regexp.MustCompile(`job=~?"([^"]+)"`)
)

func init() {
	for _, w := range strings.Fields(`sum min max avg group stddev stdvar count count_values bottomk topk quantile
		abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week days_in_month
		delta deriv exp floor histogram_quantile holt_winters hour idelta increase irate label_join label_replace
		ln log2 log10 minute month predict_linear rate resets round scalar sgn sort sort_desc sqrt time timestamp
		vector year avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time
		stddev_over_time stdvar_over_time last_over_time present_over_time
		by without on ignoring group_left group_right bool offset and or unless atan2 inf nan`) {
		promqlWords[w] = true
	}
}

// metricNames returns the metric names an expression reads.
func metricNames(expr string) []string {
	for _, re := range promqlNoise {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, loc := range promqlIdent.FindAllStringIndex(expr, -1) {
		w := expr[loc[0]:loc[1]]
		// A number such as 1e3 or a duration is no identifier: skip words
		// glued to a digit before them.
		if loc[0] > 0 && (expr[loc[0]-1] >= '0' && expr[loc[0]-1] <= '9' || expr[loc[0]-1] == '.') {
			continue
		}
		if !promqlWords[strings.ToLower(w)] {
			names = append(names, w)
		}
	}
	return names
}

// exportedMetrics collects, from the Go source under services/ and libs/
// (tests excluded), every string literal and the Namespace and Subsystem
// values of metric options, from which the daemons' metric names are
// made, and the identifiers used (to tell which library collectors are
// registered).
type exportedMetrics struct {
	literals map[string]bool
	prefixes map[string]bool
	idents   map[string]bool
}

func scanExportedMetrics(t *testing.T) *exportedMetrics {
	t.Helper()
	m := &exportedMetrics{literals: map[string]bool{}, prefixes: map[string]bool{}, idents: map[string]bool{}}
	fset := token.NewFileSet()
	for _, root := range []string{"../services", "../libs"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			consts := map[string]string{}
			ast.Inspect(f, func(n ast.Node) bool {
				if vs, ok := n.(*ast.ValueSpec); ok {
					for i, name := range vs.Names {
						if i < len(vs.Values) {
							if s, ok := stringLit(vs.Values[i]); ok {
								consts[name.Name] = s
							}
						}
					}
				}
				return true
			})
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if s, ok := stringLit(n); ok {
						m.literals[s] = true
					}
				case *ast.Ident:
					m.idents[n.Name] = true
				case *ast.SelectorExpr:
					m.idents[n.Sel.Name] = true
				case *ast.KeyValueExpr:
					key, ok := n.Key.(*ast.Ident)
					if !ok || (key.Name != "Namespace" && key.Name != "Subsystem") {
						return true
					}
					if s, ok := stringLit(n.Value); ok {
						m.prefixes[s] = true
					} else if id, ok := n.Value.(*ast.Ident); ok && consts[id.Name] != "" {
						m.prefixes[consts[id.Name]] = true
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil && s != ""
}

// exports reports whether some daemon exports the metric name: a string
// literal of its own, or namespace and/or subsystem values joined to a
// name literal, as prometheus.BuildFQName joins them; histogram series
// stand for their histogram.
func (m *exportedMetrics) exports(name string) bool {
	if m.made(name) {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && m.made(base) {
			return true
		}
	}
	return false
}

func (m *exportedMetrics) made(name string) bool {
	if m.literals[name] {
		return true
	}
	for p := range m.prefixes {
		rest, ok := strings.CutPrefix(name, p+"_")
		if !ok {
			continue
		}
		if m.literals[rest] {
			return true
		}
		for q := range m.prefixes {
			if r, ok := strings.CutPrefix(rest, q+"_"); ok && m.literals[r] {
				return true
			}
		}
	}
	return false
}

func TestDeployDashboards(t *testing.T) {
	exported := scanExportedMetrics(t)
	jobs := prometheusJobs(t)
	t.Run("the metric check can fail", func(t *testing.T) {
		for _, name := range []string{"etcd_server_no_such_metric", "workqueue_no_such_total", "apiserver_request_total_typo"} {
			if exported.exports(name) {
				t.Errorf("%s counts as exported", name)
			}
		}
		for _, name := range []string{"workqueue_depth", "kubeproxy_sync_proxy_rules_duration_seconds_bucket", "node_collector_zone_size", "etcd_server_has_leader"} {
			if !exported.exports(name) {
				t.Errorf("%s does not count as exported", name)
			}
		}
	})
	uids := map[string]string{}
	for _, path := range deployFiles(t, "grafana", ".json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var d dashboard
			dec := json.NewDecoder(bytes.NewReader(data))
			if err := dec.Decode(&d); err != nil {
				t.Fatal(err)
			}
			if d.UID == "" || d.Title == "" {
				t.Errorf("uid %q, title %q: both are needed", d.UID, d.Title)
			}
			if other, ok := uids[d.UID]; ok {
				t.Errorf("uid %q is also %s's", d.UID, other)
			}
			uids[d.UID] = path
			if d.SchemaVersion < 36 {
				t.Errorf("schemaVersion %d is older than Grafana 10's", d.SchemaVersion)
			}
			if !slices.ContainsFunc(d.Inputs, func(in dashboardInput) bool {
				return in.Name == "DS_PROMETHEUS" && in.Type == "datasource" && in.PluginID == "prometheus"
			}) {
				t.Error("no DS_PROMETHEUS datasource input")
			}
			if n := len(d.Panels); n < 6 || n > 12 {
				t.Errorf("%d panels, want 6 to 12", n)
			}
			ids := map[int]bool{}
			for _, p := range d.Panels {
				if ids[p.ID] {
					t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
				}
				ids[p.ID] = true
				if p.Datasource.UID != "${DS_PROMETHEUS}" || p.Datasource.Type != "prometheus" {
					t.Errorf("panel %q: datasource %+v, want the DS_PROMETHEUS input", p.Title, p.Datasource)
				}
				if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
					t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
			}
			queries, err := d.queries()
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range queries {
				for _, m := range jobSelectorRE.FindAllStringSubmatch(q, -1) {
					if re, err := regexp.Compile("^(?:" + m[1] + ")$"); err != nil || !slices.ContainsFunc(jobs, re.MatchString) {
						t.Errorf("query %q selects job %q, which prometheus.yml does not scrape", q, m[1])
					}
				}
				names := metricNames(q)
				if len(names) == 0 {
					t.Errorf("query %q reads no metric", q)
				}
				for _, name := range names {
					if name == "up" { // Prometheus' own, per target
						continue
					}
					if family, ident := libraryFamily(name); family != "" {
						if !exported.idents[ident] {
							t.Errorf("query %q: %s comes from %s collectors, which no daemon registers (%s)", q, name, family, ident)
						}
						continue
					}
					if !exported.exports(name) {
						t.Errorf("query %q: no daemon exports %s", q, name)
					}
				}
			}
		})
	}
}

func libraryFamily(name string) (string, string) {
	for prefix, ident := range libraryFamilies {
		if strings.HasPrefix(name, prefix) {
			return prefix, ident
		}
	}
	return "", ""
}

// prometheusJobs returns the job names of deploy/prometheus/prometheus.yml
// after checking that every daemon has one and that the file_sd files it
// reads are shipped.
func prometheusJobs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			Scheme        string `json:"scheme"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
			FileSDConfigs []struct {
				Files []string `json:"files"`
			} `json:"file_sd_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for _, sc := range cfg.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
		for _, fsd := range sc.FileSDConfigs {
			for _, f := range fsd.Files {
				shipped := filepath.Join(deployDir, "prometheus", "file_sd", filepath.Base(f))
				data, err := os.ReadFile(shipped)
				if err != nil {
					t.Errorf("job %s reads %s; no example %s: %v", sc.JobName, f, shipped, err)
					continue
				}
				var groups []struct {
					Targets []string          `json:"targets"`
					Labels  map[string]string `json:"labels"`
				}
				if err := yaml.UnmarshalStrict(data, &groups); err != nil || len(groups) == 0 {
					t.Errorf("%s: %d target groups, %v", shipped, len(groups), err)
				}
			}
		}
	}
	for _, d := range daemons {
		if !slices.Contains(jobs, "gantry-"+d) {
			t.Errorf("prometheus.yml has no job gantry-%s", d)
		}
	}
	return jobs
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// readEnvFile reads a systemd EnvironmentFile: VAR=value lines, # and ;
// comments, values in double quotes with backslash-newline continuations.
func readEnvFile(data []byte) (map[string]string, error) {
	vars := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + lines[i]
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !envNameRE.MatchString(name) {
			return nil, fmt.Errorf("line %d: not VAR=value", i+1)
		}
		if strings.HasPrefix(value, `"`) {
			if len(value) < 2 || !strings.HasSuffix(value, `"`) || strings.Count(value, `"`) != 2 {
				return nil, fmt.Errorf("line %d: %s: unbalanced or nested quotes", i+1, name)
			}
			value = value[1 : len(value)-1]
		}
		vars[name] = value
	}
	return vars, nil
}

// unitFile is a systemd unit: section → key → values (a key may repeat).
type unitFile map[string]map[string][]string

func readUnit(data []byte) unitFile {
	u := unitFile{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, _ := strings.Cut(line, "=")
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unitFile) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

func TestDeploySystemdUnits(t *testing.T) {
	for _, d := range daemons {
		t.Run(d, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(deployDir, "systemd", "gantry-"+d+".service"))
			if err != nil {
				t.Fatal(err)
			}
			u := readUnit(data)
			want := map[string]string{
				"ExecStart":       fmt.Sprintf("/usr/local/bin/gantry-%s $GANTRY_%s_ARGS", d, strings.ToUpper(d)),
				"EnvironmentFile": "-/etc/gantry/" + d + ".env",
				"Restart":         "on-failure",
			}
			if d == "agent" || d == "proxy" {
				want["Restart"] = "always"
			}
			if d == "agent" {
				want["KillMode"], want["Delegate"] = "process", "yes"
			}
			for k, v := range want {
				if got := u.get("Service", k); got != v {
					t.Errorf("[Service] %s=%q, want %q", k, got, v)
				}
			}
			for _, k := range []string{"RestartSec", "LimitNOFILE", "TasksMax"} {
				if u.get("Service", k) == "" {
					t.Errorf("[Service] has no %s", k)
				}
			}
			if d == "agent" && !strings.Contains(u.get("Unit", "After"), "containerd.service") {
				t.Errorf("[Unit] After=%q: the agent starts after containerd.service", u.get("Unit", "After"))
			}
			if u.get("Install", "WantedBy") != "multi-user.target" {
				t.Errorf("[Install] WantedBy=%q", u.get("Install", "WantedBy"))
			}
			// A Type=notify unit whose daemon never sends READY=1 would
			// time out at every start.
			switch typ := u.get("Service", "Type"); typ {
			case "notify":
				if !sourceContains(t, filepath.Join("..", "services", d), "sdnotify.Ready()") {
					t.Errorf("Type=notify, but services/%s never calls sdnotify.Ready()", d)
				}
			case "exec", "simple":
			default:
				t.Errorf("Type=%q", typ)
			}
		})
	}
	t.Run("systemd-analyze verify", verifyUnits)
}

// sourceContains reports whether a non-test Go file under dir contains s.
func sourceContains(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || found || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := os.ReadFile(path)
		found = err == nil && bytes.Contains(data, []byte(s))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// verifyUnits runs systemd-analyze verify on the units of deploy/systemd,
// with stand-in executables for their commands.
func verifyUnits(t *testing.T) {
	binDir := t.TempDir()
	var units []string
	for _, d := range daemons {
		if err := os.WriteFile(filepath.Join(binDir, "gantry-"+d), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		units = append(units, filepath.Join(deployDir, "systemd", "gantry-"+d+".service"))
	}
	// gantry.service runs the gantry command (hosts of gantry init/join).
	if err := os.WriteFile(filepath.Join(binDir, "gantry"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	units = append(units, filepath.Join(deployDir, "systemd", "gantry.service"))
	verifyUnitFiles(t, units, binDir)
}

// TestDeployHostUnit: gantry.service brings a gantry init/join host back
// at boot with gantry up and stops it with gantry down.
func TestDeployHostUnit(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "systemd", "gantry.service"))
	if err != nil {
		t.Fatal(err)
	}
	u := readUnit(data)
	for _, kv := range [][3]string{
		{"Unit", "ConditionPathExists", "/var/lib/gantry/cluster.json"},
		{"Service", "Type", "oneshot"},
		{"Service", "RemainAfterExit", "yes"},
		{"Service", "ExecStart", "/usr/local/bin/gantry up --timeout 5m"},
		{"Service", "ExecStop", "/usr/local/bin/gantry down"},
		{"Install", "WantedBy", "multi-user.target"},
	} {
		if got := u.get(kv[0], kv[1]); got != kv[2] {
			t.Errorf("[%s] %s=%q, want %q", kv[0], kv[1], got, kv[2])
		}
	}
}

// verifyUnitFiles runs systemd-analyze verify on copies of the units whose
// ExecStart names the executables in binDir instead of /usr/local/bin
// (verify checks that the command exists), and fails on anything it
// reports.
func verifyUnitFiles(t *testing.T, units []string, binDir string) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	var copies []string
	for _, unit := range units {
		data, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		c := filepath.Join(dir, filepath.Base(unit))
		data = bytes.ReplaceAll(data, []byte("/usr/local/bin/"), []byte(binDir+"/"))
		if err := os.WriteFile(c, data, 0o644); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, c)
	}
	out, err := exec.Command(tool, append([]string{"verify"}, copies...)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestDeployEnvFiles(t *testing.T) {
	defined := map[string]string{}
	for _, path := range deployFiles(t, "config", ".env") {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			vars, err := readEnvFile(data)
			if err != nil {
				t.Fatal(err)
			}
			daemon := strings.TrimSuffix(filepath.Base(path), ".env")
			if !slices.Contains(daemons, daemon) {
				t.Fatalf("%s is no daemon's env file", path)
			}
			name := "GANTRY_" + strings.ToUpper(daemon) + "_ARGS"
			args, ok := vars[name]
			if !ok || len(vars) != 1 {
				t.Fatalf("defines %v, want just %s", slices.Sorted(maps.Keys(vars)), name)
			}
			defined[daemon] = path
			known := daemonFlags(t, daemon)
			for _, word := range strings.Fields(args) {
				if !strings.HasPrefix(word, "-") {
					continue
				}
				flag, _, _ := strings.Cut(strings.TrimLeft(word, "-"), "=")
				if !known[flag] {
					t.Errorf("gantry-%s has no flag -%s", daemon, flag)
				}
			}
		})
	}
	for _, d := range daemons {
		if defined[d] == "" {
			t.Errorf("no example env file for gantry-%s", d)
		}
	}
}

// daemonFlags returns the flags gantry-<daemon> --help lists.
func daemonFlags(t *testing.T, daemon string) map[string]bool {
	t.Helper()
	bin, err := cluster.Binary(daemon, "gantry-"+daemon)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, "--help").CombinedOutput() // exits 0 or 2, by daemon
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+--?([a-z0-9][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if len(flags) < 5 {
		t.Fatalf("gantry-%s --help lists %d flags:\n%s", daemon, len(flags), out)
	}
	return flags
}

// installBinaries are the executables deploy/install.sh installs, each
// with the service that builds it.
var installBinaries = map[string]string{
	"gantry": "cli", "gantry-logger": "agent",
	"gantry-store": "store", "gantry-apiserver": "apiserver", "gantry-scheduler": "scheduler",
	"gantry-controllers": "controllers", "gantry-agent": "agent", "gantry-proxy": "proxy",
	"gantry-ingress": "ingress",
}

// installSourceDir returns a directory holding every binary install.sh
// installs: copies of the repository's bin/ when it has them all (and
// $GANTRY_BIN_DIR is unset), so that a `make build` running meanwhile does
// not change them under the test; else what cluster.Binary gives
// ($GANTRY_BIN_DIR, or binaries built once per test process).
func installSourceDir(t *testing.T) string {
	t.Helper()
	names := slices.Sorted(maps.Keys(installBinaries))
	if os.Getenv("GANTRY_BIN_DIR") == "" {
		repoBin, err := filepath.Abs(filepath.Join("..", "bin"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(names, func(n string) bool {
			_, err := os.Stat(filepath.Join(repoBin, n))
			return err != nil
		}) {
			t.Logf("installing copies of the binaries of %s", repoBin)
			dir := t.TempDir()
			for _, n := range names {
				copyFile(t, filepath.Join(repoBin, n), filepath.Join(dir, n), 0o755)
			}
			return dir
		}
	}
	dir := ""
	for _, n := range names {
		bin, err := cluster.Binary(installBinaries[n], n)
		if err != nil {
			t.Fatal(err)
		}
		if dir != "" && filepath.Dir(bin) != dir {
			t.Fatalf("%s is in %s, the other binaries in %s", n, filepath.Dir(bin), dir)
		}
		dir = filepath.Dir(bin)
	}
	t.Logf("installing the binaries of %s", dir)
	return dir
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// fileDigest returns the SHA-256 of a file's content.
func fileDigest(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// treeEntry is what a second run or a dry run must leave as it was: a
// file's type and mode, size, modification time and inode (a file
// rewritten with the same content gets a new inode or time; a temporary
// file created and removed changes its directory's time).
type treeEntry struct {
	mode  fs.FileMode
	size  int64
	mtime time.Time
	ino   uint64
}

func (e treeEntry) String() string {
	return fmt.Sprintf("%v, %d bytes, mtime %s, inode %d", e.mode, e.size, e.mtime.Format(time.RFC3339Nano), e.ino)
}

func snapshotTree(t *testing.T, root string) map[string]treeEntry {
	t.Helper()
	tree := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		tree[rel] = treeEntry{mode: info.Mode(), size: info.Size(), mtime: info.ModTime(), ino: info.Sys().(*syscall.Stat_t).Ino}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// diffTrees describes how two snapshots differ.
func diffTrees(before, after map[string]treeEntry) []string {
	var diffs []string
	for _, p := range slices.Sorted(maps.Keys(before)) {
		if a, ok := after[p]; !ok {
			diffs = append(diffs, "removed "+p)
		} else if a != before[p] {
			diffs = append(diffs, fmt.Sprintf("changed %s: %v -> %v", p, before[p], a))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "added "+p)
		}
	}
	return diffs
}

// runInstallScript runs deploy/install.sh with args; DESTDIR is not passed
// on, so that only --prefix chooses the root.
func runInstallScript(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join(deployDir, "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "DESTDIR=") })
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestDeployInstallScript runs deploy/install.sh for each role into a
// temporary root (--prefix) with real binaries and checks what it
// installs; that a second run changes nothing and keeps the operator's env
// file; that --dry-run changes nothing; that a changed binary is replaced
// without a temporary file left behind; and that bad input fails with a
// message.
func TestDeployInstallScript(t *testing.T) {
	info, err := os.Stat(filepath.Join(deployDir, "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o111 != 0o111 {
		t.Fatalf("deploy/install.sh has mode %v: not executable", info.Mode().Perm())
	}
	t.Run("shellcheck", func(t *testing.T) {
		tool, err := exec.LookPath("shellcheck")
		if err != nil {
			t.Fatal("shellcheck is not installed (make deps installs it)")
		}
		if out, err := exec.Command(tool, filepath.Join(deployDir, "install.sh")).CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
	})
	t.Run("help", func(t *testing.T) {
		stdout, stderr, err := runInstallScript(t, "--help")
		if err != nil || !strings.Contains(stdout, "--role control-plane|worker") {
			t.Errorf("--help: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
	})
	t.Run("bad input", testInstallScriptBadInput)
	t.Run("init and join dry run", func(t *testing.T) {
		// Into / but --dry-run: nothing is installed or run; the gantry
		// command line is printed as it would run.
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--role", "control-plane", "--init", "10.0.0.11"}, "would run: /usr/local/bin/gantry init --advertise-address 10.0.0.11\n"},
			{[]string{"--role", "worker", "--join", "--server https://10.0.0.11:6443 --token abcdef.0123456789abcdef"},
				"would run: /usr/local/bin/gantry join --server https://10.0.0.11:6443 --token abcdef.0123456789abcdef\n"},
		} {
			args := append([]string{"--prefix", "/", "--bin-dir", installSourceDir(t), "--dry-run"}, tc.args...)
			stdout, stderr, err := runInstallScript(t, args...)
			if err != nil || !strings.Contains(stdout, tc.want) || !strings.Contains(stdout, "gantry up brings them back") ||
				!strings.Contains(stdout, "would install /etc/systemd/system/gantry.service\n") {
				t.Errorf("install.sh %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
			}
		}
	})
	t.Run("default bin dir", func(t *testing.T) {
		// Without --bin-dir the binaries come from the repository's bin/:
		// a dry run names it, or says that make build fills it.
		repoBin, err := filepath.EvalSymlinks(filepath.Join("..", "bin"))
		if err != nil {
			repoBin = "bin/"
		}
		repoBin, _ = filepath.Abs(repoBin)
		stdout, stderr, err := runInstallScript(t, "--role", "worker", "--prefix", t.TempDir(), "--dry-run")
		if err == nil && !strings.Contains(stdout, "from "+repoBin+"\n") {
			t.Errorf("the dry run does not install from %s:\n%s", repoBin, stdout)
		}
		if err != nil && !strings.Contains(stderr, "run make build, or pass --bin-dir") {
			t.Errorf("without bin/: %v, stderr %q does not say how to get the binaries", err, stderr)
		}
	})

	src := installSourceDir(t)
	t.Run("worker", func(t *testing.T) {
		testInstallRole(t, src, "worker", []string{"--with-ingress"}, []string{"agent", "proxy", "ingress"},
			"systemctl enable --now gantry-agent gantry-proxy gantry-ingress\n")
	})
	t.Run("control-plane", func(t *testing.T) {
		testInstallRole(t, src, "control-plane", nil, []string{"store", "apiserver", "scheduler", "controllers", "agent", "proxy"},
			"systemctl enable --now gantry-apiserver gantry-scheduler gantry-controllers\n")
	})
}

func testInstallRole(t *testing.T, src, role string, extra, wantDaemons []string, wantCommand string) {
	root := t.TempDir()
	args := append([]string{"--role", role, "--bin-dir", src, "--prefix", root}, extra...)
	run := func(t *testing.T, more ...string) string {
		t.Helper()
		stdout, stderr, err := runInstallScript(t, append(slices.Clone(args), more...)...)
		if err != nil || stderr != "" {
			t.Fatalf("install.sh %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(append(slices.Clone(args), more...), " "), err, stdout, stderr)
		}
		return stdout
	}
	binDir := filepath.Join(root, "usr", "local", "bin")
	unitDir := filepath.Join(root, "etc", "systemd", "system")
	envDir := filepath.Join(root, "etc", "gantry")

	empty := snapshotTree(t, root)
	out := run(t, "--dry-run")
	if diffs := diffTrees(empty, snapshotTree(t, root)); len(diffs) > 0 {
		t.Fatalf("--dry-run into an empty root changed it:\n%s", strings.Join(diffs, "\n"))
	}
	if !strings.Contains(out, "would install "+filepath.Join(binDir, "gantry")+"\n") {
		t.Errorf("--dry-run does not say what it would install:\n%s", out)
	}

	out = run(t)
	for _, want := range []string{"docs/install.md", "gantry join", "systemctl daemon-reload\n", wantCommand} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not say %q:\n%s", want, out)
		}
	}
	wantBins := []string{"gantry"}
	for _, d := range wantDaemons {
		wantBins = append(wantBins, "gantry-"+d)
		if d == "agent" {
			wantBins = append(wantBins, "gantry-logger")
		}
	}
	checkDirHolds(t, binDir, wantBins)
	for _, b := range wantBins {
		path := filepath.Join(binDir, b)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != 0o755 {
			t.Errorf("%s: mode %v, want 0755", path, info.Mode())
		}
		if fileDigest(t, path) != fileDigest(t, filepath.Join(src, b)) {
			t.Errorf("%s differs from %s", path, filepath.Join(src, b))
		}
	}
	var units, envs []string
	for _, d := range wantDaemons {
		units = append(units, "gantry-"+d+".service")
		envs = append(envs, d+".env")
	}
	checkDirHolds(t, unitDir, units)
	checkDirHolds(t, envDir, append(slices.Clone(envs), "pki"))
	for _, d := range wantDaemons {
		unit := filepath.Join(unitDir, "gantry-"+d+".service")
		want, err := os.ReadFile(filepath.Join(deployDir, "systemd", "gantry-"+d+".service"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(unit)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not deploy/systemd's (%v)", unit, err)
		}
		// The directories the unit expects exist, with its mode.
		u := readUnit(got)
		if sd := u.get("Service", "StateDirectory"); sd != "" {
			wantMode := fs.ModeDir | 0o755
			if m := u.get("Service", "StateDirectoryMode"); m != "" {
				n, err := strconv.ParseUint(m, 8, 32)
				if err != nil {
					t.Fatalf("%s: StateDirectoryMode=%s: %v", unit, m, err)
				}
				wantMode = fs.ModeDir | fs.FileMode(n)
			}
			path := filepath.Join(root, "var", "lib", sd)
			if info, err := os.Stat(path); err != nil || info.Mode() != wantMode {
				t.Errorf("StateDirectory=%s of %s: %v %v, want a directory of mode %v", sd, unit, info, err, wantMode)
			}
		}
		example := filepath.Join(deployDir, "config", "control-plane", d+".env")
		if !slices.Contains([]string{"store", "apiserver", "scheduler", "controllers"}, d) {
			example = filepath.Join(deployDir, "config", "worker", d+".env")
		}
		want, err = os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(envDir, d+".env")); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not %s (%v)", filepath.Join(envDir, d+".env"), example, err)
		}
	}
	if strings.Contains(out, "/etc/gantry/pki/store") != slices.Contains(wantDaemons, "store") {
		t.Errorf("/etc/gantry/pki/store is made only for the store:\n%s", out)
	}

	t.Run("systemd-analyze verify", func(t *testing.T) {
		var paths []string
		for _, u := range units {
			paths = append(paths, filepath.Join(unitDir, u))
		}
		verifyUnitFiles(t, paths, binDir)
	})

	// The operator writes an env file; a second run changes nothing.
	operatorEnv := filepath.Join(envDir, wantDaemons[0]+".env")
	operatorConfig := []byte("# this host's\nGANTRY_" + strings.ToUpper(wantDaemons[0]) + "_ARGS=\"--help\"\n")
	if err := os.WriteFile(operatorEnv, operatorConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshotTree(t, root)
	out = run(t)
	if diffs := diffTrees(before, snapshotTree(t, root)); len(diffs) > 0 {
		t.Errorf("a second run changed the root:\n%s\noutput:\n%s", strings.Join(diffs, "\n"), out)
	}
	if got, _ := os.ReadFile(operatorEnv); !bytes.Equal(got, operatorConfig) {
		t.Errorf("the second run overwrote %s:\n%s", operatorEnv, got)
	}
	if !strings.Contains(out, "kept "+operatorEnv+" (exists") || strings.Contains(out, "  install ") || strings.Contains(out, "  update ") {
		t.Errorf("the second run's output does not say that everything was kept:\n%s", out)
	}

	// A changed binary and a removed unit: --dry-run says what it would
	// do and does nothing; a run puts them back.
	stale := filepath.Join(binDir, "gantry")
	if err := os.WriteFile(stale, []byte("#!/bin/sh\necho stale\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	removed := filepath.Join(unitDir, units[0])
	if err := os.Remove(removed); err != nil {
		t.Fatal(err)
	}
	before = snapshotTree(t, root)
	out = run(t, "--dry-run")
	if diffs := diffTrees(before, snapshotTree(t, root)); len(diffs) > 0 {
		t.Errorf("--dry-run changed the root:\n%s", strings.Join(diffs, "\n"))
	}
	for _, want := range []string{"would update " + stale + "\n", "would install " + removed + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("--dry-run does not say %q:\n%s", want, out)
		}
	}
	out = run(t)
	if fileDigest(t, stale) != fileDigest(t, filepath.Join(src, "gantry")) {
		t.Errorf("%s was not replaced:\n%s", stale, out)
	}
	if _, err := os.Stat(removed); err != nil {
		t.Errorf("%s was not installed again: %v\n%s", removed, err, out)
	}
	checkDirHolds(t, binDir, wantBins) // no temporary file left
	checkDirHolds(t, unitDir, units)
}

// checkDirHolds checks that dir holds exactly the entries names.
func checkDirHolds(t *testing.T, dir string, names []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := slices.Sorted(slices.Values(names)); !slices.Equal(got, want) {
		t.Errorf("%s holds %v, want %v", dir, got, want)
	}
}

func testInstallScriptBadInput(t *testing.T) {
	emptyBin := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bogus role", []string{"--role", "bogus"}, "--role bogus: want control-plane or worker"},
		{"no role", nil, "--role is required"},
		{"role without a value", []string{"--role"}, "--role needs a value"},
		{"unknown flag", []string{"--role", "worker", "--frobnicate"}, "unknown argument: --frobnicate"},
		{"missing bin dir", []string{"--role", "worker", "--bin-dir", filepath.Join(emptyBin, "nonexistent")}, "nonexistent: no such directory"},
		{"bin dir without the binaries", []string{"--role", "worker", "--bin-dir", emptyBin}, "missing or not executable: gantry gantry-agent gantry-logger gantry-proxy"},
		{"missing prefix", []string{"--role", "worker", "--prefix", filepath.Join(emptyBin, "nonexistent")}, "nonexistent: no such directory"},
		{"start into a prefix", []string{"--role", "worker", "--start"}, "--start installs into / only"},
		{"install-deps into a prefix", []string{"--role", "worker", "--install-deps"}, "--install-deps installs into / only"},
		{"init into a prefix", []string{"--role", "control-plane", "--init", "10.0.0.11"}, "not with --prefix"},
		{"join into a prefix", []string{"--role", "worker", "--join", "--server https://10.0.0.11:6443"}, "not with --prefix"},
		{"init on a worker", []string{"--prefix", "/", "--role", "worker", "--init", "10.0.0.11"}, "--init is for --role control-plane"},
		{"init and join", []string{"--prefix", "/", "--role", "control-plane", "--init", "10.0.0.11", "--join", "x"}, "one host does one of them"},
		{"init with start", []string{"--prefix", "/", "--role", "control-plane", "--init", "10.0.0.11", "--start"}, "not with --start"},
		{"init without a value", []string{"--role", "control-plane", "--init"}, "--init needs a value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			// A later --prefix or --bin-dir in tc.args wins. Whatever
			// bin/ holds, the input is rejected first.
			args := append([]string{"--prefix", root, "--bin-dir", emptyBin}, tc.args...)
			stdout, stderr, err := runInstallScript(t, args...)
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
				t.Fatalf("install.sh %s: err %v, want a non-zero exit\nstdout:\n%s", strings.Join(args, " "), err, stdout)
			}
			if !strings.HasPrefix(stderr, "install.sh: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("install.sh %s: stderr %q does not say %q", strings.Join(args, " "), stderr, tc.want)
			}
			if entries, _ := os.ReadDir(root); len(entries) > 0 {
				t.Errorf("a failed run left %d entries in the root", len(entries))
			}
		})
	}
}

// TestDaemonsNotifyServiceManager runs gantry-store and gantry-apiserver
// as systemd runs a Type=notify unit, with $NOTIFY_SOCKET naming a unix
// datagram socket, and checks that READY=1 comes from the daemon's own
// process once it serves, and STOPPING=1 when SIGTERM stops it.
func TestDaemonsNotifyServiceManager(t *testing.T) {
	t.Run("store", testStoreNotifies)
	t.Run("apiserver", testAPIServerNotifies)
}

// notifySocket is the service manager's end of the protocol.
type notifySocket struct {
	name string
	conn *net.UnixConn
}

// listenNotify binds an abstract socket that receives the senders'
// credentials, as systemd's does, and points $NOTIFY_SOCKET at it for the
// processes the test starts from now on.
func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	name := "@gantry-notify-test-" + cluster.RandomHex(8)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		t.Fatalf("SO_PASSCRED: %v %v", err, serr)
	}
	t.Setenv("NOTIFY_SOCKET", name)
	return &notifySocket{name: name, conn: conn}
}

// daemonProc is a daemon process the test started.
type daemonProc struct {
	name    string
	pid     func() int
	crashed func() error // why it exited on its own, if it did
	logTail func(n int) string
}

// expect waits for the next notification and checks that process p sent
// want. A process that exits first fails the test at once.
func (s *notifySocket) expect(t *testing.T, p daemonProc, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	buf, oob := make([]byte, 4096), make([]byte, 1024)
	for {
		if err := p.crashed(); err != nil {
			t.Fatalf("waiting for %q: %v\n%s", want, err, p.logTail(30))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q from %s within %v\n%s", want, p.name, timeout, p.logTail(30))
		}
		// Short reads, so that a crash is noticed without waiting out the
		// whole timeout.
		if err := s.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			t.Fatalf("credentials of %q: %d control messages, %v", buf[:n], len(msgs), err)
		}
		cred, err := syscall.ParseUnixCredentials(&msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != want || int(cred.Pid) != p.pid() {
			t.Fatalf("received %q from pid %d, want %q from %s (pid %d)", got, cred.Pid, want, p.name, p.pid())
		}
		return
	}
}

func testStoreNotifies(t *testing.T) {
	bin, err := cluster.Binary("store", "gantry-store")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := cluster.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	listen := []string{
		"--data-dir", filepath.Join(dir, "data"), "--listen-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--listen-metrics-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
	}
	first := append(slices.Clone(listen), "--name", "notify", "--advertise-client-urls", clientURL,
		"--initial-advertise-peer-urls", peerURL, "--initial-cluster", "notify="+peerURL, "--initial-cluster-state", "new")
	sock := listenNotify(t)
	p := &cluster.Process{Name: "gantry-store", LogPath: filepath.Join(dir, "store.log")}
	t.Cleanup(func() { _ = p.Kill() })
	proc := daemonProc{name: p.Name, pid: p.PID, crashed: p.Crashed, logTail: p.LogTail}
	// The first start joins (bootstraps) the cluster; the second loads
	// the member from its data directory.
	for _, args := range [][]string{first, listen} {
		if err := p.Start(bin, args); err != nil {
			t.Fatal(err)
		}
		sock.expect(t, proc, "READY=1", 60*time.Second)
		// Ready means serving: a write goes through the client URL.
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{clientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		ctx := testContext(t, 10*time.Second)
		_, err = cli.Put(ctx, "/notify", "ok")
		cli.Close()
		if err != nil {
			t.Fatalf("write after READY=1: %v", err)
		}
		if err := p.Stop(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		sock.expect(t, proc, "STOPPING=1", time.Second)
	}
}

func testAPIServerNotifies(t *testing.T) {
	cp := controlplane.Start(t, controlplane.Options{})
	s := cp.Servers[0]
	// Started again with $NOTIFY_SOCKET set, as systemd would start it.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	sock := listenNotify(t)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	proc := daemonProc{name: "gantry-apiserver", pid: s.PID, crashed: func() error { return nil }, logTail: s.LogTail}
	sock.expect(t, proc, "READY=1", 60*time.Second)
	// Ready means /readyz passes.
	client, err := cp.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	client.Timeout = 10 * time.Second
	resp, err := client.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after READY=1: %s %s", resp.Status, body)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	sock.expect(t, proc, "STOPPING=1", time.Second)
}
