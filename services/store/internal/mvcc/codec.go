package mvcc

import (
	"errors"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/encoding/protowire"
)

var errBadKV = errors.New("malformed KeyValue")

// decodeKV parses a protobuf mvccpb.KeyValue into kv with Key and Value
// aliasing b, so a caller that copies many records into one buffer decodes
// them without an allocation each. Unknown fields are skipped.
func decodeKV(kv *mvccpb.KeyValue, b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadKV
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 5) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errBadKV
			}
			if num == 1 {
				kv.Key = v
			} else {
				kv.Value = v
			}
			b = b[n:]
		case num >= 2 && num <= 6 && num != 5 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errBadKV
			}
			switch num {
			case 2:
				kv.CreateRevision = int64(v)
			case 3:
				kv.ModRevision = int64(v)
			case 4:
				kv.Version = int64(v)
			case 6:
				kv.Lease = int64(v)
			}
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errBadKV
			}
			b = b[n:]
		}
	}
	return nil
}
