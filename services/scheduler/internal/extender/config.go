package extender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultHTTPTimeout bounds each call when httpTimeout is not set, as in
// kube-scheduler.
const DefaultHTTPTimeout = 5 * time.Second

// Config is one extender, as in KubeSchedulerConfiguration's extenders
// list (kubescheduler.config.k8s.io/v1 Extender), with the same JSON keys.
type Config struct {
	// URLPrefix is the extender's base URL ("http://127.0.0.1:8888/scheduler");
	// each verb is appended after a slash.
	URLPrefix string `json:"urlPrefix"`
	// FilterVerb, PrioritizeVerb and BindVerb are the verbs the extender
	// serves; an empty one is not called.
	FilterVerb     string `json:"filterVerb,omitempty"`
	PrioritizeVerb string `json:"prioritizeVerb,omitempty"`
	BindVerb       string `json:"bindVerb,omitempty"`
	// PreemptVerb is accepted for compatibility but never called:
	// preemption does not consult extenders in Gantry.
	PreemptVerb string `json:"preemptVerb,omitempty"`
	// Weight multiplies the extender's scores; it must be positive when
	// PrioritizeVerb is set.
	Weight int64 `json:"weight,omitempty"`
	// EnableHTTPS requires an https URLPrefix. Unlike kube-scheduler, which
	// then skips verifying the server's certificate when no CA is given,
	// Gantry verifies it against the system roots; set tlsConfig.insecure
	// to skip the check.
	EnableHTTPS bool `json:"enableHTTPS,omitempty"`
	// TLSConfig is used for an https URLPrefix.
	TLSConfig *TLSConfig `json:"tlsConfig,omitempty"`
	// HTTPTimeout bounds each call ("5s", or nanoseconds as a number);
	// 0 means DefaultHTTPTimeout.
	HTTPTimeout Duration `json:"httpTimeout,omitzero"`
	// NodeCacheCapable extenders keep their own copy of the nodes and are
	// sent node names only.
	NodeCacheCapable bool `json:"nodeCacheCapable,omitempty"`
	// ManagedResources are extended resources the extender manages; when
	// there are some, the extender is only called for pods that request
	// (or limit) one of them.
	ManagedResources []ManagedResource `json:"managedResources,omitempty"`
	// Ignorable extenders do not fail scheduling when they are unreachable
	// or fail: the scheduler goes on without them.
	Ignorable bool `json:"ignorable,omitempty"`
}

// TLSConfig configures the connection to an https extender.
type TLSConfig struct {
	// Insecure skips verifying the server's certificate.
	Insecure bool `json:"insecure,omitempty"`
	// ServerName is checked in the server's certificate instead of the
	// URL's host.
	ServerName string `json:"serverName,omitempty"`
	// CertFile and KeyFile (or CertData and KeyData, PEM) are the client
	// certificate presented to the extender.
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
	// CAFile (or CAData, PEM) holds the CAs that verify the server instead
	// of the system roots.
	CAFile   string `json:"caFile,omitempty"`
	CertData []byte `json:"certData,omitempty"`
	KeyData  []byte `json:"keyData,omitempty"`
	CAData   []byte `json:"caData,omitempty"`
}

// ManagedResource is an extended resource an extender manages.
type ManagedResource struct {
	// Name is the resource ("example.com/foo").
	Name string `json:"name"`
	// IgnoredByScheduler tells the scheduler's resource-fit check to leave
	// the resource to the extender.
	IgnoredByScheduler bool `json:"ignoredByScheduler,omitempty"`
}

// Validate checks the configuration the way kube-scheduler does, and a
// little more (the URL, and that enableHTTPS goes with https).
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.URLPrefix)
	switch {
	case c.URLPrefix == "":
		errs = append(errs, errors.New("urlPrefix is empty"))
	case err != nil:
		errs = append(errs, fmt.Errorf("urlPrefix: %w", err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("urlPrefix %q: scheme must be http or https", c.URLPrefix))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("urlPrefix %q has no host", c.URLPrefix))
	case c.EnableHTTPS && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("urlPrefix %q: enableHTTPS is set but the scheme is not https", c.URLPrefix))
	}
	if c.PrioritizeVerb != "" && c.Weight <= 0 {
		errs = append(errs, fmt.Errorf("weight %d: must be positive when prioritizeVerb is set", c.Weight))
	}
	if c.Weight < 0 {
		errs = append(errs, fmt.Errorf("weight %d is negative", c.Weight))
	}
	if c.HTTPTimeout.Duration < 0 {
		errs = append(errs, fmt.Errorf("httpTimeout %v is negative", c.HTTPTimeout.Duration))
	}
	seen := map[string]bool{}
	for i, r := range c.ManagedResources {
		if err := validateExtendedResourceName(r.Name); err != nil {
			errs = append(errs, fmt.Errorf("managedResources[%d]: %w", i, err))
		}
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("managedResources[%d]: %q is duplicated", i, r.Name))
		}
		seen[r.Name] = true
	}
	if t := c.TLSConfig; t != nil {
		if t.CertFile != "" && len(t.CertData) > 0 {
			errs = append(errs, errors.New("tlsConfig: certFile and certData are both set"))
		}
		if t.KeyFile != "" && len(t.KeyData) > 0 {
			errs = append(errs, errors.New("tlsConfig: keyFile and keyData are both set"))
		}
		if t.CAFile != "" && len(t.CAData) > 0 {
			errs = append(errs, errors.New("tlsConfig: caFile and caData are both set"))
		}
		hasCert := t.CertFile != "" || len(t.CertData) > 0
		hasKey := t.KeyFile != "" || len(t.KeyData) > 0
		if hasCert != hasKey {
			errs = append(errs, errors.New("tlsConfig: a client certificate needs both a certificate and a key"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("extender %q: %w", c.URLPrefix, errors.Join(errs...))
	}
	return nil
}

// validateExtendedResourceName accepts what Kubernetes calls an extended
// resource: a qualified name with a domain that is not kubernetes.io's.
func validateExtendedResourceName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case !strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/"):
		return fmt.Errorf("%q is not an extended resource name (domain/name, outside kubernetes.io)", name)
	}
	// Kubernetes checks the name as it would appear in a quota.
	if msgs := validation.IsQualifiedName("requests." + name); len(msgs) > 0 {
		return fmt.Errorf("%q is not an extended resource name: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}

// Duration is a time.Duration read from JSON as a Go duration string
// ("5s", "100ms") or as a number of nanoseconds, and written as a string.
type Duration struct {
	time.Duration
}

// UnmarshalJSON reads "5s" or 5000000000.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		d.Duration = v
		return nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		d.Duration = time.Duration(n)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= math.MaxInt64 {
		return fmt.Errorf("duration %s: want a string such as \"5s\" or a whole number of nanoseconds", b)
	}
	d.Duration = time.Duration(f)
	return nil
}

// MarshalJSON writes the duration as a string ("5s").
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Duration.String())
}
