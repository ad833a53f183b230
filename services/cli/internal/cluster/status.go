package cluster

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Row is one line of Status: a daemon (or the node, or cluster DNS), its
// process and its health.
type Row struct {
	Name    string
	Process string // "pid 42", "not running", "system"
	Check   string // what was asked
	Err     error  // nil if healthy
}

// Healthy reports whether the row is healthy.
func (r Row) Healthy() bool { return r.Err == nil }

// Status checks every daemon, the node and cluster DNS.
func (c *Cluster) Status() []Row {
	var rows []Row
	for _, d := range c.daemons() {
		if d.name == "gantry-agent" {
			rows = append(rows, c.containerdRow())
		}
		st := c.status(d.name)
		r := Row{Name: d.name, Check: d.health}
		if st.Running {
			r.Process = "pid " + strconv.Itoa(st.PID)
		} else {
			r.Process = "not running"
		}
		r.Err = d.ready()
		if r.Err == nil && !st.Running {
			r.Err = fmt.Errorf("healthy, but %s", st.Reason) // someone else's process
		}
		rows = append(rows, r)
	}
	node := Row{Name: "node " + c.nodeName, Process: "-", Check: "Ready condition"}
	if get, err := c.apiGetter(); err != nil {
		node.Err = err
	} else if body, err := get("/api/v1/nodes/" + c.nodeName); err != nil {
		node.Err = err
	} else {
		node.Err = nodeReady(body)
	}
	rows = append(rows, node)
	dnsRow := Row{Name: "cluster DNS", Process: "-", Check: dnsProbeName + " A @" + clusterDNS}
	_, dnsRow.Err = lookupA(clusterDNS, dnsProbeName)
	return append(rows, dnsRow)
}

func (c *Cluster) containerdRow() Row {
	st := c.status(containerdName)
	if st.Running {
		return Row{Name: containerdName, Process: "pid " + strconv.Itoa(st.PID),
			Check: "ctr version @" + c.ownContainerdSocket(), Err: containerdAnswers(c.ownContainerdSocket())}
	}
	r := Row{Name: containerdName, Process: "system", Check: "ctr version @" + systemContainerd,
		Err: containerdAnswers(systemContainerd)}
	if r.Err != nil {
		r.Process = "not running"
	}
	return r
}

// PrintStatus writes rows as a table.
func PrintStatus(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tPROCESS\tCHECK\tHEALTH")
	for _, r := range rows {
		health := "ok"
		if r.Err != nil {
			health = "FAIL: " + oneLine(r.Err.Error())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Process, r.Check, health)
	}
	return tw.Flush()
}

// oneLine keeps the first line of s, shortened for a table.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}
