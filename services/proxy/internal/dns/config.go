package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-dev/gantry/libs/client"
)

// Defaults of Config's zero fields.
const (
	DefaultDomain         = "cluster.local"
	DefaultTTL            = 5 * time.Second
	DefaultResolvConf     = "/etc/resolv.conf"
	DefaultForwardTimeout = 2 * time.Second
	DefaultMaxForwards    = 1000
)

// Config configures a Server.
type Config struct {
	// Informers supplies the Service and EndpointSlice informers; New
	// registers them, the caller starts the factory after New.
	Informers *client.InformerFactory
	// Listen are the "ip:port" addresses served over both UDP and TCP,
	// e.g. "10.96.0.10:53". Required.
	Listen []string
	// Domain is the cluster domain (default cluster.local).
	Domain string
	// Upstreams are the resolvers ("ip" or "ip:port") names outside the
	// domain are forwarded to. Empty means the nameservers of ResolvConf.
	// Addresses the server listens on are dropped (no loops).
	Upstreams []string
	// ResolvConf is read for upstreams when Upstreams is empty (default
	// /etc/resolv.conf).
	ResolvConf string
	// TTL of the answers from the cluster's objects and of negative
	// answers (default 5s, CoreDNS's; whole seconds).
	TTL time.Duration
	// ForwardTimeout bounds the wait for one upstream before the next is
	// tried (default 2s).
	ForwardTimeout time.Duration
	// MaxConcurrentForwards caps the forwarded queries in flight; more get
	// REFUSED (default 1000, as CoreDNS's forward max_concurrent).
	MaxConcurrentForwards int
	// Device, when set, is the local dummy device Run puts the listen
	// addresses on (creating it if needed), so that the node delivers
	// packets to them locally; "" leaves addresses to the caller.
	Device string
	// Log receives the server's logs (default slog.Default()).
	Log *slog.Logger
	// Registerer gets the server's metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// settings are a Config checked and with defaults applied.
type settings struct {
	zone        string // "cluster.local."
	listen      []netip.AddrPort
	upstreams   []string // "ip:port"
	ttl         uint32
	fwdTimeout  time.Duration
	maxForwards int
	device      string
	log         *slog.Logger
}

func (cfg Config) settings() (settings, error) {
	s := settings{
		zone:        mdns.CanonicalName(cfg.Domain),
		ttl:         uint32(DefaultTTL / time.Second),
		fwdTimeout:  cfg.ForwardTimeout,
		maxForwards: cfg.MaxConcurrentForwards,
		device:      cfg.Device,
		log:         cfg.Log,
	}
	if cfg.Domain == "" {
		s.zone = mdns.CanonicalName(DefaultDomain)
	}
	if _, ok := mdns.IsDomainName(s.zone); !ok || s.zone == "." {
		return s, fmt.Errorf("cluster domain %q is not a domain name", cfg.Domain)
	}
	if cfg.TTL < 0 {
		return s, fmt.Errorf("negative TTL %s", cfg.TTL)
	} else if cfg.TTL > 0 {
		s.ttl = uint32(cfg.TTL / time.Second)
	}
	if s.fwdTimeout <= 0 {
		s.fwdTimeout = DefaultForwardTimeout
	}
	if s.maxForwards <= 0 {
		s.maxForwards = DefaultMaxForwards
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if len(cfg.Listen) == 0 {
		return s, errors.New("no listen address")
	}
	for _, l := range cfg.Listen {
		ap, err := netip.ParseAddrPort(l)
		if err != nil {
			return s, fmt.Errorf("listen address %q: %w", l, err)
		}
		s.listen = append(s.listen, ap)
	}
	ups := cfg.Upstreams
	if len(ups) == 0 {
		path := cfg.ResolvConf
		if path == "" {
			path = DefaultResolvConf
		}
		var err error
		if ups, err = resolvConfServers(path); err != nil {
			return s, err
		}
	}
	for _, u := range ups {
		ap, err := parseUpstream(u)
		if err != nil {
			return s, err
		}
		if s.isSelf(ap) {
			s.log.Warn("not forwarding to an address this server listens on", "upstream", ap.String())
			continue
		}
		s.upstreams = append(s.upstreams, ap.String())
	}
	if len(s.upstreams) == 0 {
		s.log.Warn("no upstream resolvers: names outside the cluster domain get SERVFAIL", "domain", s.zone)
	}
	return s, nil
}

// parseUpstream reads "ip" (port 53) or "ip:port".
func parseUpstream(u string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(u); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53), nil
	}
	ap, err := netip.ParseAddrPort(u)
	if err != nil {
		return ap, fmt.Errorf("upstream %q: want ip or ip:port", u)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// isSelf reports whether forwarding to up would reach this server: up is
// a listen address, or a local address of the host on a port the server
// listens on with an unspecified address.
func (s settings) isSelf(up netip.AddrPort) bool {
	for _, l := range s.listen {
		if l.Port() != up.Port() {
			continue
		}
		if l.Addr().Unmap() == up.Addr() {
			return true
		}
		if l.Addr().IsUnspecified() && (up.Addr().IsLoopback() || isLocalAddr(up.Addr())) {
			return true
		}
	}
	return false
}

func isLocalAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// resolvConfServers returns the nameservers of a resolv.conf file.
func resolvConfServers(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read upstream resolvers: %w", err)
	}
	defer f.Close()
	cc, err := mdns.ClientConfigFromReader(f)
	if err != nil {
		return nil, fmt.Errorf("read upstream resolvers from %s: %w", path, err)
	}
	var out []string
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out, nil
}
