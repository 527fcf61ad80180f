package web

import (
	"net/http"
	"sort"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony/aggregator"
)

type scoreboardPage struct {
	base
	Packages []scoreboardRow
}

type scoreboardRow struct {
	aggregator.PackageSummary
	// Failing counts the failing tests over the latest result of every
	// environment.
	Failing int
	// Quiet lists the expected environments that have not reported within
	// their interval.
	Quiet []aggregator.ExpectedStatus
}

// scoreboard is "/": every package with the latest verdict of each of its
// environments, its failing and flaky counts and its quiet expected
// environments: two Service calls (Packages, ExpectedAll) whatever the
// number of packages.
func (h *Handler) scoreboard(c *gin.Context) {
	ctx := c.Request.Context()
	pkgs, err := h.sb.Packages(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	// Every package's expected environments in one read, not one per row.
	expected, err := h.sb.ExpectedAll(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	sort.SliceStable(pkgs, func(i, j int) bool { return aggregator.NaturalLess(pkgs[i].Name, pkgs[j].Name) })
	now := h.opts.Now()
	p := &scoreboardPage{base: base{Title: []string{"scoreboard"}, Feed: "/feed.atom"}}
	for _, s := range pkgs {
		row := scoreboardRow{PackageSummary: s}
		sort.SliceStable(row.Environments, func(i, j int) bool {
			return aggregator.NaturalLess(row.Environments[i].Env.Key(), row.Environments[j].Env.Key())
		})
		envs := make([]aggregator.EnvInfo, len(s.Environments))
		for i, r := range s.Environments {
			row.Failing += r.Totals.Fail + r.Totals.Error
			envs[i] = aggregator.EnvInfo{Key: r.Env.Key(), Env: r.Env, LastReceived: r.Received, LastResult: r.Key}
		}
		for _, st := range aggregator.MissingExpected(expected[s.Name], envs, now) {
			if st.Missing {
				row.Quiet = append(row.Quiet, st)
			}
		}
		p.Packages = append(p.Packages, row)
	}
	h.render(c, http.StatusOK, "scoreboard", p)
}
