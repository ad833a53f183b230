package cluster

import (
	"strings"
	"testing"
)

func TestLookupOnlyLocal(t *testing.T) {
	if err := localAddress("127.0.0.1:53"); err != nil {
		t.Fatalf("127.0.0.1 is local: %v", err)
	}
	// TEST-NET-3: never assigned here; the query must not be sent.
	if _, err := lookupA("203.0.113.10:53", "kubernetes.default.svc.cluster.local."); err == nil || !strings.Contains(err.Error(), "not an address of this host") {
		t.Fatalf("lookup via a non-local server: %v, want a refusal", err)
	}
}
