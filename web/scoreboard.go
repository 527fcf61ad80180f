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
	// their interval, or never.
	Quiet []aggregator.ExpectedStatus
}

// scoreboard is "/": every package (those that expect environments but
// never reported too) with the latest verdict of each of its
// environments, its failing and flaky counts (flaky: the tests its flaky
// page lists) and its quiet expected environments: one Service call
// (Packages) whatever the number of packages.
func (h *Handler) scoreboard(c *gin.Context) {
	pkgs, err := h.sb.Packages(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	sort.SliceStable(pkgs, func(i, j int) bool { return aggregator.NaturalLess(pkgs[i].Name, pkgs[j].Name) })
	p := &scoreboardPage{base: base{Title: []string{"scoreboard"}, Feed: "/feed.atom"}}
	for _, s := range pkgs {
		row := scoreboardRow{PackageSummary: s}
		sort.SliceStable(row.Environments, func(i, j int) bool {
			return aggregator.NaturalLess(row.Environments[i].Env.Key(), row.Environments[j].Env.Key())
		})
		for _, r := range s.Environments {
			row.Failing += r.Totals.Fail + r.Totals.Error
		}
		for _, st := range s.Expected {
			if st.Missing {
				row.Quiet = append(row.Quiet, st)
			}
		}
		p.Packages = append(p.Packages, row)
	}
	h.render(c, http.StatusOK, "scoreboard", p)
}
