package proxy

import (
	"fmt"
	"html"
	"net/http"
	"strings"
)

// errorPage writes a small HTML (or, for clients that prefer it, plain
// text) page saying what went wrong.
func errorPage(w http.ResponseWriter, r *http.Request, code int, detail string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	title := fmt.Sprintf("%d %s", code, http.StatusText(code))
	if wantsHTML(r) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head>\n<body>\n<h1>%s</h1>\n<p>%s</p>\n<hr><p>gantry-ingress</p>\n</body></html>\n",
			title, title, html.EscapeString(detail))
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "%s\n%s\n", title, detail)
}

// wantsHTML reports whether the client accepts text/html (browsers).
func wantsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}
