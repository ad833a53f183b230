package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// targetServices and target are the goal: a single change with
// 10,000 Services installed in at most 200 ms at p99.
const (
	targetServices = 10000
	target         = 200 * time.Millisecond
)

func msec(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }
func sec(d time.Duration) string  { return fmt.Sprintf("%.2f", d.Seconds()) }

// printTable prints one row per size and mode, then the reference and
// the target.
func printTable(w io.Writer, cfg config, rs []result) {
	header := []string{"mode", "services", "rules", "start→installed s", "first full sync s", "full resync s",
		"change p50 ms", "p90 ms", "p99 ms", "max ms", "partial sync ms", "met a full sync", "target"}
	var rows [][]string
	var notes []string
	for _, r := range rs {
		if r.unavailable != "" {
			if n := r.mode + ": not available (" + r.unavailable + ")"; !slices.Contains(notes, n) {
				notes = append(notes, n)
			}
			continue
		}
		if r.tooSlow {
			notes = append(notes, fmt.Sprintf("%s: the first sync with %d Services did not end within %v (-timeout); larger sizes not run",
				r.mode, r.services, cfg.timeout))
		}
		if r.tooSlow || r.notRun {
			rows = append(rows, slowRow(cfg, r))
			continue
		}
		s := slices.Sorted(slices.Values(r.latencies))
		verdict := "—"
		if r.services == targetServices {
			verdict = "p99 ≤ 200 ms: met"
			if percentile(s, 0.99) > target {
				verdict = "p99 ≤ 200 ms: MISSED"
			}
		}
		resync := "—"
		switch {
		case r.restartSlow:
			resync = "> " + cfg.timeout.String()
		case cfg.resync:
			resync = sec(r.restartFull)
		}
		rows = append(rows, []string{r.mode, fmt.Sprint(r.services), fmt.Sprintf("%.0f", r.rules),
			sec(r.startToSynced), sec(r.firstFull), resync,
			msec(percentile(s, 0.5)), msec(percentile(s, 0.9)), msec(percentile(s, 0.99)), msec(s[len(s)-1]),
			msec(r.partialMean), fmt.Sprintf("%d of %d", r.metFull, len(s)), verdict})
	}
	fmt.Fprintf(w, "\nproxybench: %d endpoints per Service (all remote), %d single changes per row, "+
		"--iptables-min-sync-period %v, --iptables-sync-period %v\n\n", cfg.endpoints, cfg.changes, cfg.minSyncPeriod, cfg.syncPeriod)
	if cfg.markdown {
		fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---|", len(header)))
		for _, r := range rows {
			fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintf(w, "\nreference: kube-proxy iptables mode, ~5 s median network programming latency in Kubernetes' 5,000-node test, after KEP-3453's partial restores\n")
	fmt.Fprintf(w, "target:    a single change with %d Services installed in <= %v at p99 on this machine\n", targetServices, target)
}

// slowRow is the row of a size and mode whose first sync did not end in
// time, or that was not run after a smaller size's did not.
func slowRow(cfg config, r result) []string {
	first := "> " + cfg.timeout.String()
	if r.notRun {
		first = "not run"
	}
	row := []string{r.mode, fmt.Sprint(r.services), "—", first, first}
	for len(row) < 12 {
		row = append(row, "—")
	}
	verdict := "—"
	if r.services == targetServices {
		verdict = "not measured"
	}
	return append(row, verdict)
}
