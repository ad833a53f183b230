// Package cluster starts multi-member key-value store clusters as real
// processes on 127.0.0.1, for integration tests and benchmarks.
//
// The same harness runs either gantry-store or etcd: both accept etcd's flag
// names, so a Flavor is little more than the path of a binary. Every member
// gets free ports (picked by listening on :0 and releasing them), a data
// directory and a log file under one temporary directory, which Close
// removes after killing every process the cluster started.
//
// Tests call Start, which fails the test on error and registers Close with
// t.Cleanup (printing the members' logs when the test failed). Programs call
// Launch and defer Close.
package cluster
