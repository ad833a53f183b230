package extender

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// MaxResponseBytes bounds an extender's reply; a longer one is an error.
const MaxResponseBytes = 10 << 20

// Errors, wrapped in *Error.
var (
	// ErrReported is an error the extender reported in its reply's Error
	// field.
	ErrReported = errors.New("the extender reported an error")
	// ErrResponseTooLarge is a reply over MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrUnknownNode is a filter reply naming a node it was not sent.
	ErrUnknownNode = errors.New("unknown node")
)

// Error is what a failed call returns: the extender, the verb and why.
type Error struct {
	// URL is the verb's URL (urlPrefix/verb).
	URL  string
	Verb string
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("extender %s at %s: %v", e.Verb, e.URL, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Extender calls one HTTP extender. It is safe for concurrent use.
type Extender struct {
	cfg     Config
	client  *http.Client
	managed map[string]bool
	// maxResponse is MaxResponseBytes (smaller in tests).
	maxResponse int64
}

// New checks cfg and returns a client for it. It reads the TLS files
// now, so a certificate rotated on disk needs a new Extender.
func New(cfg Config) (*Extender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HTTPTimeout.Duration == 0 {
		cfg.HTTPTimeout.Duration = DefaultHTTPTimeout
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if strings.HasPrefix(cfg.URLPrefix, "https:") {
		tlsConfig, err := buildTLSConfig(cfg.TLSConfig)
		if err != nil {
			return nil, fmt.Errorf("extender %q: tlsConfig: %w", cfg.URLPrefix, err)
		}
		transport.TLSClientConfig = tlsConfig
	}
	e := &Extender{
		cfg:         cfg,
		client:      &http.Client{Transport: transport, Timeout: cfg.HTTPTimeout.Duration},
		managed:     map[string]bool{},
		maxResponse: MaxResponseBytes,
	}
	for _, r := range cfg.ManagedResources {
		e.managed[r.Name] = true
	}
	return e, nil
}

func buildTLSConfig(c *TLSConfig) (*tls.Config, error) {
	out := &tls.Config{MinVersion: tls.VersionTLS12}
	if c == nil {
		return out, nil
	}
	out.InsecureSkipVerify = c.Insecure
	out.ServerName = c.ServerName
	caPEM, err := dataOrFile(c.CAData, c.CAFile)
	if err != nil {
		return nil, err
	}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("no PEM certificate found in the CA")
		}
		out.RootCAs = pool
	}
	certPEM, err := dataOrFile(c.CertData, c.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := dataOrFile(c.KeyData, c.KeyFile)
	if err != nil {
		return nil, err
	}
	if len(certPEM) > 0 || len(keyPEM) > 0 {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		out.Certificates = []tls.Certificate{cert}
	}
	return out, nil
}

func dataOrFile(data []byte, file string) ([]byte, error) {
	if len(data) > 0 || file == "" {
		return data, nil
	}
	return os.ReadFile(file)
}

// Name identifies the extender: its urlPrefix, as in kube-scheduler.
func (e *Extender) Name() string { return e.cfg.URLPrefix }

// IsIgnorable tells whether scheduling goes on without the extender when
// it fails.
func (e *Extender) IsIgnorable() bool { return e.cfg.Ignorable }

// IsBinder tells whether the extender binds pods (a bindVerb is set).
func (e *Extender) IsBinder() bool { return e.cfg.BindVerb != "" }

// IsInterested tells whether the extender wants to see pod: always when
// it manages no resources, otherwise when a container or init container of
// the pod requests or limits one of them.
func (e *Extender) IsInterested(pod *corev1.Pod) bool {
	if len(e.managed) == 0 {
		return true
	}
	return e.usesManaged(pod.Spec.Containers) || e.usesManaged(pod.Spec.InitContainers)
}

func (e *Extender) usesManaged(cs []corev1.Container) bool {
	for i := range cs {
		for name := range cs[i].Resources.Requests {
			if e.managed[string(name)] {
				return true
			}
		}
		for name := range cs[i].Resources.Limits {
			if e.managed[string(name)] {
				return true
			}
		}
	}
	return false
}

// IgnoredResources are the managed resources marked ignoredByScheduler:
// the scheduler's resource-fit check leaves them to the extender.
func (e *Extender) IgnoredResources() []corev1.ResourceName {
	var out []corev1.ResourceName
	for _, r := range e.cfg.ManagedResources {
		if r.IgnoredByScheduler {
			out = append(out, corev1.ResourceName(r.Name))
		}
	}
	return out
}

// Filter asks the extender which of nodes fit pod. feasible is a subset
// of nodes (the same pointers, in the extender's order); failed and
// failedAndUnresolvable map the nodes it rejected to its reasons, and a
// node is in at most one of them (unresolvable wins). Without a filterVerb
// every node is feasible. A reply naming a node it was not sent is an
// error (ErrUnknownNode), and so is a reply with its Error field set
// (ErrReported).
func (e *Extender) Filter(ctx context.Context, pod *corev1.Pod, nodes []*corev1.Node) (feasible []*corev1.Node, failed, failedAndUnresolvable map[string]string, err error) {
	failed, failedAndUnresolvable = map[string]string{}, map[string]string{}
	if e.cfg.FilterVerb == "" {
		return nodes, failed, failedAndUnresolvable, nil
	}
	var res FilterResult
	if err := e.send(ctx, e.cfg.FilterVerb, e.args(pod, nodes), &res); err != nil {
		return nil, nil, nil, err
	}
	if res.Error != "" {
		return nil, nil, nil, e.fail(e.cfg.FilterVerb, fmt.Errorf("%w: %s", ErrReported, res.Error))
	}

	byName := make(map[string]*corev1.Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	var names []string
	switch {
	case res.NodeNames != nil:
		names = *res.NodeNames
	case res.Nodes != nil:
		for i := range res.Nodes.Items {
			names = append(names, res.Nodes.Items[i].Name)
		}
	}
	feasible = make([]*corev1.Node, 0, len(names))
	for _, name := range names {
		n, ok := byName[name]
		if !ok {
			return nil, nil, nil, e.fail(e.cfg.FilterVerb, fmt.Errorf("%w: the reply says %q fits, which was not among the nodes sent", ErrUnknownNode, name))
		}
		feasible = append(feasible, n)
	}
	for name, reason := range res.FailedAndUnresolvableNodes {
		if byName[name] != nil {
			failedAndUnresolvable[name] = reason
		}
	}
	for name, reason := range res.FailedNodes {
		if _, unresolvable := failedAndUnresolvable[name]; !unresolvable && byName[name] != nil {
			failed[name] = reason
		}
	}
	return feasible, failed, failedAndUnresolvable, nil
}

// Prioritize asks the extender to score nodes for pod. scores holds a
// score in [MinExtenderPriority, MaxExtenderPriority] for each node the
// extender scored (out-of-range scores are clamped; hosts it was not sent
// are dropped); weight is the configured weight. Without a prioritizeVerb
// every node scores 0 with weight 0.
//
// The caller adds, to a node's total from the Score plugins (each in
// [framework.MinNodeScore, framework.MaxNodeScore]),
// ScaleScore(score, weight) for every extender, as kube-scheduler does:
// score * weight * (MaxNodeScore / MaxExtenderPriority).
func (e *Extender) Prioritize(ctx context.Context, pod *corev1.Pod, nodes []*corev1.Node) (scores map[string]int64, weight int64, err error) {
	scores = make(map[string]int64, len(nodes))
	if e.cfg.PrioritizeVerb == "" {
		for _, n := range nodes {
			scores[n.Name] = 0
		}
		return scores, 0, nil
	}
	var res HostPriorityList
	if err := e.send(ctx, e.cfg.PrioritizeVerb, e.args(pod, nodes), &res); err != nil {
		return nil, 0, err
	}
	sent := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		sent[n.Name] = true
	}
	for _, hp := range res {
		if sent[hp.Host] {
			scores[hp.Host] = min(max(hp.Score, MinExtenderPriority), MaxExtenderPriority)
		}
	}
	return scores, e.cfg.Weight, nil
}

// ScaleScore turns an extender's score and weight into the scale of the
// Score plugins' scores, as kube-scheduler does.
func ScaleScore(score, weight int64) int64 {
	return score * weight * (framework.MaxNodeScore / MaxExtenderPriority)
}

// Bind asks the extender to bind pod to node. It fails for an extender
// that is not a binder, and with ErrReported when the reply's Error is
// set.
func (e *Extender) Bind(ctx context.Context, pod *corev1.Pod, node string) error {
	if !e.IsBinder() {
		return &Error{URL: e.cfg.URLPrefix, Verb: "bind", Err: errors.New("no bindVerb is configured")}
	}
	args := &BindingArgs{PodName: pod.Name, PodNamespace: pod.Namespace, PodUID: pod.UID, Node: node}
	var res BindingResult
	if err := e.send(ctx, e.cfg.BindVerb, args, &res); err != nil {
		return err
	}
	if res.Error != "" {
		return e.fail(e.cfg.BindVerb, fmt.Errorf("%w: %s", ErrReported, res.Error))
	}
	return nil
}

// args builds the filter and prioritize request: the nodes themselves,
// or only their names for a nodeCacheCapable extender.
func (e *Extender) args(pod *corev1.Pod, nodes []*corev1.Node) *Args {
	if e.cfg.NodeCacheCapable {
		names := make([]string, 0, len(nodes))
		for _, n := range nodes {
			names = append(names, n.Name)
		}
		return &Args{Pod: pod, NodeNames: &names}
	}
	list := &corev1.NodeList{Items: make([]corev1.Node, 0, len(nodes))}
	for _, n := range nodes {
		list.Items = append(list.Items, *n)
	}
	return &Args{Pod: pod, Nodes: list}
}

// send POSTs args as JSON to the verb's URL and decodes the reply into
// result. The call ends at ctx's deadline or the configured httpTimeout,
// whichever comes first.
func (e *Extender) send(ctx context.Context, verb string, args, result any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return e.fail(verb, fmt.Errorf("encoding the request: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.verbURL(verb), bytes.NewReader(body))
	if err != nil {
		return e.fail(verb, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL the message gives already.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return e.fail(verb, err)
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, e.maxResponse+1))
	if err != nil {
		return e.fail(verb, fmt.Errorf("reading the response: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return e.fail(verb, fmt.Errorf("status %s: %s", resp.Status, snippet(data)))
	}
	if int64(len(data)) > e.maxResponse {
		return e.fail(verb, fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, e.maxResponse))
	}
	if err := json.Unmarshal(data, result); err != nil {
		return e.fail(verb, fmt.Errorf("decoding the response: %w", err))
	}
	return nil
}

func (e *Extender) verbURL(verb string) string {
	return strings.TrimRight(e.cfg.URLPrefix, "/") + "/" + verb
}

func (e *Extender) fail(verb string, err error) *Error {
	return &Error{URL: e.verbURL(verb), Verb: verb, Err: err}
}

// snippet is the start of an error response's body, for the message.
func snippet(body []byte) string {
	const limit = 256
	s := strings.TrimSpace(string(body))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
