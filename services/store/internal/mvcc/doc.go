// Package mvcc is gantry-store's state machine: a multi-version key-value
// store on bbolt with etcd's revision semantics.
//
// As in etcd, an empty store is at revision 1 and has never been compacted
// (compaction revision 0). Every write transaction (a Put, a DeleteRange that
// deletes something, a Txn with writes, a lease revocation that deletes keys)
// takes the next cluster-wide main revision, so the first write gets 2; the
// writes inside it are numbered by a sub revision. Each key carries
// create_revision, mod_revision, version and lease as etcd defines them.
// History is kept until compaction, so reads at a past revision and watches
// from a past revision work; compaction at C keeps, for every key, its newest
// revision at or below C (unless that is a deletion) and everything above C.
//
// # Bucket layout
//
//	meta     "applied_index"  -> uint64 BE: last raft log index applied
//	         "rev"            -> int64 BE: current store revision (1 when empty)
//	         "compact_rev"    -> int64 BE: revision of the last compaction
//	kv       rev(main,sub)    -> kind byte ('p' put, 'd' delete) + mvccpb.KeyValue
//	                             (a deletion stores only key and mod_revision)
//	lease    id (int64 BE)    -> granted TTL in seconds (int64 BE)
//	members  id (uint64 BE)   -> etcdserverpb.Member (name, peer and client URLs)
//
// rev(main,sub) is 16 bytes: main then sub, both big-endian, so a cursor
// walks the kv bucket in revision order; that order is the watch history.
//
// An in-memory index (key -> its revisions) is rebuilt from the kv bucket on
// open and kept current by writes; reads resolve keys through it and fetch
// values by revision. The applied raft index is written in the same bbolt
// transaction as the state it describes, so after a restart the raft log is
// replayed from exactly the right place. bbolt commits without fsync by
// default (the raft log is the durable record); Sync is called periodically
// and before snapshots.
package mvcc
