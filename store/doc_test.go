package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDocListsEveryKeyTag keeps the key-layout table of doc.go true: it
// lists every table tag declared in keys.go, and nothing else.
func TestDocListsEveryKeyTag(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "keys.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "tag") {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.CHAR {
					t.Fatalf("%s: want a character literal", name.Name)
				}
				c, _, _, err := strconv.UnquoteChar(lit.Value[1:len(lit.Value)-1], '\'')
				if err != nil {
					t.Fatal(err)
				}
				tags = append(tags, string(c))
			}
		}
	}
	if len(tags) == 0 {
		t.Fatal("no tag constants found in keys.go")
	}

	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^//\t'(.)' `).FindAllSubmatch(doc, -1) {
		listed = append(listed, string(m[1]))
	}
	slices.Sort(tags)
	slices.Sort(listed)
	if !slices.Equal(listed, tags) {
		t.Errorf("doc.go's key layout lists tags %q, keys.go declares %q", listed, tags)
	}
}
