package mvcc

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotStateDB marks a file that is not a gantry-store state database.
var ErrNotStateDB = errors.New("not a gantry-store state database")

// Verify checks that the file at path is a complete, consistent state
// database: a bbolt file no longer than the file itself, whose pages all
// check out, with every bucket of the layout above. It reads the file only,
// so it suits files from outside, such as snapshots to restore.
func Verify(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() == 0 {
		// bbolt would try to initialise it.
		return fmt.Errorf("%w: the file is empty", ErrNotStateDB)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotStateDB, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		// A truncated file would fault (SIGBUS) on the first page read
		// past its end: check the size before touching any page.
		if tx.Size() > st.Size() {
			return fmt.Errorf("%w: file is %d bytes, its header says %d", ErrCorrupt, st.Size(), tx.Size())
		}
		// Read every page first, in this goroutine, where a damaged page
		// is a recoverable panic; bbolt's own check walks them again in
		// goroutines of its own, where it would end the process.
		if err := readAll(tx); err != nil {
			return err
		}
		var errs []error
		for err := range tx.Check() {
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w: %w", ErrCorrupt, errors.Join(errs...))
		}
		for _, b := range allBuckets {
			if tx.Bucket(b) != nil {
				continue
			}
			if tx.Bucket([]byte("key")) != nil {
				return fmt.Errorf("%w: it has etcd's bucket \"key\" and no bucket %q, so it is an etcd backend", ErrNotStateDB, b)
			}
			return fmt.Errorf("%w: bucket %q missing", ErrNotStateDB, b)
		}
		return nil
	})
}

// readAll reads every key and value of every bucket, turning bbolt's
// panics and memory faults on damaged pages into ErrCorrupt.
func readAll(tx *bolt.Tx) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	var walk func(b *bolt.Bucket)
	walk = func(b *bolt.Bucket) {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if child := b.Bucket(k); child != nil {
					walk(child)
				}
			}
		}
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
		walk(b)
		return nil
	})
}
