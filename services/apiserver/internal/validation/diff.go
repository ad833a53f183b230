package validation

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// objectDiff describes how b differs from a, one changed field per pair of
// lines ("- path: old" then "+ path: new"), paths in JSON field names. It
// stands in for the go-cmp diff Kubernetes appends to some messages.
func objectDiff(a, b any) string {
	var av, bv any
	if err := roundTrip(a, &av); err != nil {
		return fmt.Sprintf("%#v\n%#v", a, b)
	}
	if err := roundTrip(b, &bv); err != nil {
		return fmt.Sprintf("%#v\n%#v", a, b)
	}
	var lines []string
	diffValues("", av, bv, &lines)
	return strings.Join(lines, "\n")
}

func roundTrip(in any, out *any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

func diffValues(path string, a, b any, lines *[]string) {
	if reflect.DeepEqual(a, b) {
		return
	}
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		for _, k := range unionKeys(am, bm) {
			diffValues(joinPath(path, k), am[k], bm[k], lines)
		}
		return
	}
	as, aIsList := a.([]any)
	bs, bIsList := b.([]any)
	if aIsList && bIsList {
		for i := 0; i < max(len(as), len(bs)); i++ {
			var x, y any
			if i < len(as) {
				x = as[i]
			}
			if i < len(bs) {
				y = bs[i]
			}
			diffValues(fmt.Sprintf("%s[%d]", path, i), x, y, lines)
		}
		return
	}
	if a != nil {
		*lines = append(*lines, "- "+path+": "+render(a))
	}
	if b != nil {
		*lines = append(*lines, "+ "+path+": "+render(b))
	}
}

func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func render(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
