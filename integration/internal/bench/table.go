package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Flavor names as they appear in the table's columns.
const (
	Etcd   = "etcd"
	Gantry = "gantry"
)

// A Table collects results per flavor and cluster size and prints them side
// by side: for every size, etcd, gantry and the ratio gantry/etcd.
type Table struct {
	Clients int
	Sizes   []int // cluster sizes, in column order
	results map[string]Results
}

// Add records the results of one flavor at one cluster size.
func (t *Table) Add(flavor string, members int, r Results) {
	if t.results == nil {
		t.results = map[string]Results{}
	}
	t.results[cell(flavor, members)] = r
}

func cell(flavor string, members int) string { return fmt.Sprintf("%s %dm", flavor, members) }

// rows returns the header and the body of the table as strings.
func (t *Table) rows() (header []string, body [][]string) {
	header = []string{"workload"}
	for _, n := range t.Sizes {
		header = append(header, cell(Etcd, n), cell(Gantry, n), "ratio")
	}
	for _, m := range Metrics {
		label := m.Label
		if strings.Contains(label, "%d") {
			label = fmt.Sprintf(label, t.Clients)
		}
		if m.Unit == "ms" {
			label += " (ms, lower is better)"
		} else {
			label += " (" + m.Unit + ")"
		}
		row := []string{label}
		for _, n := range t.Sizes {
			e, eok := t.results[cell(Etcd, n)][m.ID]
			g, gok := t.results[cell(Gantry, n)][m.ID]
			ratio := "-"
			if eok && gok && e > 0 {
				ratio = fmt.Sprintf("%.2fx", g/e)
			}
			row = append(row, format(e, eok, m.Unit), format(g, gok, m.Unit), ratio)
		}
		body = append(body, row)
	}
	return header, body
}

func format(v float64, ok bool, unit string) string {
	switch {
	case !ok:
		return "-"
	case unit == "ms":
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return thousands(int64(v + 0.5))
	}
}

// thousands formats n with comma separators: 22613 -> "22,613".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Write prints the table aligned for a terminal, or as Markdown.
func (t *Table) Write(w io.Writer, markdown bool) error {
	header, body := t.rows()
	var b strings.Builder
	if markdown {
		line := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
		line(header)
		align := []string{"---"}
		for range header[1:] {
			align = append(align, "---:")
		}
		line(align)
		for _, row := range body {
			line(row)
		}
	} else {
		widths := make([]int, len(header))
		for _, row := range append([][]string{header}, body...) {
			for i, c := range row {
				widths[i] = max(widths[i], len(c))
			}
		}
		line := func(cells []string) {
			for i, c := range cells {
				if i == 0 {
					fmt.Fprintf(&b, "%-*s", widths[i], c)
				} else {
					fmt.Fprintf(&b, "  %*s", widths[i], c)
				}
			}
			b.WriteString("\n")
		}
		line(header)
		for _, row := range body {
			line(row)
		}
	}
	b.WriteString("\nratio = gantry / etcd: above 1 is better for ops/s, below 1 is better for ms.\n")
	_, err := io.WriteString(w, b.String())
	return err
}
