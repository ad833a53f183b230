package server

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gantry-dev/gantry/services/store/internal/mvcc"
)

// The state database commits without fsync: the fsynced raft log is the
// durable record. A process crash loses nothing (the kernel still has every
// page), but after a machine crash bbolt's unsynced pages may be torn in
// ways bbolt cannot detect. So the state database is trusted only after a
// clean shutdown, recorded by this marker; after any other stop it is
// rebuilt from the newest raft snapshot (written with fsync) and the raft
// log, which holds every entry after that snapshot.
const cleanMarker = "state.clean"

// openState opens the member's state database, rebuilding it if the last
// shutdown was not clean, and clears the marker so that a crash from now on
// is noticed.
func openState(cfg *Config, memberDir string, fresh bool) (*mvcc.Store, error) {
	path := filepath.Join(memberDir, "state.db")
	marker := filepath.Join(memberDir, cleanMarker)
	create := fresh
	if !fresh {
		if _, err := os.Stat(marker); os.IsNotExist(err) {
			cfg.Logger.Warn("last shutdown was not clean: rebuilding the state database from the newest snapshot and the raft log")
			if err := os.Rename(path, path+".unclean"); err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("set aside state database: %w", err)
			}
			create = true
		} else if err != nil {
			return nil, err
		}
	}
	store, err := mvcc.Open(path, create, mvcc.Options{})
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	if err := os.Remove(marker); err != nil && !os.IsNotExist(err) {
		store.Close()
		return nil, fmt.Errorf("clear clean-shutdown marker: %w", err)
	}
	if err := syncDir(memberDir); err != nil {
		store.Close()
		return nil, err
	}
	os.Remove(path + ".unclean")
	return store, nil
}

// markClean records a clean shutdown after the state database was synced
// and closed.
func markClean(memberDir string) error {
	f, err := os.OpenFile(filepath.Join(memberDir, cleanMarker), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(memberDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
