package extender

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigJSON(t *testing.T) {
	// An extenders entry of a KubeSchedulerConfiguration, as the config
	// loader hands it over after converting YAML to JSON.
	const in = `{
		"urlPrefix": "https://extender.example:8888/scheduler",
		"filterVerb": "filter",
		"prioritizeVerb": "prioritize",
		"preemptVerb": "preempt",
		"bindVerb": "bind",
		"weight": 5,
		"enableHTTPS": true,
		"tlsConfig": {"insecure": false, "serverName": "ext", "caFile": "/etc/ca.pem", "certFile": "/etc/c.pem", "keyFile": "/etc/k.pem"},
		"httpTimeout": "30s",
		"nodeCacheCapable": true,
		"managedResources": [{"name": "example.com/gpu", "ignoredByScheduler": true}],
		"ignorable": true
	}`
	var got Config
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	want := Config{
		URLPrefix:        "https://extender.example:8888/scheduler",
		FilterVerb:       "filter",
		PrioritizeVerb:   "prioritize",
		PreemptVerb:      "preempt",
		BindVerb:         "bind",
		Weight:           5,
		EnableHTTPS:      true,
		TLSConfig:        &TLSConfig{ServerName: "ext", CAFile: "/etc/ca.pem", CertFile: "/etc/c.pem", KeyFile: "/etc/k.pem"},
		HTTPTimeout:      Duration{30 * time.Second},
		NodeCacheCapable: true,
		ManagedResources: []ManagedResource{{Name: "example.com/gpu", IgnoredByScheduler: true}},
		Ignorable:        true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: `"5s"`, want: 5 * time.Second},
		{in: `"1m30s"`, want: 90 * time.Second},
		{in: `5000000000`, want: 5 * time.Second},
		{in: `5e9`, want: 5 * time.Second},
		{in: `null`, want: 0},
		{in: `"5 seconds"`, wantErr: true},
		{in: `1.5`, wantErr: true},
		{in: `true`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var c Config
			err := json.Unmarshal([]byte(`{"httpTimeout": `+tt.in+`}`), &c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && c.HTTPTimeout.Duration != tt.want {
				t.Errorf("httpTimeout = %v, want %v", c.HTTPTimeout.Duration, tt.want)
			}
		})
	}
	out, err := json.Marshal(Config{URLPrefix: "http://x", HTTPTimeout: Duration{2 * time.Second}})
	if err != nil || !strings.Contains(string(out), `"httpTimeout":"2s"`) {
		t.Errorf("Marshal = %s, %v; want httpTimeout \"2s\"", out, err)
	}
	out, _ = json.Marshal(Config{URLPrefix: "http://x"})
	if strings.Contains(string(out), "httpTimeout") {
		t.Errorf("Marshal = %s; want no httpTimeout when unset", out)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{URLPrefix: "http://127.0.0.1:8888/scheduler"}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{name: "valid", change: func(*Config) {}},
		{name: "no url", change: func(c *Config) { c.URLPrefix = "" }, wantErr: "urlPrefix is empty"},
		{name: "no scheme", change: func(c *Config) { c.URLPrefix = "127.0.0.1:8888" }, wantErr: "urlPrefix"},
		{name: "bad scheme", change: func(c *Config) { c.URLPrefix = "ftp://x/y" }, wantErr: "scheme must be http or https"},
		{name: "no host", change: func(c *Config) { c.URLPrefix = "http:///scheduler" }, wantErr: "has no host"},
		{name: "enableHTTPS with http", change: func(c *Config) { c.EnableHTTPS = true }, wantErr: "not https"},
		{name: "prioritize without weight", change: func(c *Config) { c.PrioritizeVerb = "prioritize" }, wantErr: "must be positive"},
		{name: "negative weight", change: func(c *Config) { c.Weight = -1 }, wantErr: "negative"},
		{name: "negative timeout", change: func(c *Config) { c.HTTPTimeout = Duration{-time.Second} }, wantErr: "httpTimeout"},
		{
			name:    "native resource",
			change:  func(c *Config) { c.ManagedResources = []ManagedResource{{Name: "cpu"}} },
			wantErr: "not an extended resource",
		},
		{
			name:    "kubernetes.io resource",
			change:  func(c *Config) { c.ManagedResources = []ManagedResource{{Name: "kubernetes.io/foo"}} },
			wantErr: "not an extended resource",
		},
		{
			name:    "bad resource name",
			change:  func(c *Config) { c.ManagedResources = []ManagedResource{{Name: "example.com/a b"}} },
			wantErr: "not an extended resource",
		},
		{
			name: "duplicate resource",
			change: func(c *Config) {
				c.ManagedResources = []ManagedResource{{Name: "example.com/a"}, {Name: "example.com/a"}}
			},
			wantErr: "duplicated",
		},
		{
			name:    "cert without key",
			change:  func(c *Config) { c.TLSConfig = &TLSConfig{CertFile: "/c.pem"} },
			wantErr: "both a certificate and a key",
		},
		{
			name:    "CA twice",
			change:  func(c *Config) { c.TLSConfig = &TLSConfig{CAFile: "/ca.pem", CAData: []byte("x")} },
			wantErr: "caFile and caData",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want an error saying %q", err, tt.wantErr)
			}
			if _, err := New(c); err == nil {
				t.Errorf("New accepted an invalid config")
			}
		})
	}
}
