package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

// printTable prints the results and what the ingress adds (the second
// result against the first).
func printTable(w io.Writer, cfg config, rs []result) {
	gen := "built-in closed loop"
	if cfg.wrk {
		gen = "wrk -t2"
	}
	header := []string{"target", "requests", "errors", "req/s", "p50 ms", "p99 ms", "max ms"}
	rows := [][]string{}
	for _, r := range rs {
		rows = append(rows, []string{r.name, fmt.Sprint(r.requests), fmt.Sprint(r.errors), fmt.Sprintf("%.0f", r.rps), ms(r.p50), ms(r.p99), ms(r.max)})
	}
	if len(rs) == 2 {
		rows = append(rows, []string{"added by the ingress", "", "", "", ms(rs[1].p50 - rs[0].p50), ms(rs[1].p99 - rs[0].p99), ""})
	}
	fmt.Fprintf(w, "\ningressbench: %d connections, %v per target, %s\n\n", cfg.connections, cfg.duration, gen)
	if cfg.markdown {
		fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---|", len(header)))
		for _, r := range rows {
			fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	tw.Flush()
}
