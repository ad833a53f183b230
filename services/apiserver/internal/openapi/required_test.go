package openapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
)

// TestOptionalWithoutOmitemptyIsCurrent re-reads the "+optional" markers
// from the sources of the Go types the documents describe, when the
// module sources are on disk, and checks optionalWithoutOmitempty
// against them.
func TestOptionalWithoutOmitemptyIsCurrent(t *testing.T) {
	moduleDirs := goModuleDirs(t, "k8s.io/api", "k8s.io/apimachinery")
	s := describedTypes(t)

	want := map[string]bool{}
	byDir := map[string]map[string][]string{}
	for typ, name := range s.names {
		dir := packageDir(moduleDirs, typ.PkgPath())
		if dir == "" {
			continue
		}
		if byDir[dir] == nil {
			byDir[dir] = optionalFieldsWithoutOmitempty(t, dir)
		}
		for _, field := range byDir[dir][typ.Name()] {
			want[name+"."+field] = true
		}
	}
	for key := range want {
		if !optionalWithoutOmitempty[key] {
			t.Errorf("%s is +optional without omitempty; add it to optionalWithoutOmitempty", key)
		}
	}
	for key := range optionalWithoutOmitempty {
		def := key[:strings.LastIndex(key, ".")]
		if _, described := s.defs[def]; described && !want[key] {
			t.Errorf("%s is no longer +optional without omitempty; remove it", key)
		}
	}
}

// describedTypes returns the schema set of the served documents: every
// type their operations reach, and only those.
func describedTypes(t *testing.T) *schemaSet {
	t.Helper()
	s := newSchemaSet(true, api.Scheme)
	for _, gv := range groupVersions(api.Resources) {
		routes, err := groupVersionRoutes(gv, inGroupVersion(api.Resources, gv))
		if err != nil {
			t.Fatal(err)
		}
		buildV3(routes, s)
	}
	return s
}

func goModuleDirs(t *testing.T, modules ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Dir}}"}, modules...)...).Output()
	if err != nil {
		t.Skipf("module sources not available: %v", err)
	}
	dirs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dir, _ := strings.Cut(line, " ")
		if dir == "" {
			t.Skipf("module %s not on disk", path)
		}
		dirs[path] = dir
	}
	return dirs
}

func packageDir(moduleDirs map[string]string, pkgPath string) string {
	for module, dir := range moduleDirs {
		if pkgPath == module || strings.HasPrefix(pkgPath, module+"/") {
			return filepath.Join(dir, strings.TrimPrefix(pkgPath, module))
		}
	}
	return ""
}

// optionalFieldsWithoutOmitempty parses the package in dir and returns,
// by struct type name, the JSON names of fields documented "+optional"
// whose JSON tag lacks omitempty.
func optionalFieldsWithoutOmitempty(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	out := map[string][]string{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if st, ok := spec.Type.(*ast.StructType); ok {
				out[spec.Name.Name] = append(out[spec.Name.Name], optionalWithoutOmitemptyIn(st)...)
			}
			return false
		})
	}
	return out
}

func optionalWithoutOmitemptyIn(st *ast.StructType) []string {
	var out []string
	for _, field := range st.Fields.List {
		if field.Tag == nil || field.Doc == nil || !strings.Contains(field.Doc.Text(), "+optional") {
			continue
		}
		tag := reflect.StructTag(strings.Trim(field.Tag.Value, "`")).Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" || strings.Contains(opts, "omitempty") {
			continue
		}
		out = append(out, name)
	}
	return out
}
