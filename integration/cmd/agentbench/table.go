package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets (this 2-core machine), and Kubernetes' pod startup SLO for scale.
const (
	targetP50OverFloor = 150 * time.Millisecond
	targetP99          = time.Second
	k8sSLOP99          = 5 * time.Second
)

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

func logSummary(what string, d []time.Duration, total time.Duration) {
	logf("%s: p50 %s ms, p99 %s ms, max %s ms, total %s ms", what,
		ms(percentile(d, 0.5)), ms(percentile(d, 0.99)), ms(slices.Max(d)), ms(total))
}

func printTable(w io.Writer, cfg config, seq, burst floorResult, ar agentResult) {
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	agentP50, agentP99 := percentile(ar.perPod, 0.5), percentile(ar.perPod, 0.99)
	floorP50 := percentile(seq.perContainer, 0.5)
	diff := agentP50 - floorP50
	n, c := cfg.pods, cfg.floor
	rows := [][]string{
		{"measurement", "p50 (ms)", "p99 (ms)", "total (ms)", "target"},
		{fmt.Sprintf("floor: containerd create+start, %d one after another", c), ms(floorP50), ms(percentile(seq.perContainer, 0.99)), ms(seq.total), ""},
		{fmt.Sprintf("floor: containerd create+start, %d at once", c), ms(percentile(burst.perContainer, 0.5)), ms(percentile(burst.perContainer, 0.99)), ms(burst.total), ""},
		{fmt.Sprintf("agent: pod create to Running, %d at once", n), ms(agentP50), ms(agentP99), ms(ar.total),
			fmt.Sprintf("p99 <= %s: %s", ms(targetP99), mark(agentP99 <= targetP99))},
		{"agent p50 - floor p50 (one after another)", ms(diff), "", "",
			fmt.Sprintf("<= %s: %s", ms(targetP50OverFloor), mark(diff <= targetP50OverFloor))},
		{"agent p50 - floor p50 (at once)", ms(agentP50 - percentile(burst.perContainer, 0.5)), "", "", ""},
		{"agent: the create calls alone", ms(percentile(ar.createAPI, 0.5)), ms(percentile(ar.createAPI, 0.99)), "", ""},
		{"Kubernetes SLO (image present, for reference)", "", ms(k8sSLOP99), "", ""},
		{fmt.Sprintf("removal: floor %d one after another / %d at once / agent %d pods deleted", c, c, n), "", "",
			fmt.Sprintf("%s / %s / %s", ms(seq.remove), ms(burst.remove), ms(ar.deleteAll)), ""},
	}
	if cfg.markdown {
		for i, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
			if i == 0 {
				fmt.Fprintln(w, "| --- | ---: | ---: | ---: | --- |")
			}
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t\n", r[0], strings.Join(r[1:], "\t"))
	}
	tw.Flush()
}
