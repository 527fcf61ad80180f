package web

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

// Feed sizes: a feed holds the newest feedLen results; a failures-only feed
// looks that many results deep per package to find its failing ones, and
// names at most feedNewlyFailing newly failing tests per entry.
const (
	feedLen          = 50
	feedFailuresScan = aggregator.MaxPageSize
	feedNewlyFailing = 20
)

// Content types of the feeds.
const (
	atomContentType = "application/atom+xml; charset=utf-8"
	rssContentType  = "application/rss+xml; charset=utf-8"
)

func (h *Handler) registerFeeds(r gin.IRouter) {
	r.GET("/feed.atom", h.feed(false, atomFormat))
	r.GET("/feed.rss", h.feed(false, rssFormat))
	r.GET("/p/:pkg/feed.atom", h.feed(true, atomFormat))
	r.GET("/p/:pkg/feed.rss", h.feed(true, rssFormat))
}

type feedFormat int

const (
	atomFormat feedFormat = iota
	rssFormat
)

// feedEntry is one result as a feed shows it, whatever the format.
type feedEntry struct {
	Title   string
	Link    string
	Updated time.Time
	Summary string
	Package string
}

// feedInfo is what both formats say about the feed itself.
type feedInfo struct {
	Title   string
	Self    string // the feed's own URL
	Page    string // the HTML page the feed follows
	Updated time.Time
	Entries []feedEntry
}

// feed serves a feed of every package or (perPackage) of :pkg, newest
// results first; ?failures=1 keeps failing results only.
func (h *Handler) feed(perPackage bool, format feedFormat) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		pkg := ""
		if perPackage {
			pkg = c.Param("pkg")
		}
		failures := feedFlag(c.Query("failures"))
		results, err := h.feedResults(ctx, pkg, failures)
		if err != nil {
			h.feedError(c, err)
			return
		}
		base := h.absBase(c.Request)
		info := feedInfo{Title: "pony", Page: base + "/", Self: base + "/feed"}
		if pkg != "" {
			info.Title = "pony · " + pkg
			info.Page = base + "/p/" + url.PathEscape(pkg)
			info.Self = info.Page + "/feed"
		}
		if failures {
			info.Title += " · failures"
		}
		if format == atomFormat {
			info.Self += ".atom"
		} else {
			info.Self += ".rss"
		}
		if failures {
			info.Self += "?failures=1"
		}
		info.Updated = h.opts.Now().UTC()
		if len(results) > 0 {
			info.Updated = results[0].Received.UTC()
		}
		info.Entries = make([]feedEntry, 0, len(results))
		newly := h.newlyFailing(ctx, results)
		for _, r := range results {
			info.Entries = append(info.Entries, feedEntry{
				Title:   entryTitle(r),
				Link:    base + "/r/" + url.PathEscape(r.Key),
				Updated: r.Received.UTC(),
				Summary: entrySummary(r, newly[r.Key]),
				Package: r.Env.Package,
			})
		}
		var doc any
		ct := atomContentType
		if format == atomFormat {
			doc = atomDoc(info)
		} else {
			doc, ct = rssDoc(info), rssContentType
		}
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		enc := xml.NewEncoder(&buf)
		enc.Indent("", " ")
		if err := enc.Encode(doc); err != nil {
			h.feedError(c, fmt.Errorf("encode feed: %w", err))
			return
		}
		buf.WriteByte('\n')
		c.Header("Cache-Control", "public, max-age=60")
		c.Data(http.StatusOK, ct, buf.Bytes())
	}
}

// feedError answers a feed request that failed, in plain text: a feed
// reader shows the status, not a page.
func (h *Handler) feedError(c *gin.Context, err error) {
	status := http.StatusInternalServerError
	msg := "internal error"
	switch aggregator.ErrorCode(err) {
	case aggregator.ENotFound:
		status, msg = http.StatusNotFound, aggregator.ErrorMessage(err)
	case aggregator.EInvalid:
		status, msg = http.StatusBadRequest, aggregator.ErrorMessage(err)
	case aggregator.EUnauthorized, aggregator.EForbidden:
		status, msg = http.StatusForbidden, aggregator.ErrorMessage(err)
	case aggregator.EUnavailable:
		status, msg = http.StatusServiceUnavailable, "the store cannot be reached now"
	}
	if status >= 500 {
		h.log.Error("web feed", "path", c.Request.URL.Path, "err", err)
	}
	c.String(status, "%s\n", msg)
}

// feedResults returns the newest results of pkg, or of every package when
// pkg is empty, newest first, at most feedLen: one Service call either
// way. A package's failures-only feed keeps the failing results among its
// newest feedFailuresScan; the all-packages one, among the newest
// aggregator.RecentFailuresScan of every package.
func (h *Handler) feedResults(ctx context.Context, pkg string, failures bool) ([]aggregator.ResultSummary, error) {
	if pkg == "" {
		return h.sb.RecentResults(ctx, feedLen, failures)
	}
	limit := feedLen
	if failures {
		limit = feedFailuresScan
	}
	rp, err := h.sb.Results(ctx, aggregator.ResultFilter{Package: pkg, Limit: limit})
	if err != nil {
		return nil, err
	}
	rs := rp.Results
	if failures {
		kept := rs[:0]
		for _, r := range rs {
			if resultFailing(r) {
				kept = append(kept, r)
			}
		}
		rs = kept
	}
	return rs[:min(len(rs), feedLen)], nil
}

// failingTests counts a result's failing tests (failures and errors).
func failingTests(r aggregator.ResultSummary) int { return r.Totals.Fail + r.Totals.Error }

// resultFailing says whether a result belongs in a failures-only feed: a
// failing test, or a run that failed without one (a build error).
func resultFailing(r aggregator.ResultSummary) bool { return failingTests(r) > 0 || !r.Success }

// newlyFailing returns the tests that started failing in each failing
// result of rs, by result key, in one Service call (a passing result has
// none, and is not asked about). A result without recorded changes has
// none either; an error is logged and the entries go without the list
// rather than the whole feed failing.
func (h *Handler) newlyFailing(ctx context.Context, rs []aggregator.ResultSummary) map[string][]aggregator.TestRef {
	var keys []string
	for _, r := range rs {
		if failingTests(r) > 0 {
			keys = append(keys, r.Key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	ch, err := h.sb.ChangesFor(ctx, keys)
	if err != nil {
		h.log.Warn("feed: read changes", "results", len(keys), "err", err)
		return nil
	}
	out := make(map[string][]aggregator.TestRef, len(ch))
	for k, c := range ch {
		out[k] = c.NewlyFailing
	}
	return out
}

// feedEnv describes an environment as "host (runtime, arch, tag…)".
func feedEnv(e aggregator.Env) string {
	var in []string
	for _, s := range append([]string{e.Runtime, e.Arch}, e.Tags...) {
		if s != "" {
			in = append(in, s)
		}
	}
	host := e.Host
	if host == "" {
		host = "unknown host"
	}
	if len(in) == 0 {
		return host
	}
	return host + " (" + strings.Join(in, ", ") + ")"
}

// feedVerdict says how a result went: "2 failing of 350", "350 passing".
func feedVerdict(r aggregator.ResultSummary) string {
	t := r.Totals
	var s string
	switch {
	case failingTests(r) > 0:
		s = fmt.Sprintf("%d failing of %d", failingTests(r), t.Tests)
	case !r.Success && t.Tests == 0:
		s = "failed, no tests"
	case !r.Success:
		s = fmt.Sprintf("failed, %s passing", plural(t.Pass, "test"))
	case t.Tests == 0:
		s = "no tests"
	default:
		s = fmt.Sprintf("%d passing", t.Pass+t.XFail)
		if t.Skip > 0 {
			s += fmt.Sprintf(", %d skipped", t.Skip)
		}
	}
	if r.Incomplete {
		s += " (incomplete)"
	}
	return s
}

// entryTitle is "gin on ci-linux-3 (go1.22, linux-amd64): 2 failing of 350".
func entryTitle(r aggregator.ResultSummary) string {
	return r.Env.Package + " on " + feedEnv(r.Env) + ": " + feedVerdict(r)
}

// entrySummary is the plain-text body of an entry: counts, commit and the
// newly failing tests.
func entrySummary(r aggregator.ResultSummary, newly []aggregator.TestRef) string {
	t := r.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d pass, %d fail, %d error, %d skip", plural(t.Tests, "test"), t.Pass, t.Fail, t.Error, t.Skip)
	if t.XFail+t.XPass > 0 {
		fmt.Fprintf(&b, ", %d xfail, %d xpass", t.XFail, t.XPass)
	}
	if t.Flaky > 0 {
		fmt.Fprintf(&b, ", %d flaky", t.Flaky)
	}
	b.WriteString(".")
	if !r.Success {
		b.WriteString(" The run failed.")
	}
	if r.Incomplete {
		b.WriteString(" The run is incomplete.")
	}
	if r.Commit != "" {
		fmt.Fprintf(&b, " Commit %s", r.Commit)
		if r.Branch != "" {
			fmt.Fprintf(&b, " on %s", r.Branch)
		}
		b.WriteString(".")
	}
	if len(newly) > 0 {
		b.WriteString(" Newly failing: ")
		for i, tr := range newly {
			if i == feedNewlyFailing {
				fmt.Fprintf(&b, " and %d more", len(newly)-i)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(feedTestName(tr.Suite, tr.Name))
		}
		b.WriteString(".")
	}
	return b.String()
}

// feedTestName joins a suite and a test name for display.
func feedTestName(suite, name string) string {
	if suite == "" {
		return name
	}
	return suite + " › " + name
}

// absBase is Options.BaseURL, or else the scheme and host the request
// came to: feed links must be absolute.
func (h *Handler) absBase(r *http.Request) string {
	if h.opts.BaseURL != "" {
		return h.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// feedFlag reads a boolean query parameter.
func feedFlag(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Atom 1.0 (RFC 4287).

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Gen     string      `xml:"generator"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomEntry struct {
	Title    atomText     `xml:"title"`
	ID       string       `xml:"id"`
	Updated  string       `xml:"updated"`
	Link     atomLink     `xml:"link"`
	Summary  atomText     `xml:"summary"`
	Category atomCategory `xml:"category"`
}

func atomDoc(f feedInfo) atomFeed {
	doc := atomFeed{
		Title:   f.Title,
		ID:      f.Self,
		Updated: f.Updated.Format(time.RFC3339),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: f.Self},
			{Rel: "alternate", Type: "text/html", Href: f.Page},
		},
		Author: atomAuthor{Name: "pony"},
		Gen:    "pony",
	}
	for _, e := range f.Entries {
		doc.Entries = append(doc.Entries, atomEntry{
			Title:    atomText{Type: "text", Text: e.Title},
			ID:       e.Link,
			Updated:  e.Updated.Format(time.RFC3339),
			Link:     atomLink{Rel: "alternate", Type: "text/html", Href: e.Link},
			Summary:  atomText{Type: "text", Text: e.Summary},
			Category: atomCategory{Term: e.Package},
		})
	}
	return doc
}

// RSS 2.0.

type rssFeed struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Generator     string    `xml:"generator"`
	Self          rssSelf   `xml:"atom:link"`
	Items         []rssItem `xml:"item"`
}

// rssSelf is the atom:link rel="self" that feed validators ask of RSS.
type rssSelf struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
	Href string `xml:"href,attr"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate"`
	Description string  `xml:"description"`
	Category    string  `xml:"category"`
}

func rssDoc(f feedInfo) rssFeed {
	doc := rssFeed{
		Version: "2.0",
		AtomNS:  "http://www.w3.org/2005/Atom",
		Channel: rssChannel{
			Title:         f.Title,
			Link:          f.Page,
			Description:   "Test results received by pony, newest first.",
			LastBuildDate: f.Updated.Format(time.RFC1123Z),
			Generator:     "pony",
			Self:          rssSelf{Rel: "self", Type: "application/rss+xml", Href: f.Self},
		},
	}
	for _, e := range f.Entries {
		doc.Channel.Items = append(doc.Channel.Items, rssItem{
			Title:       e.Title,
			Link:        e.Link,
			GUID:        rssGUID{IsPermaLink: "true", Value: e.Link},
			PubDate:     e.Updated.Format(time.RFC1123Z),
			Description: e.Summary,
			Category:    e.Package,
		})
	}
	return doc
}
