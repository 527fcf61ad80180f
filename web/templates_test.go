package web

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"
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
	tests := []struct {
		name string
		cell matrixCell
		want string
	}{
		{"link", matrixCell{Class: `v-fail" onmouseover="x`, Sym: "<b>", Title: `host<script>"'&`, URL: `/r/a"b`, N: "<i>"},
			`<td class="v-fail&#34; onmouseover=&#34;x"><a href="/r/a&#34;b" title="host&lt;script&gt;&#34;&#39;&amp;">&lt;b&gt;<b>&lt;i&gt;</b></a>`},
		{"no link, no title", matrixCell{Class: `M"`, Sym: "<?>"},
			`<td class="M&#34;"><i>&lt;?&gt;</i>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tt.cell.writeHTML(&b)
			if got := b.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		args []string
		want string
	}{
		{0, []string{"result"}, "0 results"},
		{1, []string{"result"}, "1 result"},
		{2, []string{"retry flake"}, "2 retry flakes"},
		{1, []string{"child", "children"}, "1 child"},
		{3, []string{"child", "children"}, "3 children"},
	}
	for _, tt := range tests {
		if got := plural(tt.n, tt.args[0], tt.args[1:]...); got != tt.want {
			t.Errorf("plural(%d, %q): got %q, want %q", tt.n, tt.args, got, tt.want)
		}
	}
}

// TestBarChartZeros checks that durations of 0 draw no bar but keep the
// baseline and the x axis's labels.
func TestBarChartZeros(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	pts := []point{{V: 0, Time: t0}, {V: 0, Time: t0.Add(26 * time.Hour)}}
	c := barChart(pts, 1200, 170, "durations", formatDuration)
	if len(c.Bars) != 0 || len(c.Dots) != 2 {
		t.Errorf("got %d bars and %d dots for 2 durations of 0, want no bar and 2 dots on the baseline", len(c.Bars), len(c.Dots))
	}
	for _, d := range c.Dots {
		if d.Y != c.Base {
			t.Errorf("got a dot at y %v, want it on the baseline at %v", d.Y, c.Base)
		}
	}
	if want := 170 - chartBottom; c.Base != want {
		t.Errorf("got baseline at %v, want %v", c.Base, want)
	}
	var labels []string
	for _, l := range c.XLabels {
		labels = append(labels, l.Text)
	}
	if got, want := strings.Join(labels, " | "), "Nov 20 10:00 UTC | Nov 21 12:00 UTC"; got != want {
		t.Errorf("got x labels %q, want %q", got, want)
	}
	if len(c.YLabels) != 1 || c.YLabels[0].Text != "0" {
		t.Errorf("got y labels %+v, want only the zero line", c.YLabels)
	}
}
