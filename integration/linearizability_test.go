package integration

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// A history of put, get and compare-and-swap on a few keys, recorded by
// concurrent clients while members are killed (SIGKILL) and restarted, must
// be linearizable: in particular no acknowledged write is ever lost.

type kvInput struct {
	op       string // "get", "put", "cas"
	key      string
	old, val string
}

type kvOutput struct {
	val       string
	exists    bool
	succeeded bool
	unknown   bool // the call failed: it may or may not have taken effect
}

type kvState struct {
	val    string
	exists bool
}

var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(kvInput).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() interface{} { return kvState{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s, in, out := state.(kvState), input.(kvInput), output.(kvOutput)
		switch in.op {
		case "get":
			return out.exists == s.exists && out.val == s.val, s
		case "put":
			return true, kvState{val: in.val, exists: true}
		case "cas":
			match := s.exists && s.val == in.old
			if out.unknown {
				if match {
					return true, kvState{val: in.val, exists: true}
				}
				return true, s
			}
			if out.succeeded != match {
				return false, s
			}
			if match {
				return true, kvState{val: in.val, exists: true}
			}
			return true, s
		}
		return false, s
	},
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(kvInput), output.(kvOutput)
		return fmt.Sprintf("%s(%s %q %q) -> %+v", in.op, in.key, in.old, in.val, out)
	},
}

type recorder struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

func (r *recorder) add(client int, in kvInput, call int64, out kvOutput) {
	ret := r.now()
	if out.unknown {
		ret = math.MaxInt64 // may take effect at any later time
	}
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	r.mu.Unlock()
}

func TestLinearizableUnderMemberKills(t *testing.T) {
	c := startCluster(t, 3)
	const (
		clients  = 6
		keys     = 4
		duration = 20 * time.Second
	)
	rec := &recorder{start: time.Now()}
	newClient := func() *clientv3.Client {
		cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		return cli
	}
	setup := newClient()
	for k := 0; k < keys; k++ {
		ctx := testContext(t, 10*time.Second)
		call := rec.now()
		in := kvInput{op: "put", key: fmt.Sprintf("lin/%d", k), val: "init"}
		if _, err := setup.Put(ctx, in.key, in.val); err != nil {
			t.Fatal(err)
		}
		rec.add(0, in, call, kvOutput{})
	}

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for id := 1; id <= clients; id++ {
		cli := newClient()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(id)))
			last := map[string]string{}
			for seq := 0; ctx.Err() == nil; seq++ {
				key := fmt.Sprintf("lin/%d", rng.Intn(keys))
				val := fmt.Sprintf("c%d-%d", id, seq)
				opCtx, opCancel := context.WithTimeout(context.Background(), 2*time.Second)
				call := rec.now()
				switch p := rng.Intn(10); {
				case p < 4:
					resp, err := cli.Get(opCtx, key)
					if err == nil {
						out := kvOutput{exists: len(resp.Kvs) == 1}
						if out.exists {
							out.val = string(resp.Kvs[0].Value)
							last[key] = out.val
						}
						rec.add(id, kvInput{op: "get", key: key}, call, out)
					}
				case p < 7:
					_, err := cli.Put(opCtx, key, val)
					rec.add(id, kvInput{op: "put", key: key, val: val}, call, kvOutput{unknown: err != nil})
				default:
					old := last[key]
					resp, err := cli.Txn(opCtx).If(clientv3.Compare(clientv3.Value(key), "=", old)).Then(clientv3.OpPut(key, val)).Commit()
					out := kvOutput{unknown: err != nil}
					if err == nil {
						out.succeeded = resp.Succeeded
					}
					rec.add(id, kvInput{op: "cas", key: key, old: old, val: val}, call, out)
				}
				opCancel()
				time.Sleep(time.Duration(rng.Intn(3)) * time.Millisecond)
			}
		}()
	}

	// Kill a random member every couple of seconds and bring it back, so a
	// majority is up most of the time and leaders change under load.
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	kills := 0
	for ctx.Err() == nil {
		time.Sleep(1500 * time.Millisecond)
		m := c.Member(rng.Intn(c.Size()))
		if err := m.Kill(); err != nil {
			t.Fatalf("kill %s: %v", m.Name, err)
		}
		kills++
		time.Sleep(700 * time.Millisecond)
		if err := m.Restart(); err != nil {
			t.Fatalf("restart %s: %v", m.Name, err)
		}
	}
	wg.Wait()
	if err := c.WaitReady(testContext(t, 60*time.Second)); err != nil {
		t.Fatalf("cluster did not recover: %v", err)
	}
	// Final reads: every acknowledged write must still be visible.
	final := newClient()
	for k := 0; k < keys; k++ {
		key := fmt.Sprintf("lin/%d", k)
		call := rec.now()
		resp, err := final.Get(testContext(t, 10*time.Second), key)
		if err != nil {
			t.Fatal(err)
		}
		out := kvOutput{exists: len(resp.Kvs) == 1}
		if out.exists {
			out.val = string(resp.Kvs[0].Value)
		}
		rec.add(0, kvInput{op: "get", key: key}, call, out)
	}

	unknown := 0
	for _, op := range rec.ops {
		if op.Output.(kvOutput).unknown {
			unknown++
		}
	}
	t.Logf("%d operations (%d with unknown outcome), %d member kills", len(rec.ops), unknown, kills)
	res := porcupine.CheckOperationsTimeout(kvModel, rec.ops, 2*time.Minute)
	switch res {
	case porcupine.Ok:
	case porcupine.Illegal:
		t.Fatalf("history of %d operations is not linearizable", len(rec.ops))
	default:
		t.Fatalf("linearizability check did not finish (%v); shorten the run", res)
	}
}

// The checker must be able to fail: a write acknowledged before a read
// that does not see it is a violation.
func TestKVModelRejectsLostWrite(t *testing.T) {
	ops := []porcupine.Operation{
		{ClientId: 0, Input: kvInput{op: "put", key: "k", val: "a"}, Call: 0, Output: kvOutput{}, Return: 10},
		{ClientId: 1, Input: kvInput{op: "get", key: "k"}, Call: 20, Output: kvOutput{}, Return: 30},
	}
	if porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("a read missing an acknowledged write was accepted")
	}
	ops[1].Output = kvOutput{val: "a", exists: true}
	if !porcupine.CheckOperations(kvModel, ops) {
		t.Fatal("a correct history was rejected")
	}
	cas := porcupine.Operation{ClientId: 2, Input: kvInput{op: "cas", key: "k", old: "x", val: "b"}, Call: 40, Output: kvOutput{succeeded: true}, Return: 50}
	if porcupine.CheckOperations(kvModel, append(ops, cas)) {
		t.Fatal("a compare-and-swap that succeeded against the wrong value was accepted")
	}
}
