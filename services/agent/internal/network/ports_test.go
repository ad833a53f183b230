package network

import (
	"errors"
	"strings"
	"testing"
)

func TestPortRegistry(t *testing.T) {
	held := PortMapping{HostPort: 8080, ContainerPort: 80}
	for _, tc := range []struct {
		name     string
		held     PortMapping
		ask      PortMapping
		conflict bool
	}{
		{"same port", held, PortMapping{HostPort: 8080, ContainerPort: 81}, true},
		{"protocol spelled differently", held, PortMapping{HostPort: 8080, ContainerPort: 81, Protocol: "tcp"}, true},
		{"other protocol", held, PortMapping{HostPort: 8080, ContainerPort: 81, Protocol: "UDP"}, false},
		{"other port", held, PortMapping{HostPort: 8081, ContainerPort: 80}, false},
		{"specific address under wildcard", held, PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: "192.0.2.1"}, true},
		{"wildcard over specific address", PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: "192.0.2.1"},
			PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: "0.0.0.0"}, true},
		{"same specific address", PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: "192.0.2.1"},
			PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: "192.0.2.1"}, true},
		{"two specific addresses", PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: "192.0.2.1"},
			PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: "192.0.2.2"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newPortRegistry()
			if err := r.reserve("a", "ns/a", toCNIPortMappings([]PortMapping{tc.held})); err != nil {
				t.Fatal(err)
			}
			err := r.reserve("b", "ns/b", toCNIPortMappings([]PortMapping{tc.ask}))
			if tc.conflict != errors.Is(err, ErrHostPortConflict) {
				t.Fatalf("reserve: %v, want conflict %v", err, tc.conflict)
			}
			if tc.conflict && !strings.Contains(err.Error(), "ns/a") {
				t.Errorf("error %q does not name the holder", err)
			}
			// The holder may always reserve its own ports again.
			if err := r.reserve("a", "ns/a", toCNIPortMappings([]PortMapping{tc.held})); err != nil {
				t.Errorf("re-reserve by the holder: %v", err)
			}
			r.release("a")
			if err := r.reserve("b", "ns/b", toCNIPortMappings([]PortMapping{tc.ask})); err != nil {
				t.Errorf("reserve after release: %v", err)
			}
		})
	}
}

func TestPortRegistryFailedReserveChangesNothing(t *testing.T) {
	r := newPortRegistry()
	if err := r.reserve("a", "ns/a", toCNIPortMappings([]PortMapping{{HostPort: 1, ContainerPort: 1}})); err != nil {
		t.Fatal(err)
	}
	if err := r.reserve("b", "ns/b", toCNIPortMappings([]PortMapping{{HostPort: 2, ContainerPort: 2}})); err != nil {
		t.Fatal(err)
	}
	// b asks for 3 and 1: refused, and b keeps 2.
	err := r.reserve("b", "ns/b", toCNIPortMappings([]PortMapping{{HostPort: 3, ContainerPort: 3}, {HostPort: 1, ContainerPort: 1}}))
	if !errors.Is(err, ErrHostPortConflict) {
		t.Fatalf("reserve: %v", err)
	}
	if err := r.reserve("c", "ns/c", toCNIPortMappings([]PortMapping{{HostPort: 2, ContainerPort: 2}})); !errors.Is(err, ErrHostPortConflict) {
		t.Errorf("b lost port 2: %v", err)
	}
	if err := r.reserve("c", "ns/c", toCNIPortMappings([]PortMapping{{HostPort: 3, ContainerPort: 3}})); err != nil {
		t.Errorf("port 3 was taken by the refused request: %v", err)
	}
}
