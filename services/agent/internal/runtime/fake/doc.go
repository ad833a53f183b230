// Package fake is an in-memory runtime.Runtime for tests and for
// simulated nodes: sandboxes, containers and images live in maps, nothing
// touches the host, and a container "runs" from the moment it starts.
//
// It is cheap enough for thousands of simulated nodes in one process: a
// Runtime owns one goroutine (the event pump), and a container costs a
// timer only while it is due to exit on its own.
//
// # Images
//
// Every image is present and pulls instantly, except that by default
//
//   - a reference containing "missing" fails to pull, as a registry
//     answering "not found" does (and is absent under policy Never);
//   - a reference containing "private" fails to pull unless the pull
//     carries credentials for its registry.
//
// Config.PullError replaces that rule.
//
// # Container behaviour
//
// Containers are told how to behave by variables in their environment
// (ContainerConfig.Env), so a pod spec alone can script a simulated
// workload:
//
//	FAKE_RUN_FOR=5s          exit on its own 5s after starting (default: run until stopped)
//	FAKE_EXIT_CODE=3         the code it then exits with (default 0)
//	FAKE_OOM=true            be OOM-killed (exit 137, reason OOMKilled) instead,
//	                         at start or after FAKE_RUN_FOR
//	FAKE_MEMORY=200Mi        memory it uses (Stats); above its memory limit it is
//	                         OOM-killed, as with FAKE_OOM
//	FAKE_CPU=250m            CPU it uses (Stats)
//	FAKE_START_ERROR=msg     StartContainer fails with msg; the container exits with 128
//	FAKE_IGNORE_SIGTERM=true StopContainer waits the whole grace period, then kills (137)
//	FAKE_STOP_EXIT_CODE=143  the code it exits with on SIGTERM (default 0)
//	FAKE_EXEC_EXIT_CODE=1    what Exec in it returns (default 0)
//	FAKE_EXEC_OUTPUT=text    what Exec in it writes to stdout
//	FAKE_LOG=line1\nline2    lines written to its log file (in the CRI format) when it starts
//
// Without FAKE_EXEC_OUTPUT, Exec of "echo args..." prints the arguments
// and "cat" copies stdin to stdout; Config.Exec replaces Exec altogether.
// Tests can also end a container at a moment of their choosing with Exit
// and OOMKill.
//
// Exits and OOM kills are delivered on Events in the order they happen (an
// OOM kill as an EventOOM followed by its EventExit); the channel is closed
// by Close. Times come from Config.Clock, so tests drive exits with a fake
// clock; a container's FinishedAt is exactly StartedAt + FAKE_RUN_FOR.
package fake
