package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// The incremental runs (DESIGN.md §5): open a run, append its steps as they
// finish, say how the running step goes, finish it with the whole bag.
// Auth is that of POST /api/v1/results (a write token for the run's
// package); a run's own requests also carry its update token.

// updateTokenHeader carries a run's update token.
const updateTokenHeader = "Pony-Update-Token"

// openRunBody is what POST /api/v1/runs reads beside the bag.
type openRunBody struct {
	UpdateToken string `json:"update_token"`
}

// postRun opens a run: 201 with its result key and update token, 200 for a
// repeat with the same Idempotency-Key and update token.
func (s *Server) postRun(c *gin.Context) (*reply, error) {
	ctx := c.Request.Context()
	secret, body, err := s.writeRequest(c)
	if err != nil {
		return nil, err
	}
	bag, err := decodeBag(body)
	if err != nil {
		return nil, err
	}
	var extra openRunBody
	_ = json.Unmarshal(bytes.TrimPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("\xef\xbb\xbf")), &extra) // decodeBag read the same JSON
	if strings.TrimSpace(bag.ClientInfo.Package) == "" {
		const p = "client_info.package: is required (the name of the project being tested)"
		return nil, &aggregator.Error{Code: aggregator.EInvalid, Message: "invalid bag: " + p, Detail: []string{p}}
	}
	if err := s.authorize(ctx, secret, bag.ClientInfo.Package, aggregator.ScopeWrite); err != nil {
		return nil, err
	}
	run, err := s.svc.OpenRun(ctx, bag, aggregator.RunOptions{
		IdempotencyKey: c.GetHeader("Idempotency-Key"),
		UpdateToken:    extra.UpdateToken,
		ClientIP:       c.ClientIP(),
	})
	if err != nil {
		return nil, err
	}
	c.Header("Location", "/api/v1/results/"+url.PathEscape(run.ResultKey))
	if run.Existed {
		c.Header("Idempotent-Replayed", "true")
		return &reply{body: run}, nil
	}
	return &reply{status: http.StatusCreated, body: run}, nil
}

// writeRequest reads a write request's token and body and checks the
// token is known (or that the server is open).
func (s *Server) writeRequest(c *gin.Context) (secret string, body []byte, err error) {
	if secret, err = bearer(c.Request); err != nil {
		return "", nil, err
	}
	// The body is read before answering, so that a client is told why even
	// when it is still sending.
	if body, err = s.readBody(c); err != nil {
		return "", nil, err
	}
	if err := s.authenticate(c.Request.Context(), secret, aggregator.ScopeWrite); err != nil {
		return "", nil, err
	}
	return secret, body, nil
}

// runRequest is writeRequest for a request on an existing run: the token
// must also allow writing the run's package. It returns the run's key and
// update token.
func (s *Server) runRequest(c *gin.Context) (key, token string, body []byte, err error) {
	ctx := c.Request.Context()
	secret, body, err := s.writeRequest(c)
	if err != nil {
		return "", "", nil, err
	}
	key = c.Param("key")
	pkg, err := s.svc.RunPackage(ctx, key)
	if err != nil {
		return "", "", nil, err
	}
	if err := s.authorize(ctx, secret, pkg, aggregator.ScopeWrite); err != nil {
		return "", "", nil, err
	}
	return key, c.GetHeader(updateTokenHeader), body, nil
}

// stepBody is POST /api/v1/runs/{key}/steps's body.
type stepBody struct {
	Seq  *int       `json:"seq"`
	Step *pony.Step `json:"step"`
}

// nextReply answers a step: the seq the run expects next.
type nextReply struct {
	Next int `json:"next"`
}

// postRunStep appends a step: 201 when stored, 200 for a replay, 409 for a
// gap (detail {"next": n}) or a complete run.
func (s *Server) postRunStep(c *gin.Context) (*reply, error) {
	key, token, body, err := s.runRequest(c)
	if err != nil {
		return nil, err
	}
	var b stepBody
	if err := decodeJSON(body, &b, "step"); err != nil {
		return nil, err
	}
	if b.Seq == nil || b.Step == nil {
		return nil, aggregator.Errorf(aggregator.EInvalid, `a step needs "seq" (its number, from 0) and "step"`)
	}
	next, stored, err := s.svc.AppendRunStep(c.Request.Context(), key, token, *b.Seq, *b.Step)
	if err != nil {
		return nil, err
	}
	if stored {
		return &reply{status: http.StatusCreated, body: nextReply{Next: next}}, nil
	}
	c.Header("Idempotent-Replayed", "true")
	return &reply{body: nextReply{Next: next}}, nil
}

// postRunProgress records a run's progress (a heartbeat too): 204.
func (s *Server) postRunProgress(c *gin.Context) (*reply, error) {
	key, token, body, err := s.runRequest(c)
	if err != nil {
		return nil, err
	}
	var p aggregator.RunProgress
	if err := decodeJSON(body, &p, "progress"); err != nil {
		return nil, err
	}
	if err := s.svc.RunProgress(c.Request.Context(), key, token, p); err != nil {
		return nil, err
	}
	return &reply{status: http.StatusNoContent}, nil
}

// postRunFinish completes a run with its whole bag: 201 with the receipt, 200
// with the same receipt for a repeat.
func (s *Server) postRunFinish(c *gin.Context) (r *reply, err error) {
	outcome, tests, size := outcomeRejected, 0, 0
	defer func() {
		if err != nil && statusOf(aggregator.ErrorCode(err)) >= 500 {
			outcome = outcomeFailed
		}
		s.metrics.ingested(outcome, formatBag, size, tests)
	}()
	key, token, body, err := s.runRequest(c)
	size = len(body)
	if err != nil {
		return nil, err
	}
	bag, err := decodeBag(body)
	if err != nil {
		return nil, err
	}
	for i := range bag.Steps {
		tests += len(bag.Steps[i].Tests)
	}
	res, err := s.svc.FinishRun(c.Request.Context(), key, token, bag, c.ClientIP())
	if err != nil {
		return nil, err
	}
	c.Header("Location", "/api/v1/results/"+url.PathEscape(res.Receipt.ResultKey))
	if res.Existed {
		outcome = outcomeReplayed
		c.Header("Idempotent-Replayed", "true")
		return &reply{body: ingestReply{Receipt: res.Receipt}}, nil
	}
	outcome = outcomeCreated
	return &reply{status: http.StatusCreated, body: ingestReply{Receipt: res.Receipt}}, nil
}

// getRuns lists a package's runs that are not complete.
func (s *Server) getRuns(c *gin.Context) (*reply, error) {
	ctx := c.Request.Context()
	pkg := c.Param("pkg")
	if err := s.readAccess(ctx, c, pkg); err != nil {
		return nil, err
	}
	runs, err := s.svc.Runs(ctx, pkg)
	if err != nil {
		return nil, err
	}
	if runs == nil {
		runs = []aggregator.Run{}
	}
	return &reply{body: map[string][]aggregator.Run{"runs": runs}}, nil
}

// readAccess checks that the request may read pkg.
func (s *Server) readAccess(ctx context.Context, c *gin.Context, pkg string) error {
	secret, err := bearer(c.Request)
	if err != nil {
		return err
	}
	if err := s.authenticate(ctx, secret, aggregator.ScopeRead); err != nil {
		return err
	}
	return s.authorize(ctx, secret, pkg, aggregator.ScopeRead)
}

// getRunAsResult answers GET /api/v1/results/{key} for a run that is not
// complete: the bag so far with its state and progress beside its keys.
func (s *Server) getRunAsResult(c *gin.Context, key string) (*reply, error) {
	ctx := c.Request.Context()
	run, err := s.svc.Run(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := s.readAccess(ctx, c, run.Env.Package); err != nil {
		return nil, err
	}
	return &reply{body: runBag{run: run}}, nil
}

// runBag writes a run's bag with "state" and "progress" after its keys.
type runBag struct{ run aggregator.Run }

func (b runBag) MarshalJSON() ([]byte, error) {
	bag, err := json.Marshal(b.run.Bag)
	if err != nil {
		return nil, err
	}
	bag = bytes.TrimSpace(bag)
	if len(bag) < 2 || bag[len(bag)-1] != '}' {
		return nil, fmt.Errorf("bag is not a JSON object: %.40s", bag)
	}
	st, _ := json.Marshal(b.run.State) // a string always marshals
	progress := []byte("null")
	if b.run.Progress != nil {
		if progress, err = json.Marshal(b.run.Progress); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, len(bag)+len(progress)+48)
	out = append(out, bag[:len(bag)-1]...)
	if len(bytes.TrimSpace(bag[1:len(bag)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"state":`...)
	out = append(out, st...)
	out = append(out, `,"progress":`...)
	out = append(out, progress...)
	return append(out, '}'), nil
}

// decodeJSON reads a small JSON request body into v, naming what it is in
// errors.
func decodeJSON(body []byte, v any, what string) error {
	body = bytes.TrimPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("\xef\xbb\xbf"))
	if err := json.Unmarshal(body, v); err != nil {
		return aggregator.Errorf(aggregator.EInvalid, "invalid %s: %v", what, err)
	}
	return nil
}
