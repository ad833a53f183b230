// Package tokens keeps the API server's static token file (pki/tokens.csv)
// of a one-host cluster and the per-client copies of the tokens
// (pki/<client>.token) the daemons read.
//
// Each line of tokens.csv is token,user,uid,"group1,group2". The admin's
// line is always the first; the others are appended as clients appear,
// so existing tokens never change.
package tokens

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-dev/gantry/services/cli/internal/fsutil"
)

// Client is one identity in the token file.
type Client struct {
	// Name names the token's copy, <pki>/<Name>.token; empty for none.
	Name   string
	User   string
	UID    string
	Groups string // comma-separated, written quoted
}

// line renders the client's line of tokens.csv.
func (c Client) line(token string) string {
	return fmt.Sprintf("%s,%s,%s,%q\n", token, c.User, c.UID, c.Groups)
}

// Admin is the cluster administrator, the first line of the file.
var Admin = Client{User: "admin", UID: "admin", Groups: "system:masters"}

// Clients are the identities of the daemons of a one-host cluster on
// node nodeName, in the order their lines are added.
func Clients(nodeName string) []Client {
	return []Client{
		{Name: "agent", User: "system:node:" + nodeName, UID: "node-" + nodeName, Groups: "system:nodes"},
		{Name: "scheduler", User: "system:kube-scheduler", UID: "kube-scheduler"},
		{Name: "controllers", User: "system:kube-controller-manager", UID: "kube-controller-manager"},
		{Name: "proxy", User: "system:kube-proxy", UID: "kube-proxy"},
		{Name: "ingress", User: "system:gantry-ingress", UID: "gantry-ingress"},
	}
}

// NewToken returns 16 random bytes in hex.
func NewToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Lookup returns the token of user in the file content data.
func Lookup(data []byte, user string) (string, bool) {
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(strings.TrimSpace(line), ",", 4)
		if len(f) >= 2 && f[1] == user && f[0] != "" {
			return f[0], true
		}
	}
	return "", false
}

// First returns the token of the file's first line: the admin's.
func First(data []byte) (string, bool) {
	line, _, _ := strings.Cut(string(data), "\n")
	tok, _, ok := strings.Cut(strings.TrimSpace(line), ",")
	return tok, ok && tok != ""
}

// Plan returns the file content with lines added for the admin (if the
// file is empty) and for every client without one, and whether it
// changed. newToken makes each new token.
func Plan(data []byte, clients []Client, newToken func() (string, error)) ([]byte, bool, error) {
	out := bytes.Clone(data)
	changed := false
	add := func(c Client) error {
		tok, err := newToken()
		if err != nil {
			return err
		}
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, c.line(tok)...)
		changed = true
		return nil
	}
	if len(bytes.TrimSpace(out)) == 0 {
		out = nil
		if err := add(Admin); err != nil {
			return nil, false, err
		}
	}
	for _, c := range clients {
		if _, ok := Lookup(out, c.User); ok {
			continue
		}
		if err := add(c); err != nil {
			return nil, false, err
		}
	}
	return out, changed, nil
}

// Ensure makes pkiDir/tokens.csv hold the admin and every client, and
// writes each client's token to pkiDir/<Name>.token. It reports whether
// tokens.csv changed (an API server reading it must then restart).
// pkiDir is made private to the user.
func Ensure(pkiDir string, clients []Client) (bool, error) {
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return false, err
	}
	if err := os.Chmod(pkiDir, 0o700); err != nil {
		return false, err
	}
	path := filepath.Join(pkiDir, "tokens.csv")
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return false, err
	}
	data, changed, err := Plan(old, clients, NewToken)
	if err != nil {
		return false, err
	}
	if changed {
		if err := writePrivate(path, data); err != nil {
			return false, err
		}
	}
	for _, c := range clients {
		if c.Name == "" {
			continue
		}
		tok, _ := Lookup(data, c.User)
		if err := writePrivate(filepath.Join(pkiDir, c.Name+".token"), []byte(tok+"\n")); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// AdminToken reads the admin's token from a token file.
func AdminToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok, ok := First(data)
	if !ok {
		return "", fmt.Errorf("%s: no admin token on the first line", path)
	}
	return tok, nil
}

// writePrivate replaces path with data, readable by the user only,
// unless it holds data already.
func writePrivate(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return os.Chmod(path, 0o600)
	}
	return fsutil.ReplaceFile(path, data)
}
