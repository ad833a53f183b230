package mvcc

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func BenchmarkRange10kPrefix(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"), true, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	val := []byte(strings.Repeat("x", 1024))
	for batch := 0; batch < 10; batch++ {
		if err := s.Apply(uint64(batch+1), func(w *WriteTxn) {
			for i := 0; i < 1000; i++ {
				if _, err := w.Put(&pb.PutRequest{Key: []byte(fmt.Sprintf("/registry/pods/ns/p-%05d", batch*1000+i)), Value: val}); err != nil {
					b.Fatal(err)
				}
			}
		}); err != nil {
			b.Fatal(err)
		}
	}
	req := &pb.RangeRequest{Key: []byte("/registry/pods/"), RangeEnd: []byte("/registry/pods0")}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := s.Range(req)
		if err != nil || len(resp.Kvs) != 10000 {
			b.Fatal(err)
		}
		if _, err := resp.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
