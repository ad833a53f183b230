package app

import (
	"strings"
	"testing"
	"time"
)

func TestControllersFlag(t *testing.T) {
	for _, tc := range []struct {
		flag      string
		name      string
		byDefault bool
		want      bool
	}{
		{"*", "replicaset", true, true},
		{"*", "replicaset", false, false},
		{"*,-replicaset", "replicaset", true, false},
		{"-replicaset,*", "replicaset", true, false},
		{"replicaset", "replicaset", false, true},
		{"deployment", "replicaset", true, false},
		{"*,replicaset", "replicaset", false, true},
	} {
		cfg, err := ParseFlags([]string{"--controllers", tc.flag})
		if err != nil {
			t.Fatalf("%s: %v", tc.flag, err)
		}
		if got := cfg.enabled(tc.name, tc.byDefault); got != tc.want {
			t.Errorf("--controllers %s: %s (default %v) enabled %v, want %v", tc.flag, tc.name, tc.byDefault, got, tc.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := ParseFlags([]string{"--api-servers", "https://a:6443, https://b:6443", "--node-monitor-grace-period", "5s", "--allocate-node-cidrs=false"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.APIServers) != 2 || cfg.Options.NodeMonitorGracePeriod != 5*time.Second || cfg.Options.ClusterCIDR != "" ||
		cfg.Options.ClusterSigningDuration != 8760*time.Hour {
		t.Errorf("config %+v", cfg)
	}
	for _, bad := range [][]string{
		{"--controllers", "nosuch"},
		{"--api-servers", ""},
		{"--concurrent-syncs", "0"},
		{"--log-level", "loud"},
		{"--cluster-signing-cert-file", "ca.crt"},
		{"--cluster-signing-key-file", "ca.key"},
		{"--cluster-signing-duration", "0s"},
		{"extra"},
	} {
		if _, err := ParseFlags(bad); err == nil {
			t.Errorf("%s: accepted", strings.Join(bad, " "))
		}
	}
}
