package iptablesutil

import (
	"slices"
	"testing"
)

func TestSplitRule(t *testing.T) {
	for in, want := range map[string][]string{
		`-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ`: {
			"-A", "POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"},
		`-A X -m comment --comment "say \"hi\"" -j Y`: {"-A", "X", "-m", "comment", "--comment", `say "hi"`, "-j", "Y"},
		`-A X --comment "" -j Y`:                      {"-A", "X", "--comment", "", "-j", "Y"},
		`-A X  -j   Y `:                               {"-A", "X", "-j", "Y"},
		`-N X`:                                        {"-N", "X"},
		``:                                            nil,
	} {
		if got := SplitRule(in); !slices.Equal(got, want) {
			t.Errorf("SplitRule(%s) = %q, want %q", in, got, want)
		}
	}
}
