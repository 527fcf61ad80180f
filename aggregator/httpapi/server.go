// Package httpapi is pony-server's HTTP front end on gin: the JSON API of
// DESIGN.md §5 under /api/v1, pony-build's XML-RPC API at /xmlrpc, /healthz
// and /metrics.
//
// Handlers are thin: they parse and validate the request, call the
// aggregator.Service, and return (result, error); one wrapper writes the
// answer and maps aggregator error codes to HTTP statuses in one place.
package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pony-build/pony/aggregator"
)

// DefaultMaxBody caps request bodies unless Options say otherwise.
const DefaultMaxBody int64 = 64 << 20

// Options configure a Server. Zero fields take the defaults.
type Options struct {
	// MaxBody caps every request body, in bytes (default DefaultMaxBody);
	// over it the answer is 413.
	MaxBody int64
	// Logger receives one line per request and every internal error
	// (default slog.Default()).
	Logger *slog.Logger
	// Registerer receives the server's metrics. When nil, a new registry
	// is made (with the Go and process collectors) and served at /metrics.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves. When nil it is the Registerer if
	// that is also a Gatherer (a *prometheus.Registry is), and /metrics is
	// not served otherwise.
	Gatherer prometheus.Gatherer
	// TrustedProxies lists the proxies (IPs or CIDRs) whose
	// X-Forwarded-For and X-Real-IP headers are believed for the client IP.
	// Default none: the client IP is the connection's remote address.
	TrustedProxies []string
	// Debug runs gin in debug mode (route dump, warnings); release mode
	// otherwise.
	Debug bool
	// Mount, when set, adds more routes to the same engine after the API's
	// (pony-server mounts the web pages with it). They share the API's
	// request log, metrics, panic recovery and %2F handling in :pkg.
	Mount func(r gin.IRouter)
}

// Validate reports a setting New would have to ignore: a trusted proxy
// that is neither an IP nor a CIDR.
func (o Options) Validate() error {
	for _, p := range o.TrustedProxies {
		if net.ParseIP(p) != nil {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil {
			return fmt.Errorf("trusted proxy %q is neither an IP nor a CIDR", p)
		}
	}
	if o.MaxBody < 0 {
		return fmt.Errorf("max body must be ≥ 0, got %d", o.MaxBody)
	}
	return nil
}

// Server is the HTTP front end of an aggregator.Service.
type Server struct {
	svc     *aggregator.Service
	opts    Options
	log     *slog.Logger
	metrics *metrics
	engine  *gin.Engine
}

// New returns a Server for svc. A bad Options.TrustedProxies entry is
// logged and no proxy is trusted: call Options.Validate first to refuse it.
func New(svc *aggregator.Service, opts Options) *Server {
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registerer == nil {
		reg := newRegistry()
		opts.Registerer = reg
		if opts.Gatherer == nil {
			opts.Gatherer = reg
		}
	}
	if opts.Gatherer == nil {
		if g, ok := opts.Registerer.(prometheus.Gatherer); ok {
			opts.Gatherer = g
		}
	}
	s := &Server{svc: svc, opts: opts, log: opts.Logger, metrics: newMetrics(opts.Registerer)}
	s.engine = s.routes()
	return s
}

// Handler returns the http.Handler serving every route.
func (s *Server) Handler() http.Handler { return s.engine }

func (s *Server) routes() *gin.Engine {
	if s.opts.Debug {
		gin.SetMode(gin.DebugMode)
	} else {
		gin.SetMode(gin.ReleaseMode)
	}
	e := gin.New()
	// Package names may hold a slash: /packages/a%2Fb/results. The values
	// are unescaped by unescapeParams, as a path is (gin's own
	// UnescapePathValues unescapes them as a query, '+' becoming a space).
	e.UseEscapedPath = true
	e.UnescapePathValues = false
	e.Use(unescapeParams)
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	if err := e.SetTrustedProxies(s.opts.TrustedProxies); err != nil {
		s.log.Error("bad trusted proxies; trusting none", "err", err)
		_ = e.SetTrustedProxies(nil)
	}
	e.Use(s.observe, s.recover)
	e.NoRoute(s.wrap(func(c *gin.Context) (*reply, error) {
		return nil, aggregator.Errorf(aggregator.ENotFound, "no such endpoint: %s %s", c.Request.Method, c.Request.URL.Path)
	}))
	e.NoMethod(s.wrap(func(c *gin.Context) (*reply, error) {
		return nil, &aggregator.Error{Code: codeMethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path)}
	}))

	e.GET("/healthz", s.wrap(s.healthz))
	if s.opts.Gatherer != nil {
		e.GET("/metrics", gin.WrapH(s.metrics.handler(s.opts.Gatherer)))
	}
	e.POST("/xmlrpc", s.xmlrpc)

	api := e.Group("/api/v1")
	api.POST("/results", s.wrap(s.postResult))
	api.GET("/results/:key", s.wrap(s.getResult))
	api.POST("/runs", s.wrap(s.postRun))
	api.POST("/runs/:key/steps", s.wrap(s.postRunStep))
	api.POST("/runs/:key/progress", s.wrap(s.postRunProgress))
	api.POST("/runs/:key/finish", s.wrap(s.postRunFinish))
	api.GET("/packages/:pkg/runs", s.wrap(s.getRuns))
	api.GET("/packages", s.wrap(s.getPackages))
	api.GET("/packages/:pkg/results", s.wrap(s.getResults))
	api.GET("/packages/:pkg/latest", s.wrap(s.getLatest))
	api.GET("/packages/:pkg/tagsets", s.wrap(s.getTagsets))
	api.GET("/packages/:pkg/tests/history", s.wrap(s.getTestHistory))
	api.GET("/packages/:pkg/matrix", s.wrap(s.getMatrix))
	api.GET("/packages/:pkg/flaky", s.wrap(s.getFlaky))
	api.GET("/packages/:pkg/expected", s.wrap(s.getExpected))
	api.PUT("/packages/:pkg/expected", s.wrap(s.putExpected))
	api.GET("/should-build", s.wrap(s.getShouldBuild))
	api.POST("/should-build/request", s.wrap(s.postBuildRequest))
	if s.opts.Mount != nil {
		// The pages read what the API reads, under the same policy.
		s.opts.Mount(e.Group("", s.pageAuth))
	}
	return e
}

// pageAuth guards the mounted pages as the API's reads are guarded: with
// --private-reads (and a token in the store) a page needs a read token,
// sent as a Bearer token or, from a browser, as the password of HTTP Basic
// authentication (any user name), which a 401 asks for. A page of one
// package (/p/PKG…) takes a token of that package or of "*"; the others
// (the scoreboard, the all-packages feeds, results by key) one of "*".
// Static assets are always served.
func (s *Server) pageAuth(c *gin.Context) {
	ctx := c.Request.Context()
	pkg := c.Param("pkg")
	if p := c.FullPath(); strings.HasPrefix(p, "/static/") || p == "/favicon.ico" ||
		s.svc.Authorize(ctx, "", pkg, aggregator.ScopeRead) == nil {
		c.Next()
		return
	}
	err := s.svc.Authorize(ctx, pageSecret(c.Request), pkg, aggregator.ScopeRead)
	if err == nil {
		c.Next()
		return
	}
	status := http.StatusUnauthorized
	if aggregator.ErrorCode(err) == aggregator.EForbidden {
		status = http.StatusForbidden
	}
	c.Header("WWW-Authenticate", `Basic realm="pony-server", charset="UTF-8"`)
	c.Header("Cache-Control", "no-store")
	c.String(status, "pony-server: this server's results are private (--private-reads): sign in with any user name and a read token as the password (%v)\n", err)
	c.Abort()
}

// pageSecret is the token a page request carries: a Bearer token, or the
// password (else the user name) of HTTP Basic authentication.
func pageSecret(r *http.Request) string {
	if user, pass, ok := r.BasicAuth(); ok {
		if pass != "" {
			return pass
		}
		return user
	}
	if secret, err := bearer(r); err == nil {
		return secret
	}
	return ""
}

// reply is what a handler answers: a status (0 means 200) and a body
// rendered as JSON, or plain text when text is set.
type reply struct {
	status int
	body   any
	text   string
}

// apiFunc is a JSON handler: it parses the request, calls the Service, and
// returns what to render or an error.
type apiFunc func(c *gin.Context) (*reply, error)

// codeMethodNotAllowed is the one code the API needs beyond aggregator's.
const codeMethodNotAllowed aggregator.Code = "method_not_allowed"

// errorBody is every error answer.
type errorBody struct {
	Error  string `json:"error"`
	Detail any    `json:"detail,omitempty"`
}

// wrap turns an apiFunc into a gin handler: it is the one place where
// answers are written and error codes become statuses.
func (s *Server) wrap(f apiFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		r, err := f(c)
		if err != nil {
			s.writeError(c, err)
			return
		}
		status := http.StatusOK
		if r.status != 0 {
			status = r.status
		}
		if r.text != "" {
			c.Data(status, "text/plain; charset=utf-8", []byte(r.text))
			return
		}
		c.JSON(status, r.body)
	}
}

// writeError answers err as JSON. Internal errors are logged (through the
// request log) and their text never reaches the client.
func (s *Server) writeError(c *gin.Context, err error) {
	code := aggregator.ErrorCode(err)
	status := statusOf(code)
	body := errorBody{Error: aggregator.ErrorMessage(err)}
	var ae *aggregator.Error
	if errors.As(err, &ae) {
		body.Detail = ae.Detail
	}
	if status >= 500 {
		_ = c.Error(err) // the request log prints it
	}
	if code == aggregator.EUnavailable {
		c.Header("Retry-After", "5")
	}
	if code == aggregator.EUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="pony-server"`)
	}
	c.AbortWithStatusJSON(status, body)
}

// statusOf maps an error code to its HTTP status.
func statusOf(code aggregator.Code) int {
	switch code {
	case aggregator.EInvalid:
		return http.StatusBadRequest
	case aggregator.EUnauthorized:
		return http.StatusUnauthorized
	case aggregator.EForbidden:
		return http.StatusForbidden
	case aggregator.ENotFound:
		return http.StatusNotFound
	case aggregator.EConflict:
		return http.StatusConflict
	case aggregator.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case aggregator.EUnavailable:
		return http.StatusServiceUnavailable
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// observe logs every request and records its latency. It never logs
// headers (the Authorization header holds a secret) nor the query.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	d := time.Since(start)
	status := c.Writer.Status()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	// An event stream lasts as long as its page is open: its duration is
	// not a latency.
	if !strings.HasPrefix(c.Writer.Header().Get("Content-Type"), "text/event-stream") {
		s.metrics.observeRequest(c.Request.Method, route, status, d)
	}
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.Duration("duration", d),
		slog.String("client_ip", c.ClientIP()),
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
		if len(c.Errors) > 0 {
			attrs = append(attrs, slog.String("err", c.Errors.String()))
		}
	}
	s.log.LogAttrs(c.Request.Context(), level, "request", attrs...)
}

// recover turns a handler's panic into a logged 500.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				s.writeError(c, fmt.Errorf("panic: %v", v))
			} else {
				c.Abort()
			}
		}
	}()
	c.Next()
}

// bearer returns the token of an Authorization: Bearer header, "" when
// there is none, or an EUnauthorized error when the header is malformed.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return "", nil
	}
	if len(h) > 1 {
		return "", aggregator.Errorf(aggregator.EUnauthorized, "malformed Authorization header: sent %d times, want one \"Bearer <token>\"", len(h))
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(h[0]), " ")
	token = strings.TrimSpace(token)
	switch {
	case !ok || !strings.EqualFold(scheme, "Bearer"):
		s := scheme
		if len(s) > 20 {
			s = s[:20] + "…"
		}
		return "", aggregator.Errorf(aggregator.EUnauthorized, "malformed Authorization header: want \"Bearer <token>\", got scheme %q", s)
	case token == "" || strings.ContainsAny(token, " \t"):
		return "", aggregator.Errorf(aggregator.EUnauthorized, "malformed Authorization header: want \"Bearer <token>\" with one token")
	}
	return token, nil
}

// authorize is Service.Authorize, except that a token never takes away
// what anonymity allows: with public reads, a token of another package
// may still read.
func (s *Server) authorize(ctx context.Context, secret, pkg string, scope aggregator.Scope) error {
	err := s.svc.Authorize(ctx, secret, pkg, scope)
	if scope == aggregator.ScopeRead && secret != "" && aggregator.ErrorCode(err) == aggregator.EForbidden {
		if s.svc.Authorize(ctx, "", pkg, scope) == nil {
			return nil
		}
	}
	return err
}

// authenticate rejects, before any real work, a request whose token is
// missing (when one is needed) or unknown: EUnauthorized. Whether the token
// may act on a given package is checked once the package is known.
func (s *Server) authenticate(ctx context.Context, secret string, scope aggregator.Scope) error {
	err := s.svc.Authorize(ctx, secret, "", scope)
	if code := aggregator.ErrorCode(err); code == aggregator.EForbidden {
		return nil
	}
	return err
}

// readBody reads the whole request body, capped at MaxBody.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	limit := s.opts.MaxBody
	if c.Request.ContentLength > limit {
		return nil, s.tooLarge()
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	var buf bytes.Buffer
	if n := c.Request.ContentLength; n > 0 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, s.tooLarge()
		}
		return nil, aggregator.Errorf(aggregator.EInvalid, "read request body: %v", err)
	}
	return buf.Bytes(), nil
}

func (s *Server) tooLarge() error {
	return aggregator.Errorf(aggregator.ETooLarge, "request body is over the limit of %d bytes (%s)", s.opts.MaxBody, humanBytes(s.opts.MaxBody))
}

// humanBytes writes n in the largest binary unit that divides it, or in
// MiB with one decimal.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d B", n)
}

// healthz answers 200 after a store round trip, 503 when the store fails.
func (s *Server) healthz(c *gin.Context) (*reply, error) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		s.log.Error("health check: store round trip failed", "err", err)
		return nil, aggregator.Errorf(aggregator.EUnavailable, "store unavailable")
	}
	return &reply{body: map[string]string{"status": "ok"}}, nil
}

// unescapeParams unescapes the route's path values as path elements:
// %2F is a slash, '+' stays a '+'.
func unescapeParams(c *gin.Context) {
	for i := range c.Params {
		if v, err := url.PathUnescape(c.Params[i].Value); err == nil {
			c.Params[i].Value = v
		}
	}
}
