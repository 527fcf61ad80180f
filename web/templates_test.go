package web

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestTemplatesFailAtStartup checks that a broken or missing template is an
// error when the Handler is made, not on some later request.
func TestTemplatesFailAtStartup(t *testing.T) {
	good := fstest.MapFS{}
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(p)
		good[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	with := func(name, text string) fstest.MapFS {
		m := fstest.MapFS{}
		for k, v := range good {
			m[k] = v
		}
		if text == "" {
			delete(m, name)
		} else {
			m[name] = &fstest.MapFile{Data: []byte(text)}
		}
		return m
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string // "" for no error
	}{
		{"embedded", good, ""},
		{"unclosed action", with("templates/matrix.html", `{{define "content"}}{{range .Rows}}{{end}}`), "matrix.html"},
		{"unknown function", with("templates/flaky.html", `{{define "content"}}{{nosuchfunc .}}{{end}}`), "nosuchfunc"},
		{"missing page", with("templates/result.html", ""), "result.html"},
		{"broken layout", with("templates/layout.html", `{{define "layout"}}{{if}}{{end}}`), "layout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{assets: map[string]string{}}
			err := h.parseTemplates(tc.fsys)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tc.want != "" && err == nil:
				t.Fatalf("got no error, want one naming %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("got error %q, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestHistoryStrip(t *testing.T) {
	got := historyStrip(0b0110, 0b0100, 4)
	want := "p r f p" // oldest first: bit 3, 2, 1, 0
	var s []string
	for _, m := range got {
		s = append(s, m.Class)
	}
	if strings.Join(s, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(s, " "), want)
	}
	if n := len(historyStrip(0, 0, 99)); n != 64 {
		t.Errorf("got %d marks for n=99, want 64", n)
	}
}

func TestMatrixCellEscapes(t *testing.T) {
	var b strings.Builder
	matrixCell{Class: `v-fail" onmouseover="x`, Sym: "<b>", Title: `host<script>"'&`, URL: `/r/a"b`, N: "<i>"}.writeHTML(&b)
	got := b.String()
	want := `<td class="c"><a class="cell v-fail&#34; onmouseover=&#34;x" href="/r/a&#34;b" title="host&lt;script&gt;&#34;&#39;&amp;">&lt;b&gt;<span class="n">&lt;i&gt;</span></a></td>`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
