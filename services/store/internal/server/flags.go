package server

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// ParseFlags reads etcd-style flags (--name, --data-dir, ...) into a Config.
func ParseFlags(args []string) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("gantry-store", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var listenClient, advClient, listenPeer, advPeer, listenMetrics, logLevel string
	var heartbeatMS, electionMS int
	fs.StringVar(&cfg.Name, "name", "", "human-readable name of this member (default \"default\" for a new member)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory holding this member's raft log, snapshots and state (required)")
	fs.StringVar(&listenClient, "listen-client-urls", "http://127.0.0.1:2379", "comma-separated URLs to serve the etcd v3 API on")
	fs.StringVar(&advClient, "advertise-client-urls", "", "comma-separated client URLs to tell the cluster about (default: the listen URLs)")
	fs.StringVar(&listenPeer, "listen-peer-urls", "", "URL to serve raft and member-to-member traffic on (default for a new member: http://127.0.0.1:2380)")
	fs.StringVar(&advPeer, "initial-advertise-peer-urls", "", "this member's peer URL as the other members reach it")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "name=peerURL,... of every initial member")
	fs.StringVar(&cfg.InitialClusterState, "initial-cluster-state", "new", "new (bootstrap the cluster) or existing (join after MemberAdd)")
	fs.StringVar(&cfg.InitialClusterToken, "initial-cluster-token", "etcd-cluster", "token that makes member and cluster IDs unique")
	fs.StringVar(&listenMetrics, "listen-metrics-urls", "", "comma-separated URLs to serve /metrics and /health on")
	fs.IntVar(&heartbeatMS, "heartbeat-interval", 100, "raft heartbeat interval in milliseconds")
	fs.IntVar(&electionMS, "election-timeout", 1000, "raft election timeout in milliseconds")
	fs.Uint64Var(&cfg.SnapshotCount, "snapshot-count", DefaultSnapshotCount, "applied entries between raft snapshots")
	fs.IntVar(&cfg.MaxRequestBytes, "max-request-bytes", DefaultMaxRequestBytes, "largest client request accepted, in bytes")
	fs.IntVar(&cfg.MaxTxnOps, "max-txn-ops", DefaultMaxTxnOps, "most operations in one txn")
	fs.StringVar(&cfg.AutoCompactionMode, "auto-compaction-mode", "periodic", "periodic (retention is a duration) or revision (retention is a count)")
	fs.StringVar(&cfg.AutoCompactionRetention, "auto-compaction-retention", "0", "history to keep; 0 turns automatic compaction off")
	fs.DurationVar(&cfg.ProgressNotifyInterval, "experimental-watch-progress-notify-interval", 10*time.Minute, "interval of progress notifications for watches that ask for them")
	fs.StringVar(&cfg.ClientTLS.CertFile, "cert-file", "", "client-facing TLS certificate")
	fs.StringVar(&cfg.ClientTLS.KeyFile, "key-file", "", "client-facing TLS key")
	fs.StringVar(&cfg.ClientTLS.TrustedCAFile, "trusted-ca-file", "", "CA for client certificates")
	fs.BoolVar(&cfg.ClientTLS.ClientCertAuth, "client-cert-auth", false, "require client certificates")
	fs.StringVar(&cfg.PeerTLS.CertFile, "peer-cert-file", "", "peer TLS certificate (also presented as client certificate to peers)")
	fs.StringVar(&cfg.PeerTLS.KeyFile, "peer-key-file", "", "peer TLS key")
	fs.StringVar(&cfg.PeerTLS.TrustedCAFile, "peer-trusted-ca-file", "", "CA for peer certificates")
	fs.BoolVar(&cfg.PeerTLS.ClientCertAuth, "peer-client-cert-auth", false, "require peer client certificates")
	fs.BoolVar(&cfg.EnablePprof, "enable-pprof", false, "serve runtime profiles under /debug/pprof/ on the client and metrics URLs")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(os.Stdout)
			fmt.Println("Usage: gantry-store [flags]\n\ngantry-store is a Raft-replicated key-value store serving etcd's v3 API.\n\nFlags:")
			fs.PrintDefaults()
			os.Exit(0)
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg.ListenClientURLs = splitList(listenClient)
	cfg.AdvertiseClientURLs = splitList(advClient)
	cfg.ListenPeerURLs = splitList(listenPeer)
	cfg.InitialAdvertisePeerURLs = splitList(advPeer)
	cfg.ListenMetricsURLs = splitList(listenMetrics)
	cfg.HeartbeatInterval = time.Duration(heartbeatMS) * time.Millisecond
	cfg.ElectionTimeout = time.Duration(electionMS) * time.Millisecond
	if cfg.HeartbeatInterval <= 0 || cfg.ElectionTimeout < 5*cfg.HeartbeatInterval {
		return cfg, fmt.Errorf("--election-timeout (%v) must be at least 5 times --heartbeat-interval (%v)", cfg.ElectionTimeout, cfg.HeartbeatInterval)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, fmt.Errorf("--log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("component", "gantry-store")

	// A new member that names no peer URLs gets etcd's defaults.
	if _, err := readMeta(cfg.DataDir); err != nil && cfg.DataDir != "" {
		if len(cfg.ListenPeerURLs) == 0 {
			cfg.ListenPeerURLs = []string{"http://127.0.0.1:2380"}
		}
		if len(cfg.InitialAdvertisePeerURLs) == 0 {
			cfg.InitialAdvertisePeerURLs = cfg.ListenPeerURLs
		}
		if cfg.InitialCluster == "" {
			name := cfg.Name
			if name == "" {
				name = "default"
			}
			cfg.InitialCluster = name + "=" + cfg.InitialAdvertisePeerURLs[0]
		}
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
