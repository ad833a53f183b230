package server

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/libs/tlsutil"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is everything a member needs; the flags map onto it one to one.
type Config struct {
	Name                     string
	DataDir                  string
	ListenClientURLs         []string
	AdvertiseClientURLs      []string
	ListenPeerURLs           []string
	InitialAdvertisePeerURLs []string
	InitialCluster           string
	InitialClusterState      string // "new" or "existing"
	InitialClusterToken      string
	ListenMetricsURLs        []string

	HeartbeatInterval time.Duration
	ElectionTimeout   time.Duration
	SnapshotCount     uint64
	MaxRequestBytes   int
	MaxTxnOps         int

	// AutoCompactionMode is "periodic" or "revision"; a zero retention
	// turns automatic compaction off.
	AutoCompactionMode      string
	AutoCompactionRetention string
	// ProgressNotifyInterval is how often idle watches that asked for it get
	// a progress notification.
	ProgressNotifyInterval time.Duration

	// EnablePprof serves Go's profiles under /debug/pprof/ next to /metrics.
	EnablePprof bool

	ClientTLS tlsutil.Files
	PeerTLS   tlsutil.Files

	Logger   *slog.Logger
	Registry *prometheus.Registry

	// Listeners injected by tests, keyed by URL host:port; a URL with no
	// entry is listened on normally.
	Listeners map[string]net.Listener
}

// Defaults used by the flags and by tests.
const (
	DefaultMaxRequestBytes = 1572864 // 1.5 MiB, as etcd
	DefaultMaxTxnOps       = 128
	DefaultSnapshotCount   = 100000 // as etcd
	maxLeaseTTL            = 9000000000
	grpcOverheadBytes      = 512 * 1024
)

func (c *Config) setDefaults() {
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 100 * time.Millisecond
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = time.Second
	}
	if c.SnapshotCount == 0 {
		c.SnapshotCount = DefaultSnapshotCount
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxTxnOps == 0 {
		c.MaxTxnOps = DefaultMaxTxnOps
	}
	if c.InitialClusterToken == "" {
		c.InitialClusterToken = "etcd-cluster"
	}
	if c.InitialClusterState == "" {
		c.InitialClusterState = "new"
	}
	if c.ProgressNotifyInterval == 0 {
		c.ProgressNotifyInterval = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
}

// memberMeta is what a member remembers about itself in its data directory,
// so that a restart needs only --data-dir and the listen flags.
type memberMeta struct {
	Name       string   `json:"name"`
	ID         uint64   `json:"id"`
	ClusterID  uint64   `json:"clusterID"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
}

func metaPath(dataDir string) string { return filepath.Join(dataDir, "member", "meta.json") }

func readMeta(dataDir string) (*memberMeta, error) {
	b, err := os.ReadFile(metaPath(dataDir))
	if err != nil {
		return nil, err
	}
	m := &memberMeta{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("data directory %s: corrupt %s: %w", dataDir, metaPath(dataDir), err)
	}
	if m.ID == 0 || len(m.PeerURLs) == 0 {
		return nil, fmt.Errorf("data directory %s: %s lacks member ID or peer URLs", dataDir, metaPath(dataDir))
	}
	return m, nil
}

func writeMeta(dataDir string, m *memberMeta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	p := metaPath(dataDir)
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// parseInitialCluster parses "name=url,name=url2,other=url3".
func parseInitialCluster(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, u, ok := strings.Cut(part, "=")
		if !ok || name == "" || u == "" {
			return nil, fmt.Errorf("--initial-cluster: %q is not name=URL", part)
		}
		if _, err := hostPort(u); err != nil {
			return nil, fmt.Errorf("--initial-cluster: %w", err)
		}
		out[name] = append(out[name], u)
	}
	if len(out) == 0 {
		return nil, errors.New("--initial-cluster is empty")
	}
	return out, nil
}

// hostPort returns the host:port of an http(s) URL.
func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("bad URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("URL %q: scheme must be http or https", raw)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", fmt.Errorf("URL %q needs host:port: %w", raw, err)
	}
	return u.Host, nil
}

// memberID derives a member's ID from its peer URLs and the cluster token,
// so every member computes the same IDs from --initial-cluster and a member
// added later can find its own.
func memberID(peerURLs []string, token string) uint64 {
	urls := append([]string(nil), peerURLs...)
	sort.Strings(urls)
	sum := sha256.Sum256([]byte(strings.Join(urls, ",") + "/" + token))
	id := binary.BigEndian.Uint64(sum[:8])
	if id == 0 {
		id = 1
	}
	return id
}

func clusterID(memberIDs []uint64, token string) uint64 {
	ids := append([]uint64(nil), memberIDs...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	h := sha256.New()
	for _, id := range ids {
		_ = binary.Write(h, binary.BigEndian, id)
	}
	h.Write([]byte(token))
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

func idString(id uint64) string { return strconv.FormatUint(id, 16) }

func parseID(s string) (uint64, error) { return strconv.ParseUint(s, 16, 64) }
