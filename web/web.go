// Package web is pony-server's human face: server-rendered pages (the
// scoreboard, a package, its matrix and flaky tests, a result, a test's
// history), Atom and RSS feeds and SVG badges, with every template and
// asset embedded in the binary. It reads through the small Scoreboard
// interface (an *aggregator.Service) and never touches storage.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// Scoreboard is what the pages read: the subset of *aggregator.Service
// they call.
type Scoreboard interface {
	Packages(ctx context.Context) ([]aggregator.PackageSummary, error)
	TagsetsWithExpected(ctx context.Context, pkg string) ([]aggregator.Tagset, []aggregator.ExpectedStatus, error)
	Results(ctx context.Context, f aggregator.ResultFilter) (aggregator.ResultPage, error)
	Result(ctx context.Context, key string) (*pony.Bag, error)
	Changes(ctx context.Context, key string) (aggregator.Changes, error)
	TestHistory(ctx context.Context, f aggregator.TestHistoryFilter) (aggregator.TestHistory, error)
	Matrix(ctx context.Context, pkg string, q aggregator.MatrixQuery) (aggregator.Matrix, error)
	Flakiness(ctx context.Context, pkg string, q aggregator.FlakyQuery) ([]aggregator.FlakyTest, error)
	// The batch reads: the feeds are a fixed number of calls however many
	// packages and results they show (the scoreboard is one, Packages).
	ChangesFor(ctx context.Context, keys []string) (map[string]aggregator.Changes, error)
	RecentResults(ctx context.Context, limit int, failuresOnly bool) ([]aggregator.ResultSummary, error)
	// Run is a run that is not complete (ENotFound when there is none, or
	// when it is complete: then Result has it); Runs a package's.
	Run(ctx context.Context, key string) (aggregator.Run, error)
	Runs(ctx context.Context, pkg string) ([]aggregator.Run, error)
	// EnvOf is the environment a result's client_info describes, with the
	// server's axes.
	EnvOf(ci pony.ClientInfo) aggregator.Env
}

// Options configure the pages.
type Options struct {
	// Logger receives render and storage errors; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock ages are measured against; time.Now when nil.
	Now func() time.Time
	// BaseURL is the absolute URL prefix of links in feeds and badges, as
	// in http://host:8080 (no trailing slash).
	BaseURL string
	// LivePoll, LiveHeartbeat and LiveLifetime tune a running run's event
	// stream (/r/KEY/events): how often it reads the run, how often an
	// idle stream sends a keep-alive comment, and how long one stream
	// lasts. DefaultLivePoll, DefaultLiveHeartbeat and DefaultLiveLifetime
	// when zero.
	LivePoll, LiveHeartbeat, LiveLifetime time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the pages, feeds, badges and static assets.
type Handler struct {
	sb        Scoreboard
	opts      Options
	log       *slog.Logger
	templates map[string]*template.Template
	// assets maps a static file name to the hash of its content, which
	// links carry (?v=HASH) so that the file may be cached for a year.
	assets map[string]string
	// closing is closed by Close: it ends the event streams.
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns a Handler reading through sb. Every template is parsed here,
// once: a broken one is an error at startup, not on some later request.
func New(sb Scoreboard, opts Options) (*Handler, error) {
	if sb == nil {
		return nil, errors.New("web: nil scoreboard")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.LivePoll <= 0 {
		opts.LivePoll = DefaultLivePoll
	}
	if opts.LiveHeartbeat <= 0 {
		opts.LiveHeartbeat = DefaultLiveHeartbeat
	}
	if opts.LiveLifetime <= 0 {
		opts.LiveLifetime = DefaultLiveLifetime
	}
	h := &Handler{sb: sb, opts: opts, log: opts.Logger, assets: map[string]string{}, closing: make(chan struct{})}
	if err := h.hashAssets(); err != nil {
		return nil, err
	}
	if err := h.parseTemplates(templateFS); err != nil {
		return nil, err
	}
	return h, nil
}

// layoutFiles are parsed into every page; every other file in templates/
// is a page, named by its file name without ".html".
var layoutFiles = map[string]bool{"layout.html": true, "partials.html": true}

// parseTemplates parses templates/*.html of fsys: the layout files into
// every page, each page on a clone of them.
func (h *Handler) parseTemplates(fsys fs.FS) error {
	base, err := template.New("layout.html").Funcs(h.funcs()).ParseFS(fsys, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return fmt.Errorf("parse layout: %w", err)
	}
	entries, err := fs.ReadDir(fsys, "templates")
	if err != nil {
		return fmt.Errorf("read templates: %w", err)
	}
	h.templates = map[string]*template.Template{}
	for _, e := range entries {
		if layoutFiles[e.Name()] || !strings.HasSuffix(e.Name(), ".html") {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return fmt.Errorf("clone layout for %s: %w", e.Name(), err)
		}
		if _, err := t.ParseFS(fsys, "templates/"+e.Name()); err != nil {
			return fmt.Errorf("parse %s: %w", e.Name(), err)
		}
		h.templates[strings.TrimSuffix(e.Name(), ".html")] = t
	}
	for _, name := range pageNames {
		if h.templates[name] == nil {
			return fmt.Errorf("template %s.html is missing", name)
		}
	}
	return nil
}

// pageNames are the templates the handlers render: New refuses to start
// without any of them.
var pageNames = []string{"error", "scoreboard", "package", "matrix", "flaky", "result", "test"}

func (h *Handler) hashAssets() error {
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read asset %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		h.assets[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
}

// Register mounts every page, feed, badge and the static assets on r. The
// engine must route on the escaped path and unescape values
// (UseEscapedPath, and path values unescaped as httpapi does) so that a
// package name holding a slash travels as %2F in one path segment.
func (h *Handler) Register(router gin.IRouter) {
	// Every page, feed and badge answers HEAD too (link checkers, image
	// proxies); the event stream does not.
	router.GET("/r/:key/events", h.runEvents)
	r := withHead{router}
	r.GET("/static/*file", h.static)
	r.GET("/favicon.ico", h.favicon)
	r.GET("/", h.scoreboard)
	r.GET("/p/:pkg", h.packagePage)
	r.GET("/p/:pkg/matrix", h.matrixPage)
	r.GET("/p/:pkg/flaky", h.flakyPage)
	r.GET("/p/:pkg/t", h.testPage)
	r.GET("/p/:pkg/t/:suite/*name", h.testPage)
	r.GET("/p/:pkg/latest", h.latestRedirect)
	r.GET("/r/:key", h.resultPage)
	r.GET("/r/:key/junit.xml", h.resultJUnit)
	h.registerFeeds(r)
	h.registerBadges(r)
}

// withHead registers each GET route for HEAD as well (net/http sends the
// headers of the GET answer without its body).
type withHead struct{ gin.IRouter }

func (w withHead) GET(path string, handlers ...gin.HandlerFunc) gin.IRoutes {
	w.IRouter.HEAD(path, handlers...)
	return w.IRouter.GET(path, handlers...)
}

func (h *Handler) static(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean(c.Param("file")), "/")
	sum, ok := h.assets[name]
	if !ok {
		c.String(http.StatusNotFound, "no such asset\n")
		return
	}
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		c.String(http.StatusNotFound, "no such asset\n")
		return
	}
	if c.Query("v") == sum {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "public, max-age=300")
	}
	c.Header("ETag", `"`+sum+`"`)
	if c.GetHeader("If-None-Match") == `"`+sum+`"` {
		c.Status(http.StatusNotModified)
		return
	}
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	c.Data(http.StatusOK, ct, b)
}

// favicon is "/favicon.ico", which browsers ask for whatever the page's
// <link rel=icon> says: the embedded SVG icon.
func (h *Handler) favicon(c *gin.Context) {
	b, err := staticFS.ReadFile("static/favicon.svg")
	if err != nil {
		h.fail(c, fmt.Errorf("read favicon: %w", err))
		return
	}
	sum := h.assets["favicon.svg"]
	c.Header("Cache-Control", "public, max-age=86400")
	c.Header("ETag", `"`+sum+`"`)
	if c.GetHeader("If-None-Match") == `"`+sum+`"` {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "image/svg+xml", b)
}

// base is what the layout reads of every page's data.
type base struct {
	// Title parts, joined with " · " after "pony".
	Title []string
	// Pkg is the package the page is about, for the navigation bar.
	Pkg string
	// Nav names the current tab of a package page.
	Nav string
	// Feed, when set, is the page's Atom feed, advertised in <head>.
	Feed string
	// Refresh, when set, reloads the page every so many seconds when
	// JavaScript is off (a <noscript> meta refresh).
	Refresh int
	// Scripts are static scripts the page loads (deferred). Pages work
	// without them.
	Scripts []string
}

// render writes a page, buffered so that a template error becomes a clean
// 500 rather than half a page.
func (h *Handler) render(c *gin.Context, status int, name string, data any) {
	t := h.templates[name]
	var buf bytes.Buffer
	if t == nil {
		h.fail(c, fmt.Errorf("no template %q", name))
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("render page", "page", name, "path", c.Request.URL.Path, "err", err)
		if name != "error" {
			h.fail(c, fmt.Errorf("render %s: %w", name, err))
			return
		}
		c.String(http.StatusInternalServerError, "internal error\n")
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

type errorPage struct {
	base
	Status  int
	Message string
}

// fail renders an error page whose status follows the error's code.
func (h *Handler) fail(c *gin.Context, err error) {
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
		h.log.Error("web page", "path", c.Request.URL.Path, "err", err)
	}
	h.render(c, status, "error", &errorPage{base: base{Title: []string{http.StatusText(status)}}, Status: status, Message: msg})
}
