package server

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/services/store/internal/mvcc"
	"github.com/hashicorp/raft"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// RestoreConfig is what `gantry-store snapshot restore` takes; the flags
// are etcdutl's.
type RestoreConfig struct {
	SnapshotPath             string // file written by `etcdctl snapshot save`
	DataDir                  string // new data directory; must not exist or be empty
	Name                     string
	InitialCluster           string
	InitialClusterToken      string
	InitialAdvertisePeerURLs []string
	SkipHashCheck            bool // accept a file without (or with a wrong) SHA-256 trailer
	Logger                   *slog.Logger
}

// RestoreResult describes the data directory Restore wrote.
type RestoreResult struct {
	DataDir         string
	Name            string
	MemberID        uint64
	ClusterID       uint64
	Members         int
	Revision        int64
	CompactRevision int64
	Keys            int
	Leases          int
}

func (r *RestoreResult) String() string {
	return fmt.Sprintf("restored revision %d (compacted at %d, %d keys, %d leases) into %s: member %s (ID %s) of a new %d-member cluster %s",
		r.Revision, r.CompactRevision, r.Keys, r.Leases, r.DataDir, r.Name, idString(r.MemberID), r.Members, idString(r.ClusterID))
}

// ParseSnapshotFlags reads `snapshot restore <file> [flags]` (the arguments
// after "snapshot"). It returns flag.ErrHelp after printing usage to out
// when asked for help.
func ParseSnapshotFlags(args []string, out io.Writer) (RestoreConfig, error) {
	cfg := RestoreConfig{}
	if len(args) == 0 || args[0] != "restore" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(out, "Usage: gantry-store snapshot restore <file> --data-dir <dir> [flags]\n\nSave snapshots with `etcdctl snapshot save`.")
			return cfg, flag.ErrHelp
		}
		return cfg, errors.New("usage: gantry-store snapshot restore <file> --data-dir <dir> [flags] (snapshots are saved with `etcdctl snapshot save`)")
	}
	fs := flag.NewFlagSet("gantry-store snapshot restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var advPeer, logLevel string
	fs.StringVar(&cfg.DataDir, "data-dir", "", "new data directory to write the member into (required; must not exist or be empty)")
	fs.StringVar(&cfg.Name, "name", "default", "name of the member this data directory is for")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "name=peerURL,... of every member of the restored cluster (default: <name>=<initial-advertise-peer-urls>)")
	fs.StringVar(&cfg.InitialClusterToken, "initial-cluster-token", "etcd-cluster", "token that makes member and cluster IDs unique")
	fs.StringVar(&advPeer, "initial-advertise-peer-urls", "http://localhost:2380", "this member's peer URL; must be its --initial-cluster entry")
	fs.BoolVar(&cfg.SkipHashCheck, "skip-hash-check", false, "restore a file without a valid SHA-256 trailer (a copied state.db)")
	fs.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	// Like etcdutl, take the file anywhere among the flags.
	var files []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				fmt.Fprintln(out, "Usage: gantry-store snapshot restore <file> --data-dir <dir> [flags]\n\nWrites a new data directory holding the snapshot's keys and revisions for one member of a new cluster.\n\nFlags:")
				fs.SetOutput(out)
				fs.PrintDefaults()
				return cfg, flag.ErrHelp
			}
			return cfg, err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		return cfg, fmt.Errorf("snapshot restore takes one snapshot file, got %d arguments %q", len(files), files)
	}
	cfg.SnapshotPath = files[0]
	cfg.InitialAdvertisePeerURLs = splitList(advPeer)
	if cfg.InitialCluster == "" && len(cfg.InitialAdvertisePeerURLs) > 0 {
		cfg.InitialCluster = cfg.Name + "=" + strings.Join(cfg.InitialAdvertisePeerURLs, ","+cfg.Name+"=")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, fmt.Errorf("--log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("component", "gantry-store")
	return cfg, nil
}

// Restore writes a new data directory from a snapshot saved with
// `etcdctl snapshot save`: the snapshot's state database (every key with
// its history, revisions, compaction revision and leases) as the raft
// snapshot of a new cluster whose members are cfg.InitialCluster. Run it
// once per member with that member's name; each member then starts on its
// directory as after a clean shutdown.
//
// The old cluster's member table is replaced by the new members (names and
// peer URLs; each publishes its client URLs when it starts). Leases are
// kept, as etcd's restore keeps them: the new cluster's first leader gives
// each its full TTL.
func Restore(cfg RestoreConfig) (*RestoreResult, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.InitialClusterToken == "" {
		cfg.InitialClusterToken = "etcd-cluster"
	}
	switch {
	case cfg.SnapshotPath == "":
		return nil, errors.New("no snapshot file given")
	case cfg.DataDir == "":
		return nil, errors.New("--data-dir is required")
	case cfg.Name == "":
		return nil, errors.New("--name must not be empty")
	case len(cfg.InitialAdvertisePeerURLs) == 0:
		return nil, errors.New("--initial-advertise-peer-urls is required")
	}
	conf, err := initialConfiguration(cfg.InitialCluster, cfg.InitialClusterToken)
	if err != nil {
		return nil, err
	}
	members, _ := parseInitialCluster(cfg.InitialCluster)
	if urls, ok := members[cfg.Name]; !ok {
		return nil, fmt.Errorf("--initial-cluster has no entry for --name %q", cfg.Name)
	} else if !sameURLs(urls, cfg.InitialAdvertisePeerURLs) {
		return nil, fmt.Errorf("--initial-advertise-peer-urls %q differ from %q, the --initial-cluster entry of %q", cfg.InitialAdvertisePeerURLs, urls, cfg.Name)
	}
	if err := checkNewDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	f, err := os.Open(cfg.SnapshotPath)
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	defer f.Close()

	// Build member/ in a temporary directory inside --data-dir (which may
	// be a mount point) and rename it into place once complete, so a
	// failed restore leaves nothing behind.
	created := false
	if _, err := os.Stat(cfg.DataDir); os.IsNotExist(err) {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create --data-dir: %w", err)
		}
		created = true
	}
	tmp, err := os.MkdirTemp(cfg.DataDir, ".restoring-")
	if err == nil {
		err = os.Chmod(tmp, 0o700)
	}
	if err != nil {
		if created {
			os.RemoveAll(cfg.DataDir)
		}
		return nil, fmt.Errorf("create temporary directory: %w", err)
	}
	done := false
	defer func() {
		if created && !done {
			os.RemoveAll(cfg.DataDir)
		} else {
			os.RemoveAll(tmp)
		}
	}()
	res, err := restoreInto(cfg, f, tmp, conf, members)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(tmp, "member"), filepath.Join(cfg.DataDir, "member")); err != nil {
		return nil, fmt.Errorf("move restored member directory into place: %w", err)
	}
	done = true
	if err := syncDir(cfg.DataDir); err != nil {
		return nil, err
	}
	res.DataDir = cfg.DataDir
	return res, nil
}

// restoreInto writes the member directory into dataDir.
func restoreInto(cfg RestoreConfig, snap *os.File, dataDir string, conf raft.Configuration, members map[string][]string) (*RestoreResult, error) {
	meta, _, err := loadOrInitMeta(&Config{
		Name:                     cfg.Name,
		DataDir:                  dataDir,
		InitialCluster:           cfg.InitialCluster,
		InitialClusterState:      "new",
		InitialClusterToken:      cfg.InitialClusterToken,
		InitialAdvertisePeerURLs: cfg.InitialAdvertisePeerURLs,
	})
	if err != nil {
		return nil, err
	}
	memberDir := filepath.Join(dataDir, "member")
	if err := os.MkdirAll(memberDir, 0o700); err != nil {
		return nil, err
	}
	statePath := filepath.Join(memberDir, "state.db")
	if err := copySnapshotDB(snap, statePath, cfg.SkipHashCheck); err != nil {
		return nil, err
	}
	if err := mvcc.Verify(statePath); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", cfg.SnapshotPath, err)
	}
	store, err := mvcc.Open(statePath, false, mvcc.Options{})
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", cfg.SnapshotPath, err)
	}
	defer store.Close()
	res := &RestoreResult{
		Name: meta.Name, MemberID: meta.ID, ClusterID: meta.ClusterID, Members: len(conf.Servers),
		Revision: store.Rev(), CompactRevision: store.CompactRev(), Keys: store.KeyCount(), Leases: len(store.Leases()),
	}

	// The state becomes what raft index 1 of the new cluster holds: the
	// entry BootstrapCluster writes (the configuration), here followed by
	// a snapshot at that index so that the log can be empty. A member that
	// joins later then receives the state as a snapshot.
	const index, term = 1, 1
	old, err := store.Members()
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", cfg.SnapshotPath, err)
	}
	err = store.Apply(index, func(w *mvcc.WriteTxn) {
		for id := range old {
			w.DeleteMember(id)
		}
		for name, urls := range members {
			w.SetMember(&pb.Member{ID: memberID(urls, cfg.InitialClusterToken), Name: name, PeerURLs: urls})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("rewrite member table: %w", err)
	}

	hlog := raftLogger(cfg.Logger)
	logStore, snaps, err := openRaftStores(memberDir, hlog)
	if err != nil {
		return nil, err
	}
	defer logStore.Close()
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(idString(meta.ID))
	rc.Logger = hlog
	_, trans := raft.NewInmemTransport(raft.ServerAddress(""))
	defer trans.Close()
	if err := raft.BootstrapCluster(rc, logStore, logStore, snaps, trans, conf); err != nil {
		return nil, fmt.Errorf("bootstrap raft: %w", err)
	}
	fs, err := newFSM(store, cfg.Logger).Snapshot()
	if err != nil {
		return nil, fmt.Errorf("snapshot state: %w", err)
	}
	defer fs.Release()
	sink, err := snaps.Create(raft.SnapshotVersionMax, index, term, conf, index, trans)
	if err != nil {
		return nil, fmt.Errorf("create raft snapshot: %w", err)
	}
	if err := fs.Persist(sink); err != nil {
		return nil, fmt.Errorf("write raft snapshot: %w", err)
	}
	fs.Release()
	if err := logStore.DeleteRange(index, index); err != nil {
		return nil, fmt.Errorf("compact raft log: %w", err)
	}
	if err := logStore.Close(); err != nil {
		return nil, err
	}
	if err := store.Close(); err != nil {
		return nil, fmt.Errorf("close state database: %w", err)
	}
	if err := writeMeta(dataDir, meta); err != nil {
		return nil, fmt.Errorf("write member metadata: %w", err)
	}
	// The state database is complete and synced: start on it as after a
	// clean shutdown.
	if err := markClean(memberDir); err != nil {
		return nil, err
	}
	return res, nil
}

// copySnapshotDB copies the state database out of a snapshot file to path,
// checking the SHA-256 that `etcdctl snapshot save` appends. As etcdutl
// does, a file whose size is 32 bytes past a multiple of 512 has the
// trailer (a bbolt file is whole pages).
func copySnapshotDB(snap *os.File, path string, skipHashCheck bool) error {
	st, err := snap.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("snapshot %s is not a regular file", snap.Name())
	}
	size := st.Size()
	hasHash := size%512 == sha256.Size
	if !hasHash && !skipHashCheck {
		return fmt.Errorf("snapshot %s (%d bytes) has no SHA-256 trailer: it is truncated or not written by `etcdctl snapshot save`; --skip-hash-check restores a bare state database", snap.Name(), size)
	}
	dbSize := size
	if hasHash {
		dbSize -= sha256.Size
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), io.NewSectionReader(snap, 0, dbSize))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy snapshot %s: %w", snap.Name(), err)
	}
	if !hasHash || skipHashCheck {
		return nil
	}
	want := make([]byte, sha256.Size)
	if _, err := snap.ReadAt(want, dbSize); err != nil {
		return fmt.Errorf("read SHA-256 of snapshot %s: %w", snap.Name(), err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("snapshot %s is corrupt: SHA-256 of its %d bytes of data is %x, its trailer says %x", snap.Name(), dbSize, got, want)
	}
	return nil
}

// checkNewDataDir refuses a data directory that exists and is not empty.
func checkNewDataDir(dir string) error {
	st, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--data-dir %s exists and is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("--data-dir %s exists and is not empty; restore writes a new data directory only", dir)
	}
	return nil
}

func sameURLs(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
