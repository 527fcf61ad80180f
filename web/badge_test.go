package web

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

var updateBadges = flag.Bool("update-badges", false, "rewrite testdata/badge/*.svg from the current output")

// svgText is what a badge says, read back from its SVG by an XML parser.
type svgText struct {
	Width  int
	Title  string
	Aria   string
	Rects  []int // the widths of the two coloured boxes
	Fills  []string
	Texts  []string // every <text>, shadow then text, label then message
	Others []string // any element outside the expected set
}

// parseBadge checks that b is well-formed XML and returns what it says.
func parseBadge(t *testing.T, b []byte) svgText {
	t.Helper()
	var s svgText
	allowed := map[string]bool{"svg": true, "title": true, "linearGradient": true, "stop": true, "clipPath": true, "rect": true, "g": true, "text": true}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("badge is not well-formed XML: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			if !allowed[name] {
				s.Others = append(s.Others, name)
			}
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch {
			case name == "svg":
				s.Width, _ = strconv.Atoi(attr["width"])
				s.Aria = attr["aria-label"]
			case name == "rect" && len(stack) > 0 && stack[len(stack)-1] == "g" && attr["fill"] != "url(#s)":
				w, _ := strconv.Atoi(attr["width"])
				s.Rects = append(s.Rects, w)
				s.Fills = append(s.Fills, attr["fill"])
			}
			stack = append(stack, name)
			text.Reset()
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			switch tok.Name.Local {
			case "title":
				s.Title = text.String()
			case "text":
				s.Texts = append(s.Texts, text.String())
			}
			stack = stack[:len(stack)-1]
		}
	}
	return s
}

func TestBadgeGolden(t *testing.T) {
	cases := []struct {
		name string
		spec badgeSpec
	}{
		{"passing", badgeSpec{"tests", "passing", badgeGreen}},
		{"failing", badgeSpec{"tests", "3 failing", badgeRed}},
		{"no-results", badgeSpec{"tests", "no results", badgeGrey}},
		{"env", badgeSpec{"ci-linux-3 go1.22.4 linux-amd64", "127 failing", badgeRed}},
		{"incomplete", badgeSpec{"Ünïcode 測試", "incomplete", badgeYellow}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.spec.svg()
			s := parseBadge(t, got)
			title := tc.spec.Label + ": " + tc.spec.Message
			if s.Title != title || s.Aria != title {
				t.Errorf("title, aria-label: got %q, %q, want %q", s.Title, s.Aria, title)
			}
			if len(s.Rects) != 2 || s.Rects[0]+s.Rects[1] != s.Width {
				t.Errorf("boxes: got %v in width %d, want two filling it", s.Rects, s.Width)
			} else if s.Fills[1] != tc.spec.Color {
				t.Errorf("message colour: got %q, want %q", s.Fills[1], tc.spec.Color)
			}
			want := []string{tc.spec.Label, tc.spec.Label, tc.spec.Message, tc.spec.Message}
			if strings.Join(s.Texts, "|") != strings.Join(want, "|") {
				t.Errorf("texts: got %q, want %q", s.Texts, want)
			}
			path := filepath.Join("testdata", "badge", tc.name+".svg")
			if *updateBadges {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run with -update-badges to write it): %v", err)
			}
			if !bytes.Equal(got, golden) {
				t.Errorf("%s: got\n%s\nwant\n%s", path, got, golden)
			}
		})
	}
}

// TestTextWidth checks the width table against shields.io's flat badges:
// the classic "build | passing" badge is 90px wide, 37 + 53 with padding;
// "tests" measures like "build".
func TestTextWidth(t *testing.T) {
	for i, w := range verdanaASCII {
		if w <= 0 {
			t.Errorf("width of %q: got %d, want > 0", rune(0x20+i), w)
		}
	}
	cases := []struct {
		text string
		want int // the box width: ceil(text) + 10
	}{
		{"passing", 53},
		{"build", 37},
		{"tests", 37},
	}
	for _, tc := range cases {
		got := int(textWidth(tc.text)+0.999999) + 10
		if d := got - tc.want; d < -1 || d > 1 {
			t.Errorf("box of %q: got %d, want %d±1", tc.text, got, tc.want)
		}
	}
	if textWidth("mmmm") <= textWidth("iiii") || textWidth("測試") <= textWidth("ab") {
		t.Errorf("widths: got m %v i %v 測試 %v ab %v, want wider letters wider", textWidth("mmmm"), textWidth("iiii"), textWidth("測試"), textWidth("ab"))
	}
}

func TestBadgeHandler(t *testing.T) {
	f := newFBFixture(t)
	pass := pony.Step{Type: "test", Name: "t", Tests: []pony.TestResult{{Name: "TestA", Status: pony.StatusPass}, {Name: "TestB", Status: pony.StatusPass}}}
	fail := pony.Step{Type: "test", Name: "t", Status: 1, Tests: []pony.TestResult{
		{Name: "TestA", Status: pony.StatusFail}, {Name: "TestB", Status: pony.StatusError}, {Name: "TestC", Status: pony.StatusPass}}}
	linux := fbBag("gin", "ci-linux-3", pass)
	f.ingest(linux)
	mac := fbBag("gin", "ci-mac-1", fail)
	mac.ClientInfo.Arch, mac.ClientInfo.Tags = "darwin-arm64", []string{"nightly"}
	f.ingest(mac)
	slashed := fbBag("org/lib", "h", pass)
	f.ingest(slashed)
	buildErr := fbBag("broken", "h", pony.Step{Type: "build", Name: "make", Status: 2})
	f.ingest(buildErr)

	cases := []struct {
		target      string
		label, msg  string
		color       string
		wantCaching bool
	}{
		{"/p/gin/badge.svg", "tests", "2 failing", badgeRed, true}, // the newest result: the mac one
		{"/p/gin/badge.svg?host=ci-linux-3", "ci-linux-3", "passing", badgeGreen, true},
		{"/p/gin/badge.svg?arch=darwin-arm64&tag=nightly", "darwin-arm64 nightly", "2 failing", badgeRed, true},
		{"/p/gin/badge.svg?tag=weekly", "weekly", "no results", badgeGrey, true},
		{"/p/gin/badge.svg?host=ci-linux-3&label=gin", "gin", "passing", badgeGreen, true},
		{"/p/" + url.PathEscape("org/lib") + "/badge.svg", "tests", "passing", badgeGreen, true},
		{"/p/broken/badge.svg", "tests", "failing", badgeRed, true},
		{"/p/no-such-package/badge.svg", "tests", "no results", badgeGrey, true},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			rec := f.get(tc.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("status: got %d %s, want 200", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "image/svg+xml; charset=utf-8" {
				t.Errorf("content type: got %q, want image/svg+xml; charset=utf-8", ct)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=60" {
				t.Errorf("cache-control: got %q, want public, max-age=60", cc)
			}
			s := parseBadge(t, rec.Body.Bytes())
			if want := tc.label + ": " + tc.msg; s.Title != want {
				t.Errorf("title: got %q, want %q", s.Title, want)
			}
			if len(s.Fills) != 2 || s.Fills[1] != tc.color {
				t.Errorf("colours: got %q, want [%s %s]", s.Fills, badgeLabelColor, tc.color)
			}
		})
	}
}

// TestBadgeEscaping: hostile names from the store and from the query
// come back as text, never as markup.
func TestBadgeEscaping(t *testing.T) {
	f := newFBFixture(t)
	bag := fbBag(hostileName, hostileName, pony.Step{Type: "test", Name: "t", Tests: []pony.TestResult{{Name: hostileName, Status: pony.StatusPass}}})
	f.ingest(bag)
	cases := []struct {
		target string
		label  string
		msg    string
	}{
		{"/p/" + url.PathEscape(hostileName) + "/badge.svg?host=" + url.QueryEscape(hostileName), hostileName, "passing"},
		{"/p/" + url.PathEscape(hostileName) + "/badge.svg?label=" + url.QueryEscape(`"/><script>x</script>`), `"/><script>x</script>`, "passing"},
		{"/p/x/badge.svg?label=" + url.QueryEscape("a\x01b]]>&"), "a\uFFFDb]]>&", "no results"},
		{"/p/x/badge.svg?label=" + strings.Repeat("w", 500), strings.Repeat("w", badgeMaxRunes-1) + "…", "no results"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			rec := f.get(tc.target)
			body := rec.Body.Bytes()
			if bytes.Contains(body, []byte("<script")) {
				t.Errorf("badge holds an unescaped <script>:\n%s", body)
			}
			s := parseBadge(t, body)
			if len(s.Others) > 0 {
				t.Errorf("elements: got unexpected %q", s.Others)
			}
			if want := tc.label + ": " + tc.msg; s.Title != want {
				t.Errorf("title: got %q, want %q", s.Title, want)
			}
		})
	}
}

// The pages read through Scoreboard; the Service must satisfy it.
var _ Scoreboard = (*aggregator.Service)(nil)
