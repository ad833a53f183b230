package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/gantry-dev/gantry/services/store/internal/command"
	"github.com/gantry-dev/gantry/services/store/internal/mvcc"
	"github.com/hashicorp/raft"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// result is what applying one command returns to its proposer.
type result struct {
	resp command.Message
	err  error
}

// fsm applies committed raft entries to the MVCC store, one bbolt
// transaction per batch.
type fsm struct {
	store *mvcc.Store
	log   *slog.Logger

	mu      sync.Mutex
	applied uint64        // last index handed to the FSM and applied
	waitCh  chan struct{} // closed when applied advances
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(store *mvcc.Store, log *slog.Logger) *fsm {
	return &fsm{store: store, log: log, applied: store.AppliedIndex(), waitCh: make(chan struct{})}
}

func (f *fsm) Apply(l *raft.Log) interface{} { return f.ApplyBatch([]*raft.Log{l})[0] }

func (f *fsm) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	done := f.store.AppliedIndex()
	last := logs[len(logs)-1].Index
	if last > done {
		err := f.store.Apply(last, func(w *mvcc.WriteTxn) {
			for i, l := range logs {
				if l.Index <= done || l.Type != raft.LogCommand {
					continue
				}
				out[i] = f.applyOne(w, l)
			}
		})
		if err != nil {
			// The state can no longer follow the log; stopping is the only
			// way not to diverge from the other members.
			panic(fmt.Sprintf("gantry-store: apply raft entries up to %d: %v", last, err))
		}
	}
	f.advance(last)
	return out
}

func (f *fsm) advance(index uint64) {
	f.mu.Lock()
	if index > f.applied {
		f.applied = index
		close(f.waitCh)
		f.waitCh = make(chan struct{})
	}
	f.mu.Unlock()
}

// appliedIndex returns the last applied index and a channel closed when it
// next advances.
func (f *fsm) appliedIndex() (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied, f.waitCh
}

func (f *fsm) applyOne(w *mvcc.WriteTxn, l *raft.Log) result {
	t, msg, err := command.Decode(l.Data)
	if err != nil {
		if errors.Is(err, command.ErrUnknownType) && t&command.IgnorableFlag != 0 {
			f.log.Warn("skipping unknown ignorable command", "index", l.Index, "type", uint8(t))
			return result{}
		}
		panic(fmt.Sprintf("gantry-store: raft entry %d: %v (is this member older than the leader?)", l.Index, err))
	}
	switch t {
	case command.Put:
		r, err := w.Put(msg.(*pb.PutRequest))
		return result{r, err}
	case command.DeleteRange:
		r, err := w.DeleteRange(msg.(*pb.DeleteRangeRequest))
		return result{r, err}
	case command.Txn:
		r, err := w.Txn(msg.(*pb.TxnRequest))
		return result{r, err}
	case command.Compact:
		r, err := w.Compact(msg.(*pb.CompactionRequest).Revision)
		return result{r, err}
	case command.LeaseGrant:
		req := msg.(*pb.LeaseGrantRequest)
		r, err := w.LeaseGrant(req.ID, req.TTL)
		return result{r, err}
	case command.LeaseRevoke:
		r, err := w.LeaseRevoke(msg.(*pb.LeaseRevokeRequest).ID)
		return result{r, err}
	case command.SetMember:
		w.SetMember(msg.(*pb.Member))
		return result{}
	case command.DelMember:
		w.DeleteMember(msg.(*pb.Member).ID)
		return result{}
	}
	panic(fmt.Sprintf("gantry-store: raft entry %d: command %v has no apply function", l.Index, t))
}

// Snapshot pins the state; Persist streams it while applies go on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	applied, _, write, release, err := f.store.Snapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{applied: applied, write: write, release: release}, nil
}

// Restore replaces the state with a snapshot from the leader.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	applied, err := readSnapshotHeader(rc)
	if err != nil {
		return err
	}
	if err := f.store.Restore(rc); err != nil {
		return err
	}
	f.log.Info("restored state from snapshot", "applied_index", applied, "revision", f.store.Rev())
	f.advance(applied)
	return nil
}

// A snapshot is an 8-byte header holding the applied index of the state,
// followed by the bbolt file.
type fsmSnapshot struct {
	applied uint64
	write   func(io.Writer) error
	release func()
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], s.applied)
	_, err := sink.Write(hdr[:])
	if err == nil {
		err = s.write(sink)
	}
	if err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.release() }

func readSnapshotHeader(r io.Reader) (uint64, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, fmt.Errorf("read snapshot header: %w", err)
	}
	return binary.BigEndian.Uint64(hdr[:]), nil
}
