// Package logger is the container log writer that containerd's runc shim
// starts for every container (a "binary://" log URI naming the agent's own
// executable). The agent's main calls Main when it is invoked as
// "gantry-agent logger <options>".
//
// The shim hands the process three file descriptors: 3 is the container's
// stdout, 4 its stderr, 5 a pipe the logger closes once it is ready to
// read. Every line read is written to the log file in the CRI format the
// kubelet and kubectl know:
//
//	2024-05-01T10:00:00.123456789Z stdout F hello
//
// "F" ends a line; lines longer than MaxLineBytes are cut into "P"
// (partial) pieces followed by an "F" one. The file is rotated when it would
// grow past Options.MaxBytes: name.log becomes name.log.1, name.log.1
// becomes name.log.2, and so on, keeping Options.MaxFiles files in all.
//
// The shim passes the logger's arguments as the query of the log URI, in
// map order, so everything travels in one query value: URIArgs builds it
// and Main parses it.
package logger
