package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

// query reads a request's query parameters, refusing unknown ones and
// repeats of single-valued ones, so that a typo is an error rather than an
// ignored filter.
type query struct {
	v url.Values
}

func newQuery(c *gin.Context, allowed ...string) (query, error) {
	q := c.Request.URL.Query()
	for k, vs := range q {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
			}
		}
		if !ok {
			return query{}, aggregator.Errorf(aggregator.EInvalid, "unknown query parameter %q (want %s)", k, strings.Join(allowed, ", "))
		}
		if k != "tag" && len(vs) > 1 {
			return query{}, aggregator.Errorf(aggregator.EInvalid, "query parameter %q is given %d times; only tag may repeat", k, len(vs))
		}
	}
	return query{v: q}, nil
}

func (q query) get(k string) string { return q.v.Get(k) }

func (q query) tags() []string { return q.v["tag"] }

// limit reads ?limit=: an integer from 1 (the Service caps it at
// aggregator.MaxPageSize); absent means the default.
func (q query) limit() (int, error) {
	v := q.get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, aggregator.Errorf(aggregator.EInvalid, "limit must be a whole number from 1 to %d, got %q", aggregator.MaxPageSize, v)
	}
	return n, nil
}

// parseBool reads 1/0, true/false, yes/no, on/off.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on", "t", "y":
		return true, nil
	case "0", "false", "no", "off", "f", "n":
		return false, nil
	}
	return false, fmt.Errorf("want 1 or 0 (true or false), got %q", v)
}

// parseSeconds reads a finite, non-negative number of seconds.
func parseSeconds(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, fmt.Errorf("want a number of seconds ≥ 0, got %q", v)
	}
	return f, nil
}

// authorizeRead checks that the request may read pkg.
func (s *Server) authorizeRead(c *gin.Context, pkg string) error {
	secret, err := bearer(c.Request)
	if err != nil {
		return err
	}
	return s.authorize(c.Request.Context(), secret, pkg, aggregator.ScopeRead)
}

// setNextLink sets a Link header to the next page: this request's URL with
// before set to next.
func setNextLink(c *gin.Context, next string) {
	if next == "" {
		return
	}
	q := c.Request.URL.Query()
	q.Set("before", next)
	c.Header("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, c.Request.URL.EscapedPath(), q.Encode()))
}

// getPackages lists every package the request may read.
func (s *Server) getPackages(c *gin.Context) (*reply, error) {
	if _, err := newQuery(c); err != nil {
		return nil, err
	}
	ctx := c.Request.Context()
	secret, err := bearer(c.Request)
	if err != nil {
		return nil, err
	}
	// A token for one package may list that package only.
	all := true
	if err := s.authorize(ctx, secret, "", aggregator.ScopeRead); err != nil {
		if aggregator.ErrorCode(err) != aggregator.EForbidden {
			return nil, err
		}
		all = false
	}
	pkgs, err := s.svc.Packages(ctx)
	if err != nil {
		return nil, err
	}
	if !all {
		pkgs, err = s.readable(ctx, secret, pkgs)
		if err != nil {
			return nil, err
		}
	}
	out := make([]packageJSON, len(pkgs))
	for i, p := range pkgs {
		out[i] = packageJSON{PackageSummary: p, LastReceived: p.LastReceived}
		for _, e := range p.Expected {
			out[i].Expected = append(out[i].Expected, toExpectedStatus(e))
		}
	}
	return &reply{body: map[string]any{"packages": out}}, nil
}

// packageJSON is a package in the packages answer: its expected
// environments written as /expected and /tagsets write them (the interval
// a duration string), and no last_received when it never reported.
type packageJSON struct {
	aggregator.PackageSummary
	LastReceived time.Time        `json:"last_received,omitzero"`
	Expected     []expectedStatus `json:"expected,omitempty"`
}

// readable keeps the packages secret may read.
func (s *Server) readable(ctx context.Context, secret string, pkgs []aggregator.PackageSummary) ([]aggregator.PackageSummary, error) {
	var out []aggregator.PackageSummary
	for _, p := range pkgs {
		err := s.authorize(ctx, secret, p.Name, aggregator.ScopeRead)
		switch aggregator.ErrorCode(err) {
		case "":
			out = append(out, p)
		case aggregator.EForbidden:
		default:
			return nil, err
		}
	}
	return out, nil
}

// resultFilter reads the filters of /results and /latest.
func resultFilter(c *gin.Context, q query) (aggregator.ResultFilter, error) {
	lim, err := q.limit()
	if err != nil {
		return aggregator.ResultFilter{}, err
	}
	return aggregator.ResultFilter{
		Package: c.Param("pkg"),
		Host:    q.get("host"),
		Arch:    q.get("arch"),
		Runtime: q.get("runtime"),
		Branch:  q.get("branch"),
		Tags:    q.tags(),
		Limit:   lim,
		Before:  q.get("before"),
	}, nil
}

// getResults lists a package's results, newest first, a page at a time:
// the next page's cursor is in "next" and in a Link header.
func (s *Server) getResults(c *gin.Context) (*reply, error) {
	q, err := newQuery(c, "host", "arch", "runtime", "tag", "branch", "limit", "before")
	if err != nil {
		return nil, err
	}
	f, err := resultFilter(c, q)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeRead(c, f.Package); err != nil {
		return nil, err
	}
	page, err := s.svc.Results(c.Request.Context(), f)
	if err != nil {
		return nil, err
	}
	if page.Results == nil {
		page.Results = []aggregator.ResultSummary{}
	}
	setNextLink(c, page.Next)
	return &reply{body: page}, nil
}

// getLatest answers the newest bag of a package matching the filter.
func (s *Server) getLatest(c *gin.Context) (*reply, error) {
	q, err := newQuery(c, "host", "arch", "runtime", "tag", "branch")
	if err != nil {
		return nil, err
	}
	f, err := resultFilter(c, q)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeRead(c, f.Package); err != nil {
		return nil, err
	}
	bag, err := s.svc.Latest(c.Request.Context(), f)
	if err != nil {
		return nil, err
	}
	return &reply{body: bag}, nil
}

// getTagsets answers the latest result of each environment of a package,
// and whether each environment the package expects reported within its
// interval: "expected" lists them all, "missing" the names (or match
// labels) of those that did not.
func (s *Server) getTagsets(c *gin.Context) (*reply, error) {
	if _, err := newQuery(c); err != nil {
		return nil, err
	}
	pkg := c.Param("pkg")
	if err := s.authorizeRead(c, pkg); err != nil {
		return nil, err
	}
	ts, exp, err := s.svc.TagsetsWithExpected(c.Request.Context(), pkg)
	if err != nil {
		return nil, err
	}
	if ts == nil {
		ts = []aggregator.Tagset{}
	}
	expected := make([]expectedStatus, 0, len(exp))
	missing := []string{}
	for _, e := range exp {
		expected = append(expected, toExpectedStatus(e))
		if e.Missing {
			missing = append(missing, expectedName(e.Expected))
		}
	}
	return &reply{body: map[string]any{"package": pkg, "tagsets": ts, "expected": expected, "missing": missing}}, nil
}

// expectedStatus is an expected environment in the tagsets answer: the
// declaration, the environment that satisfies it (the matching one that
// reported last) and whether it is missing, and why.
type expectedStatus struct {
	ExpectedJSON
	SatisfiedBy *aggregator.Env `json:"satisfied_by,omitempty"`
	LastSeen    time.Time       `json:"last_seen,omitzero"`
	Missing     bool            `json:"missing"`
	Reason      string          `json:"reason,omitempty"`
}

// toExpectedStatus writes an expected environment's state as the API
// shows it.
func toExpectedStatus(e aggregator.ExpectedStatus) expectedStatus {
	return expectedStatus{ExpectedJSON: ToExpectedJSON([]aggregator.ExpectedEnv{e.Expected})[0],
		SatisfiedBy: e.SatisfiedBy, LastSeen: e.LastSeen, Missing: e.Missing, Reason: e.Reason}
}

// expectedName names an expected environment: its name, else its match
// (host=… arch=… runtime=… tag=…), else "any".
func expectedName(x aggregator.ExpectedEnv) string {
	if x.Name != "" {
		return x.Name
	}
	var parts []string
	for _, f := range [][2]string{{"host", x.Match.Host}, {"arch", x.Match.Arch}, {"runtime", x.Match.Runtime}} {
		if f[1] != "" {
			parts = append(parts, f[0]+"="+f[1])
		}
	}
	for _, t := range x.Match.Tags {
		parts = append(parts, "tag="+t)
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " ")
}

// getTestHistory answers one test's verdicts, newest first, a page at a
// time.
func (s *Server) getTestHistory(c *gin.Context) (*reply, error) {
	q, err := newQuery(c, "suite", "name", "host", "arch", "branch", "limit", "before")
	if err != nil {
		return nil, err
	}
	lim, err := q.limit()
	if err != nil {
		return nil, err
	}
	f := aggregator.TestHistoryFilter{
		Package: c.Param("pkg"), Suite: q.get("suite"), Name: q.get("name"),
		Host: q.get("host"), Arch: q.get("arch"), Branch: q.get("branch"),
		Limit: lim, Before: q.get("before"),
	}
	if f.Name == "" {
		return nil, aggregator.Errorf(aggregator.EInvalid, "query parameter name is required (the test's name; suite names its suite)")
	}
	if err := s.authorizeRead(c, f.Package); err != nil {
		return nil, err
	}
	h, err := s.svc.TestHistory(c.Request.Context(), f)
	if err != nil {
		return nil, err
	}
	if h.Verdicts == nil {
		h.Verdicts = []aggregator.TestVerdict{}
	}
	setNextLink(c, h.Next)
	return &reply{body: h}, nil
}
