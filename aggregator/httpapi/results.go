package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/reporters"
)

// ingestReply is the answer to POST /api/v1/results.
type ingestReply struct {
	Receipt pony.Receipt `json:"receipt"`
	// Warnings say what was wrong with a raw report that was stored
	// anyway (a damaged one: its step is marked incomplete).
	Warnings []string `json:"warnings,omitempty"`
}

// formatBag labels JSON bags in metrics.
const formatBag = "bag"

// postResult stores one bag: a JSON bag, or a raw report (go test -json,
// JUnit XML, TAP) with client_info in the query.
func (s *Server) postResult(c *gin.Context) (r *reply, err error) {
	ctx := c.Request.Context()
	format, size, tests := "", 0, 0
	outcome := outcomeRejected
	defer func() {
		if err != nil && statusOf(aggregator.ErrorCode(err)) >= 500 {
			outcome = outcomeFailed
		}
		s.metrics.ingested(outcome, format, size, tests)
	}()

	secret, err := bearer(c.Request)
	if err != nil {
		return nil, err
	}
	// The body is read before answering, so that a client is told why even
	// when it is still sending.
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	size = len(body)
	if err := s.authenticate(ctx, secret, aggregator.ScopeWrite); err != nil {
		return nil, err
	}

	q := c.Request.URL.Query()
	var bag *pony.Bag
	var warnings []string
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, aggregator.Errorf(aggregator.EInvalid, "empty request body: send a bag (JSON with client_info and results_list), or a raw report (go test -json, JUnit XML, TAP) with ?package=")
	}
	if q.Get("format") == "" && isBag(body) {
		format = formatBag
		if bag, err = decodeBag(body); err != nil {
			return nil, err
		}
		if strings.TrimSpace(bag.ClientInfo.Package) == "" {
			// Said before authorizing, which needs the package.
			const p = "client_info.package: is required (the name of the project being tested)"
			return nil, &aggregator.Error{Code: aggregator.EInvalid, Message: "invalid bag: " + p, Detail: []string{p}}
		}
		if err := s.authorize(ctx, secret, bag.ClientInfo.Package, aggregator.ScopeWrite); err != nil {
			return nil, err
		}
	} else if bag, format, warnings, err = s.rawBag(c, secret, body, q); err != nil {
		return nil, err
	}
	for i := range bag.Steps {
		tests += len(bag.Steps[i].Tests)
	}
	res, err := s.svc.Ingest(ctx, bag, aggregator.IngestOptions{
		IdempotencyKey: c.GetHeader("Idempotency-Key"),
		ClientIP:       c.ClientIP(),
	})
	if err != nil {
		return nil, err
	}
	c.Header("Location", "/api/v1/results/"+url.PathEscape(res.Receipt.ResultKey))
	if res.Existed {
		outcome = outcomeReplayed
		c.Header("Idempotent-Replayed", "true")
		return &reply{status: http.StatusOK, body: ingestReply{Receipt: res.Receipt, Warnings: warnings}}, nil
	}
	outcome = outcomeCreated
	return &reply{status: http.StatusCreated, body: ingestReply{Receipt: res.Receipt, Warnings: warnings}}, nil
}

// isBag reports whether body is a JSON object whose keys include
// client_info or results_list: a bag. Only the first object's top-level
// keys are looked at, up to the first of those two.
func isBag(body []byte) bool {
	body = bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(body) == 0 || body[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if k, _ := tok.(string); k == "client_info" || k == "results_list" {
			return true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// decodeBag reads a JSON bag; a client's receipt is dropped.
func decodeBag(body []byte) (*pony.Bag, error) {
	body = bytes.TrimPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("\xef\xbb\xbf"))
	var bag pony.Bag
	if err := json.Unmarshal(body, &bag); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, &aggregator.Error{Code: aggregator.EInvalid, Message: fmt.Sprintf("bad JSON at byte %d: %v", se.Offset, se.Error()), Detail: map[string]int64{"offset": se.Offset}}
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				field = "the bag"
			}
			return nil, &aggregator.Error{Code: aggregator.EInvalid, Message: fmt.Sprintf("invalid bag: %s: %s is not a %s (at byte %d)", field, te.Value, te.Type, te.Offset), Detail: map[string]any{"field": field, "offset": te.Offset}}
		}
		return nil, aggregator.Errorf(aggregator.EInvalid, "invalid bag: %v", err)
	}
	bag.Receipt = nil
	return &bag, nil
}

// The query parameters of a raw upload that fill client_info; set.KEY=VALUE
// adds any other key.
var rawParams = map[string]bool{
	"format": true, "name": true, "package": true, "host": true, "arch": true, "runtime": true,
	"tag": true, "commit": true, "branch": true, "build_url": true, "success": true, "duration": true,
}

// rawBag turns a raw report into a bag of one step, client_info from the
// query. A damaged report keeps what it holds: its step is marked
// incomplete and the parse error becomes a warning. An unrecognised one is
// refused, saying what it starts with.
func (s *Server) rawBag(c *gin.Context, secret string, body []byte, q url.Values) (*pony.Bag, string, []string, error) {
	format := "unknown"
	ci, err := clientInfoFromQuery(q)
	if err != nil {
		return nil, format, nil, err
	}
	name := q.Get("format")
	if name == "" {
		name = "auto"
	} else if _, ok := reporters.Lookup(name); !ok {
		return nil, format, nil, aggregator.Errorf(aggregator.EInvalid, "unknown format %q (want %s)", name, strings.Join(reporters.Names(), ", "))
	} else {
		format = name
	}
	if err := s.authorize(c.Request.Context(), secret, ci.Package, aggregator.ScopeWrite); err != nil {
		// Refuse before the parse, which is the costly part.
		return nil, format, nil, err
	}
	lim := s.svc.Limits()
	step, err := reporters.Parse(c.Request.Context(), name, bytes.NewReader(body), reporters.Options{
		File: "upload", OutputCap: lim.Output, StepOutputCap: lim.StepOutput,
	})
	if step == nil {
		if err == nil {
			err = errors.New("the parser returned nothing")
		}
		msg := err.Error()
		if errors.Is(err, reporters.ErrUnknownFormat) {
			// Over HTTP the format is named in the query.
			msg = strings.Replace(msg, "name the format with `pony-report gotest|junit|tap`", "name the format with ?format=gotest|junit|tap", 1)
			if isJSONObject(body) {
				msg += "; a JSON bag needs client_info and results_list keys"
			}
		}
		return nil, format, nil, aggregator.Errorf(aggregator.EInvalid, "%s", msg)
	}
	format = step.Format
	if _, ok := reporters.Lookup(format); !ok {
		format = "unknown"
	}
	var warnings []string
	if err != nil {
		step.Incomplete = true
		warnings = append(warnings, err.Error())
	}
	if n := q.Get("name"); n != "" {
		step.Name = n
	} else {
		step.Name = step.Format
	}
	return &pony.Bag{ClientInfo: ci, Steps: []pony.Step{*step}}, format, warnings, nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// clientInfoFromQuery reads a raw upload's client_info: package (required),
// host, arch, runtime, repeated tag, commit, branch, build_url, success,
// duration, and set.KEY=VALUE for any other key. An unknown parameter is
// refused, so that a typo (pkg=) does not pass silently.
func clientInfoFromQuery(q url.Values) (pony.ClientInfo, error) {
	var ci pony.ClientInfo
	for k, vs := range q {
		if key, ok := strings.CutPrefix(k, "set."); ok {
			if key == "" || contains(clientInfoKeys, key) {
				return ci, aggregator.Errorf(aggregator.EInvalid, "query parameter %q: set.KEY names a key other than %s", k, strings.Join(clientInfoKeys, ", "))
			}
			raw, _ := json.Marshal(vs[len(vs)-1])
			if ci.Extra == nil {
				ci.Extra = map[string]json.RawMessage{}
			}
			ci.Extra[key] = raw
			continue
		}
		if !rawParams[k] {
			return ci, aggregator.Errorf(aggregator.EInvalid, "unknown query parameter %q (client_info comes from package, host, arch, runtime, tag, commit, branch, build_url; add other keys with set.KEY=VALUE)", k)
		}
		if k != "tag" && len(vs) > 1 {
			return ci, aggregator.Errorf(aggregator.EInvalid, "query parameter %q is given %d times; only tag may repeat", k, len(vs))
		}
	}
	ci.Package = q.Get("package")
	if strings.TrimSpace(ci.Package) == "" {
		return ci, aggregator.Errorf(aggregator.EInvalid, "query parameter package is required for a raw report (e.g. ?package=myproject&host=ci-1&tag=nightly)")
	}
	ci.Host, ci.Arch, ci.Runtime = q.Get("host"), q.Get("arch"), q.Get("runtime")
	ci.Commit, ci.Branch, ci.BuildURL = q.Get("commit"), q.Get("branch"), q.Get("build_url")
	ci.Tags = q["tag"]
	if v := q.Get("success"); v != "" {
		b, err := parseBool(v)
		if err != nil {
			return ci, aggregator.Errorf(aggregator.EInvalid, "query parameter success: %v", err)
		}
		ci.Success = &b
	}
	if v := q.Get("duration"); v != "" {
		d, err := parseSeconds(v)
		if err != nil {
			return ci, aggregator.Errorf(aggregator.EInvalid, "query parameter duration: %v", err)
		}
		ci.Duration = d
	}
	return ci, nil
}

// clientInfoKeys are the keys pony.ClientInfo holds as fields.
var clientInfoKeys = []string{"package", "host", "arch", "tags", "runtime", "commit", "branch", "build_url", "success", "duration"}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// getResult answers the stored bag, receipt included.
func (s *Server) getResult(c *gin.Context) (*reply, error) {
	ctx := c.Request.Context()
	secret, err := bearer(c.Request)
	if err != nil {
		return nil, err
	}
	if err := s.authenticate(ctx, secret, aggregator.ScopeRead); err != nil {
		return nil, err
	}
	bag, err := s.svc.Result(ctx, c.Param("key"))
	if aggregator.ErrorCode(err) == aggregator.ENotFound {
		// Perhaps a run not complete yet: its bag so far, with its state.
		r, rerr := s.getRunAsResult(c, c.Param("key"))
		if aggregator.ErrorCode(rerr) == aggregator.ENotFound {
			return nil, err
		}
		return r, rerr
	}
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, secret, bag.ClientInfo.Package, aggregator.ScopeRead); err != nil {
		return nil, err
	}
	// The changes since the previous result of the environment sit beside
	// the bag's own keys; a result stored before they were recorded has
	// none.
	ch, err := s.svc.Changes(ctx, c.Param("key"))
	switch aggregator.ErrorCode(err) {
	case "":
		return &reply{body: bagWithChanges{bag: bag, changes: &ch}}, nil
	case aggregator.ENotFound:
		return &reply{body: bag}, nil
	}
	return nil, err
}

// bagWithChanges writes a bag with a "changes" key after its own.
type bagWithChanges struct {
	bag     *pony.Bag
	changes *aggregator.Changes
}

func (b bagWithChanges) MarshalJSON() ([]byte, error) {
	bag, err := json.Marshal(b.bag)
	if err != nil {
		return nil, err
	}
	ch, err := json.Marshal(b.changes)
	if err != nil {
		return nil, err
	}
	bag = bytes.TrimSpace(bag)
	if len(bag) < 2 || bag[len(bag)-1] != '}' {
		return nil, fmt.Errorf("bag is not a JSON object: %.40s", bag)
	}
	out := make([]byte, 0, len(bag)+len(ch)+16)
	out = append(out, bag[:len(bag)-1]...)
	if len(bytes.TrimSpace(bag[1:len(bag)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"changes":`...)
	out = append(out, ch...)
	return append(out, '}'), nil
}
