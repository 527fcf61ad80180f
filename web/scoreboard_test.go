package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
)

// countingScoreboard passes every call to the real Service and counts
// them by method.
type countingScoreboard struct {
	sb    Scoreboard
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingScoreboard) count(m string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[m]++
}

// take returns the calls counted since the last take.
func (c *countingScoreboard) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func (c *countingScoreboard) Packages(ctx context.Context) ([]aggregator.PackageSummary, error) {
	c.count("Packages")
	return c.sb.Packages(ctx)
}

func (c *countingScoreboard) TagsetsWithExpected(ctx context.Context, pkg string) ([]aggregator.Tagset, []aggregator.ExpectedStatus, error) {
	c.count("TagsetsWithExpected")
	return c.sb.TagsetsWithExpected(ctx, pkg)
}

func (c *countingScoreboard) Results(ctx context.Context, f aggregator.ResultFilter) (aggregator.ResultPage, error) {
	c.count("Results")
	return c.sb.Results(ctx, f)
}

func (c *countingScoreboard) Result(ctx context.Context, key string) (*pony.Bag, error) {
	c.count("Result")
	return c.sb.Result(ctx, key)
}

func (c *countingScoreboard) Changes(ctx context.Context, key string) (aggregator.Changes, error) {
	c.count("Changes")
	return c.sb.Changes(ctx, key)
}

func (c *countingScoreboard) TestHistory(ctx context.Context, f aggregator.TestHistoryFilter) (aggregator.TestHistory, error) {
	c.count("TestHistory")
	return c.sb.TestHistory(ctx, f)
}

func (c *countingScoreboard) Matrix(ctx context.Context, pkg string, q aggregator.MatrixQuery) (aggregator.Matrix, error) {
	c.count("Matrix")
	return c.sb.Matrix(ctx, pkg, q)
}

func (c *countingScoreboard) Flakiness(ctx context.Context, pkg string, q aggregator.FlakyQuery) ([]aggregator.FlakyTest, error) {
	c.count("Flakiness")
	return c.sb.Flakiness(ctx, pkg, q)
}

func (c *countingScoreboard) ChangesFor(ctx context.Context, keys []string) (map[string]aggregator.Changes, error) {
	c.count("ChangesFor")
	return c.sb.ChangesFor(ctx, keys)
}

func (c *countingScoreboard) RecentResults(ctx context.Context, limit int, failuresOnly bool) ([]aggregator.ResultSummary, error) {
	c.count("RecentResults")
	return c.sb.RecentResults(ctx, limit, failuresOnly)
}

func (c *countingScoreboard) Run(ctx context.Context, key string) (aggregator.Run, error) {
	c.count("Run")
	return c.sb.Run(ctx, key)
}

func (c *countingScoreboard) Runs(ctx context.Context, pkg string) ([]aggregator.Run, error) {
	c.count("Runs")
	return c.sb.Runs(ctx, pkg)
}

// TestPagesCallsDoNotGrow serves the scoreboard and the feeds over 2, then
// 12 packages (each with two environments, a passing then a failing
// result in each, and a quiet expected environment) and checks that the
// Service calls each makes are the same few whatever the number of
// packages and results, and that the batched reads still show what the
// per-row ones did (the quiet environments, the newly failing tests).
func TestPagesCallsDoNotGrow(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := gormstore.Open(ctx, filepath.Join(t.TempDir(), "pony.db"), gormstore.Options{Migrate: true, Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := aggregator.New(st, aggregator.Options{Now: clock})
	cs := &countingScoreboard{sb: svc, calls: map[string]int{}}
	h, err := New(cs, Options{Logger: logger, Now: clock, BaseURL: "http://pony.example"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.UseEscapedPath = true
	e.UnescapePathValues = true
	h.Register(e)

	seedPkg := func(p int) {
		pkg := fmt.Sprintf("pkg%02d", p)
		for _, host := range []string{"h1", "h2"} {
			for _, status := range []pony.Status{pony.StatusPass, pony.StatusFail} {
				now = now.Add(time.Minute)
				bag := fbBag(pkg, host, pony.Step{Type: "test", Name: "t", Status: map[bool]int{true: 1}[status == pony.StatusFail], Tests: []pony.TestResult{
					{Suite: "s", Name: "TestA", Status: pony.StatusPass},
					{Suite: "s", Name: "TestBroke" + pkg, Status: status, Message: "boom"},
				}})
				if _, err := svc.Ingest(ctx, bag, aggregator.IngestOptions{ClientIP: "192.0.2.7"}); err != nil {
					t.Fatalf("ingest: %v", err)
				}
			}
		}
		if err := svc.SetExpected(ctx, pkg, []aggregator.ExpectedEnv{{Name: "quiet-" + pkg, Match: aggregator.Env{Host: "h3"}, Interval: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	pages := []struct {
		path string
		want map[string]int
	}{
		{"/", map[string]int{"Packages": 1}},
		{"/feed.atom", map[string]int{"RecentResults": 1, "ChangesFor": 1}},
		{"/feed.rss?failures=1", map[string]int{"RecentResults": 1, "ChangesFor": 1}},
		{"/p/pkg01/feed.atom", map[string]int{"Results": 1, "ChangesFor": 1}},
		{"/p/pkg01/feed.rss?failures=1", map[string]int{"Results": 1, "ChangesFor": 1}},
	}
	seeded := 0
	for _, n := range []int{2, 12} {
		for ; seeded < n; seeded++ {
			seedPkg(seeded)
		}
		for _, pg := range pages {
			cs.take()
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, pg.path, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("%d packages: GET %s: got %d, want 200: %s", n, pg.path, rec.Code, rec.Body)
			}
			if got := cs.take(); !reflect.DeepEqual(got, pg.want) {
				t.Errorf("%d packages: GET %s: got calls %v, want %v", n, pg.path, got, pg.want)
			}
			body := rec.Body.String()
			switch {
			case pg.path == "/":
				for p := range n {
					if want := fmt.Sprintf("quiet-pkg%02d", p); !strings.Contains(body, want) {
						t.Errorf("%d packages: scoreboard: got no %q, want the quiet expected environment", n, want)
					}
				}
			case strings.HasPrefix(pg.path, "/feed"):
				// The newest result is pkg(n-1)'s failing one on h2.
				if want := fmt.Sprintf("TestBroke%s", fmt.Sprintf("pkg%02d", n-1)); !strings.Contains(body, want) {
					t.Errorf("%d packages: GET %s: got no %q, want the newly failing test", n, pg.path, want)
				}
			default:
				if !strings.Contains(body, "TestBrokepkg01") {
					t.Errorf("%d packages: GET %s: got no TestBrokepkg01, want the newly failing test", n, pg.path)
				}
			}
		}
	}
}
