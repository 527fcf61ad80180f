package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

// getFlaky answers a package's tests in the states ?state= selects (flaky
// by default; broken, new, healthy, recovered or all, or a comma-separated
// list of them), highest score first, each with its combined signals, its
// first and last flake, and its environments in those states with their
// signals.
func (s *Server) getFlaky(c *gin.Context) (*reply, error) {
	q, err := newQuery(c, "branch", "state")
	if err != nil {
		return nil, err
	}
	sel, err := aggregator.ParseStateSelection(q.get("state"))
	if err != nil {
		return nil, err
	}
	pkg := c.Param("pkg")
	if err := s.authorizeRead(c, pkg); err != nil {
		return nil, err
	}
	tests, err := s.svc.Flakiness(c.Request.Context(), pkg, aggregator.FlakyQuery{Branch: q.get("branch"), State: sel.String()})
	if err != nil {
		return nil, err
	}
	if tests == nil {
		tests = []aggregator.FlakyTest{}
	}
	for i := range tests {
		if tests[i].Environments == nil {
			tests[i].Environments = []aggregator.FlakyEnv{}
		}
	}
	return &reply{body: flakyReply{Package: pkg, Branch: q.get("branch"), State: sel.String(), Tests: tests}}, nil
}

// flakyReply is the answer of GET /packages/{pkg}/flaky.
type flakyReply struct {
	Package string `json:"package"`
	Branch  string `json:"branch,omitempty"`
	// State is the selection, as ParseStateSelection writes it.
	State string                 `json:"state"`
	Tests []aggregator.FlakyTest `json:"tests"`
}
