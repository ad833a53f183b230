package command

import (
	"bytes"
	"errors"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		typ Type
		msg Message
	}{
		{Put, &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), Lease: 7, PrevKv: true}},
		{DeleteRange, &pb.DeleteRangeRequest{Key: []byte("a"), RangeEnd: []byte("b")}},
		{Txn, &pb.TxnRequest{Compare: []*pb.Compare{{Key: []byte("k"), Target: pb.Compare_MOD}}}},
		{Compact, &pb.CompactionRequest{Revision: 9}},
		{LeaseGrant, &pb.LeaseGrantRequest{ID: 5, TTL: 10}},
		{LeaseRevoke, &pb.LeaseRevokeRequest{ID: 5}},
		{SetMember, &pb.Member{ID: 3, Name: "m", ClientURLs: []string{"http://x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			b, err := Encode(tt.typ, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			typ, msg, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if typ != tt.typ {
				t.Fatalf("type %v, want %v", typ, tt.typ)
			}
			b2, _ := Encode(typ, msg)
			if !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs")
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":     nil,
		"zero type": {0},
		"unknown":   {99, 1, 2},
		"garbage":   {byte(Put), 0xff, 0xff, 0xff},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Decode(data); err == nil {
				t.Fatal("expected an error")
			}
		})
	}
	if _, _, err := Decode([]byte{99}); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("want ErrUnknownType, got %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(Put, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	f.Add(b)
	b, _ = Encode(Txn, &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("x")}}}}})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, msg, err := Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must encode again and decode to the same type.
		b, err := Encode(typ, msg)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if typ2, _, err := Decode(b); err != nil || typ2 != typ {
			t.Fatalf("round trip: %v %v", typ2, err)
		}
	})
}
