package app

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "100": 100, "1k": 1024, "1m": 1 << 20, "8M": 8 << 20, "2g": 2 << 30} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1", "1t", "1.5m", "99999999999999999g"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := ParseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddress != "0.0.0.0:80" || c.HTTPSAddress != "0.0.0.0:443" || c.MetricsAddress != "127.0.0.1:10254" ||
		c.IngressClass != "gantry" || c.MaxBodySize != 1<<20 || c.ProxyConnectTimeout != 5*time.Second || !c.LeaderElect {
		t.Errorf("defaults: %+v", c)
	}
	for _, args := range [][]string{
		{"--max-body-size", "lots"},
		{"--ingress-class", ""},
		{"--http-address", "", "--https-address", ""},
		{"--default-ssl-certificate", "nonamespace"},
		{"--proxy-next-upstream-tries", "0"},
		{"--api-servers", " , "},
		{"extra"},
	} {
		if _, err := ParseFlags(args); err == nil {
			t.Errorf("ParseFlags(%q) accepted", args)
		}
	}
}
