package server

import (
	"bytes"
	"fmt"
	"testing"

	storev1 "github.com/gantry-dev/gantry/proto/gantry/store/v1"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the default codec
)

func rangeResponse(n int) *pb.RangeResponse {
	r := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: 9}, Count: int64(n)}
	val := bytes.Repeat([]byte("x"), 1024)
	for i := 0; i < n; i++ {
		r.Kvs = append(r.Kvs, &mvccpb.KeyValue{Key: []byte(fmt.Sprintf("/registry/pods/ns/p-%05d", i)), Value: val, CreateRevision: 2, ModRevision: int64(i + 2), Version: 1})
	}
	return r
}

func TestGogoCodecRoundTrips(t *testing.T) {
	c := gogoCodec{}
	for _, msg := range []any{rangeResponse(3), &storev1.ReadIndexResponse{CommitIndex: 7, Term: 2}} {
		b, err := c.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		std := encoding.GetCodecV2("proto")
		ref, err := std.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, ref.Materialize()) {
			t.Fatalf("%T: encoding differs from the standard codec", msg)
		}
	}
	var got pb.RangeResponse
	b, _ := c.Marshal(rangeResponse(3))
	if err := c.Unmarshal(b, &got); err != nil || len(got.Kvs) != 3 || got.Kvs[2].ModRevision != 4 {
		t.Fatalf("unmarshal: %v %v", err, got.Kvs)
	}
	var ri storev1.ReadIndexResponse
	b, _ = c.Marshal(&storev1.ReadIndexResponse{CommitIndex: 7})
	if err := c.Unmarshal(b, &ri); err != nil || ri.CommitIndex != 7 {
		t.Fatalf("unmarshal peer message: %v %v", err, &ri)
	}
	if _, err := c.Marshal(42); err == nil {
		t.Fatal("marshalled a non-message")
	}
}

// BenchmarkRangeResponseCodec compares the codecs on a 10,000-key, 10 MiB
// range response.
func BenchmarkRangeResponseCodec(b *testing.B) {
	msg := rangeResponse(10000)
	b.Run("grpc-default", func(b *testing.B) {
		std := encoding.GetCodecV2("proto")
		for i := 0; i < b.N; i++ {
			bs, err := std.Marshal(msg)
			if err != nil {
				b.Fatal(err)
			}
			bs.Free()
		}
	})
	b.Run("gogo", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := (gogoCodec{}).Marshal(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
