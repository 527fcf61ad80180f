package web

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

// Badge colours, those of shields.io.
const (
	badgeLabelColor = "#555"
	badgeGreen      = "#4c1"
	badgeRed        = "#e05d44"
	badgeYellow     = "#dfb317"
	badgeGrey       = "#9f9f9f"
)

// badgeMaxRunes caps the label and the message: a badge is a few words,
// and a query string must not make a megabyte of SVG.
const badgeMaxRunes = 60

func (h *Handler) registerBadges(r gin.IRouter) {
	r.GET("/p/:pkg/badge.svg", h.badge)
}

// badge serves the status badge of a package's latest result matching the
// query (host, arch, runtime, branch, tag — repeatable), for READMEs.
// ?label= replaces the label ("tests", or the environment when the query
// names one).
func (h *Handler) badge(c *gin.Context) {
	f := aggregator.ResultFilter{
		Package: c.Param("pkg"),
		Host:    c.Query("host"),
		Arch:    c.Query("arch"),
		Runtime: c.Query("runtime"),
		Branch:  c.Query("branch"),
		Tags:    c.QueryArray("tag"),
		Limit:   1,
	}
	label := c.Query("label")
	if label == "" {
		label = badgeEnvLabel(f)
	}
	status := http.StatusOK
	var b badgeSpec
	page, err := h.sb.Results(c.Request.Context(), f)
	switch {
	case err != nil && (aggregator.ErrorCode(err) == aggregator.ENotFound || aggregator.ErrorCode(err) == aggregator.EInvalid):
		b = badgeSpec{Label: label, Message: "no results", Color: badgeGrey}
	case err != nil:
		h.log.Error("web badge", "path", c.Request.URL.Path, "err", err)
		status = http.StatusInternalServerError
		if aggregator.ErrorCode(err) == aggregator.EUnavailable {
			status = http.StatusServiceUnavailable
		}
		b = badgeSpec{Label: label, Message: "unavailable", Color: badgeGrey}
	case len(page.Results) == 0:
		b = badgeSpec{Label: label, Message: "no results", Color: badgeGrey}
	default:
		b = badgeFor(label, page.Results[0])
	}
	if status == http.StatusOK {
		c.Header("Cache-Control", "public, max-age=60")
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	c.Data(status, "image/svg+xml; charset=utf-8", b.svg())
}

// badgeEnvLabel is "tests", or the environment the filter names, as in
// "ci-linux-3 go1.22 linux-amd64".
func badgeEnvLabel(f aggregator.ResultFilter) string {
	var parts []string
	for _, s := range append([]string{f.Host, f.Runtime, f.Arch, f.Branch}, f.Tags...) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "tests"
	}
	return strings.Join(parts, " ")
}

// badgeFor says how a result went, in a word or two and a colour.
func badgeFor(label string, r aggregator.ResultSummary) badgeSpec {
	b := badgeSpec{Label: label}
	switch n := failingTests(r); {
	case n > 0:
		b.Message, b.Color = fmt.Sprintf("%d failing", n), badgeRed
	case !r.Success:
		b.Message, b.Color = "failing", badgeRed
	case r.Incomplete:
		b.Message, b.Color = "incomplete", badgeYellow
	case r.Totals.Tests == 0:
		b.Message, b.Color = "no tests", badgeGrey
	default:
		b.Message, b.Color = "passing", badgeGreen
	}
	return b
}

// badgeSpec is what a badge says.
type badgeSpec struct {
	Label, Message, Color string
}

// svg draws the badge in shields.io's "flat" style: two rounded boxes
// sized from the text width, with a 1px shadow under the text. As shields
// does, text is drawn at ten times the size and scaled down, with
// textLength pinning its width whatever font the viewer has.
func (b badgeSpec) svg() []byte {
	label, msg := clipRunes(b.Label, badgeMaxRunes), clipRunes(b.Message, badgeMaxRunes)
	lt, mt := textWidth(label), textWidth(msg)
	lw, mw := int(math.Ceil(lt))+10, int(math.Ceil(mt))+10
	w := lw + mw
	title := label + ": " + msg
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s">`, w, esc(title))
	fmt.Fprintf(&buf, `<title>%s</title>`, esc(title))
	buf.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&buf, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, w)
	fmt.Fprintf(&buf, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="%s"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`,
		lw, badgeLabelColor, lw, mw, esc(b.Color), w)
	buf.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">`)
	text := func(x int, length float64, s string) {
		tl := int(math.Round(length * 10))
		fmt.Fprintf(&buf, `<text aria-hidden="true" x="%d" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="%d">%s</text>`, x, tl, esc(s))
		fmt.Fprintf(&buf, `<text x="%d" y="140" transform="scale(.1)" fill="#fff" textLength="%d">%s</text>`, x, tl, esc(s))
	}
	text(lw*5, lt, label)
	text(lw*10+mw*5, mt, msg)
	buf.WriteString(`</g></svg>`)
	buf.WriteByte('\n')
	return buf.Bytes()
}

// esc escapes text for XML content and attributes; characters XML cannot
// hold become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// clipRunes cuts s to at most n runes, marking the cut with "…".
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// textWidth estimates the width in pixels of s in 11px Verdana, the way
// shields.io sizes badges: from a table of advance widths (Verdana's,
// 2048 units to the em, at 11px), with a default for other characters.
func textWidth(s string) float64 {
	var w float64
	for _, r := range s {
		w += runeWidth(r)
	}
	return w
}

// verdanaASCII holds Verdana's advance widths of ' ' (0x20) to '~' (0x7e)
// in font units (2048 to the em).
var verdanaASCII = [95]int{
	// space ! " # $ % & ' ( ) * + , - . /
	720, 824, 964, 1716, 1302, 2231, 1484, 557, 1038, 1038, 1302, 1716, 745, 866, 745, 1038,
	// 0-9
	1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302,
	// : ; < = > ? @
	889, 889, 1716, 1716, 1716, 1118, 2040,
	// A-Z
	1401, 1405, 1430, 1579, 1294, 1178, 1577, 1539, 862, 931, 1423, 1141, 1741, 1532, 1612, 1235, 1612, 1424, 1401, 1235, 1507, 1401, 2025, 1403, 1235, 1403,
	// [ \ ] ^ _ `
	1038, 1038, 1038, 1716, 1302, 1302,
	// a-z
	1229, 1276, 1067, 1276, 1220, 720, 1276, 1300, 562, 677, 1212, 562, 1995, 1300, 1243, 1276, 1276, 874, 1067, 807, 1300, 1212, 1675, 1212, 1212, 1096,
	// { | } ~
	1302, 1038, 1302, 1716,
}

func runeWidth(r rune) float64 {
	const px = 11.0 / 2048
	switch {
	case r >= 0x20 && r <= 0x7e:
		return float64(verdanaASCII[r-0x20]) * px
	case unicode.Is(unicode.Mn, r) || r == 0x200b:
		return 0 // combining marks and zero-width space
	case unicode.In(r, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana) || r >= 0x1f300 && r <= 0x1faff:
		return 11 // wide: CJK and emoji take a full em
	default:
		return 1300 * px // about an 'n'
	}
}
