package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/internal/testenv"
)

// reportRun is one run of the pony-report binary.
type reportRun struct {
	code           int
	stdout, stderr string
}

// runReport runs pony-report with args, stdin and a spool of the test's own.
func runReport(t *testing.T, stdin []byte, spool string, args ...string) reportRun {
	t.Helper()
	cmd := exec.Command(reportBin, args...)
	cmd.Env = append(serverEnv(), "PONY_SPOOL_DIR="+spool, "PONY_TIMEOUT=10s", "PONY_RETRIES=1")
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := reportRun{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("pony-report %q: %v", args, err)
	}
	return r
}

var sentAs = regexp.MustCompile(`→ sent as ([0-9a-f]+)`)

// sendReport runs `pony-report send` and returns the result key it printed.
// Every report here has failing tests: the exit status must be 1.
func sendReport(t *testing.T, stdin []byte, spool string, args ...string) string {
	t.Helper()
	r := runReport(t, stdin, spool, append([]string{"send"}, args...)...)
	m := sentAs.FindStringSubmatch(r.stderr)
	if r.code != 1 || m == nil {
		t.Fatalf("pony-report send %q: got exit %d and stderr %q, want exit 1 (failing tests) and \"→ sent as KEY\"", args, r.code, r.stderr)
	}
	return m[1]
}

// testdata returns the path of a real report under reporters/testdata.
func testdata(t testing.TB, rel string) string {
	return filepath.Join(testenv.RepoRoot(t), "reporters", "testdata", rel)
}

// e2eRun is one of the three real runs reported in TestEndToEnd.
type e2eRun struct {
	report string   // under reporters/testdata
	flags  []string // pony-report flags
	stdin  bool     // piped rather than named
	key    string   // result key, once sent
	step   pony.Step
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, "--db", filepath.Join(dir, "pony.db"))
	if !srv.stderrHas("WARNING: pony-server has NO API TOKEN", "token create") {
		t.Errorf("got stderr %q, want the loud warning of an open server, saying how to create a token", srv.stderr)
	}
	const pkg = "pony-e2e"
	spool := filepath.Join(dir, "spool")
	runs := []*e2eRun{
		{report: "gotest/everyday.json", stdin: true, flags: []string{"--host", "linux-1", "--arch", "linux-amd64", "--runtime", "go1.26.0", "--tag", "go", "--tag", "nightly", "--set", "commit=c0ffee", "--set", "branch=main"}},
		{report: "junit/pytest-xunit2.xml", flags: []string{"--host", "linux-1", "--arch", "linux-amd64", "--runtime", "python3.12", "--tag", "python", "--set", "branch=main", "--set", `matrix={"py":"3.12","extras":["a","b"]}`}},
		{report: "tap/node-test.tap", flags: []string{"--host", "mac-1", "--arch", "darwin-arm64", "--runtime", "node22", "--tag", "node", "--set", "branch=feature"}},
	}
	for _, r := range runs {
		r.step = realStep(t, r.report)
		args := append([]string{"--server", srv.URL, "--package", pkg}, r.flags...)
		var stdin []byte
		if r.stdin {
			b, err := os.ReadFile(testdata(t, r.report))
			if err != nil {
				t.Fatal(err)
			}
			stdin, args = b, append(args, "-")
		} else {
			args = append(args, testdata(t, r.report))
			if r.step.Format == "tap" {
				// A TAP file named to pony-report is the suite of its
				// tests (its name, as it lies outside the working
				// directory).
				for i := range r.step.Tests {
					if r.step.Tests[i].Suite == "" {
						r.step.Tests[i].Suite = filepath.Base(r.report)
					}
				}
			}
		}
		r.key = sendReport(t, stdin, spool, args...)
	}
	gotest, pytest, tap := runs[0], runs[1], runs[2]

	// A fourth, passing, run from a machine without the client: the raw
	// go test -json stream, client_info in the query.
	raw, err := os.ReadFile(testdata(t, "gotest/real_xsync.json"))
	if err != nil {
		t.Fatal(err)
	}
	code, body, err := post(context.Background(), srv.URL+"/api/v1/results?package="+pkg+"&host=curl-box&arch=linux-arm64&tag=go&tag=raw", "application/octet-stream", raw, "", "")
	if err != nil || code != 201 {
		t.Fatalf("raw upload: got %d %s (%v), want 201", code, body, err)
	}
	rawKey := receiptOf(t, body).ResultKey

	t.Run("results/{key}", func(t *testing.T) {
		for _, r := range runs {
			var got pony.Bag
			getJSON(t, srv.URL+"/api/v1/results/"+r.key, "", 200, &got)
			if got.Receipt == nil || got.Receipt.ResultKey != r.key || got.Receipt.Time.IsZero() || got.Receipt.ClientIP != "127.0.0.1" {
				t.Errorf("%s: got receipt %+v, want key %s, a time and client IP 127.0.0.1", r.report, got.Receipt, r.key)
			}
			if got.ClientInfo.Package != pkg || len(got.Steps) != 1 {
				t.Fatalf("%s: got package %q and %d steps, want %q and 1", r.report, got.ClientInfo.Package, len(got.Steps), pkg)
			}
			st := got.Steps[0]
			if st.Format != r.step.Format || st.Status != r.step.Status || len(st.Tests) != len(r.step.Tests) {
				t.Errorf("%s: got step format %q status %d with %d tests, want %q %d with %d", r.report, st.Format, st.Status, len(st.Tests), r.step.Format, r.step.Status, len(r.step.Tests))
				continue
			}
			for i, want := range r.step.Tests {
				g := st.Tests[i]
				if g.Suite != want.Suite || g.Name != want.Name || g.Status != want.Status || g.AttemptNumber() != want.AttemptNumber() || g.Message != want.Message || g.File != want.File || g.Line != want.Line {
					t.Errorf("%s: test %d: got %+v, want %+v", r.report, i, g, want)
				}
				if (want.Status == pony.StatusFail || want.Status == pony.StatusError) && g.Output != want.Output {
					t.Errorf("%s: test %s: got output %q, want the failure's output %q kept", r.report, want.Name, g.Output, want.Output)
				}
			}
			if tt := got.Totals(); tt != r.step.Totals() {
				t.Errorf("%s: got totals %+v, want %+v", r.report, tt, r.step.Totals())
			}
		}
		// Arbitrary client_info keys come back exactly as sent.
		var got struct {
			ClientInfo map[string]json.RawMessage `json:"client_info"`
		}
		getJSON(t, srv.URL+"/api/v1/results/"+pytest.key, "", 200, &got)
		if m := string(got.ClientInfo["matrix"]); compactJSON(t, m) != `{"py":"3.12","extras":["a","b"]}` {
			t.Errorf("client_info.matrix: got %s, want {\"py\":\"3.12\",\"extras\":[\"a\",\"b\"]}", m)
		}
		getJSON(t, srv.URL+"/api/v1/results/0000000000000000000000000000", "", 404, nil)
	})

	t.Run("packages", func(t *testing.T) {
		var got []aggregator.PackageSummary
		getPackages(t, srv.URL, "", &got)
		var p *aggregator.PackageSummary
		for i := range got {
			if got[i].Name == pkg {
				p = &got[i]
			}
		}
		if p == nil {
			t.Fatalf("got packages %+v, want %q among them", got, pkg)
		}
		if p.Results != 4 || len(p.Environments) != 4 {
			t.Errorf("got %d results in %d environments, want 4 in 4", p.Results, len(p.Environments))
		}
	})

	t.Run("packages/{pkg}/results", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{rawKey, tap.key, pytest.key, gotest.key}},
			{"host=linux-1", []string{pytest.key, gotest.key}},
			{"arch=darwin-arm64", []string{tap.key}},
			{"tag=go", []string{rawKey, gotest.key}},
			{"tag=go&tag=nightly", []string{gotest.key}},
			{"branch=main", []string{pytest.key, gotest.key}},
			{"host=linux-1&tag=python", []string{pytest.key}},
			{"host=nowhere", nil},
		} {
			page := resultPage(t, srv.URL, pkg, tc.query)
			if got := keysOf(page); !equalStrings(got, tc.want) {
				t.Errorf("?%s: got %q, want %q", tc.query, got, tc.want)
			}
			if page.Next != "" {
				t.Errorf("?%s: got next %q on the only page, want none", tc.query, page.Next)
			}
		}
		// Two pages of 3 and 1.
		first := resultPage(t, srv.URL, pkg, "limit=3")
		if got := keysOf(first); !equalStrings(got, []string{rawKey, tap.key, pytest.key}) || first.Next == "" {
			t.Fatalf("limit=3: got %q next %q, want the 3 newest and a cursor", got, first.Next)
		}
		second := resultPage(t, srv.URL, pkg, "limit=3&before="+url.QueryEscape(first.Next))
		if got := keysOf(second); !equalStrings(got, []string{gotest.key}) || second.Next != "" {
			t.Errorf("second page: got %q next %q, want [%s] and no cursor", got, second.Next, gotest.key)
		}
		// Summaries carry the environment and the totals.
		s := first.Results[1]
		if s.Env.Host != "mac-1" || s.Env.Arch != "darwin-arm64" || s.Env.Runtime != "node22" || s.Success || s.Totals != tap.step.Totals() {
			t.Errorf("got summary %+v, want mac-1, darwin-arm64, node22, failed, totals %+v", s, tap.step.Totals())
		}
	})

	t.Run("latest", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"", rawKey},
			{"host=linux-1", pytest.key},
			{"tag=nightly", gotest.key},
			{"host=mac-1&tag=node", tap.key},
		} {
			var got pony.Bag
			getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/latest?"+tc.query, "", 200, &got)
			if got.Receipt == nil || got.Receipt.ResultKey != tc.want || len(got.Steps) != 1 {
				t.Errorf("latest?%s: got %+v, want the whole bag %s", tc.query, got.Receipt, tc.want)
			}
		}
		getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/latest?host=nowhere", "", 404, nil)
	})

	t.Run("tagsets", func(t *testing.T) {
		got := tagsets(t, srv.URL, pkg)
		want := map[string]string{} // env key → latest result
		for _, r := range []struct {
			key string
			env aggregator.Env
		}{
			{gotest.key, aggregator.Env{Package: pkg, Host: "linux-1", Arch: "linux-amd64", Runtime: "go1.26.0", Tags: []string{"go", "nightly"}}},
			{pytest.key, aggregator.Env{Package: pkg, Host: "linux-1", Arch: "linux-amd64", Runtime: "python3.12", Tags: []string{"python"}}},
			{tap.key, aggregator.Env{Package: pkg, Host: "mac-1", Arch: "darwin-arm64", Runtime: "node22", Tags: []string{"node"}}},
		} {
			want[r.env.Key()] = r.key
		}
		n := 0
		for _, ts := range got {
			if k, ok := want[ts.Env.Key()]; ok {
				n++
				if ts.Latest.Key != k || ts.Results != 1 || ts.Stale {
					t.Errorf("tagset %v: got latest %s, %d results, stale %v; want %s, 1, fresh", ts.Env.Tagset(), ts.Latest.Key, ts.Results, ts.Stale, k)
				}
			}
		}
		if len(got) != 4 || n != 3 {
			t.Errorf("got %d tagsets (%d of the reported ones), want 4 (the 3 reported and the raw upload's)", len(got), n)
		}
	})

	t.Run("tests/history", func(t *testing.T) {
		var want pony.TestResult
		for _, tr := range pytest.step.Tests {
			if tr.Status == pony.StatusFail {
				want = tr
				break
			}
		}
		var got aggregator.TestHistory
		q := url.Values{"suite": {want.Suite}, "name": {want.Name}}
		getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/tests/history?"+q.Encode(), "", 200, &got)
		if len(got.Verdicts) != 1 {
			t.Fatalf("history of %s %s: got %d verdicts, want 1: %+v", want.Suite, want.Name, len(got.Verdicts), got)
		}
		v := got.Verdicts[0]
		if v.ResultKey != pytest.key || v.Status != pony.StatusFail || v.Message != want.Message || v.Env.Host != "linux-1" || v.Attempts != 1 {
			t.Errorf("got verdict %+v, want %s fail %q on linux-1, 1 attempt", v, pytest.key, want.Message)
		}
		// A Go test in the go test run.
		q = url.Values{"suite": {gotest.step.Tests[0].Suite}, "name": {gotest.step.Tests[0].Name}}
		getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/tests/history?"+q.Encode(), "", 200, &got)
		if len(got.Verdicts) != 1 || got.Verdicts[0].ResultKey != gotest.key || got.Verdicts[0].Status != gotest.step.Tests[0].Status {
			t.Errorf("history of %v: got %+v, want one verdict of %s", q, got.Verdicts, gotest.key)
		}
	})

	t.Run("should-build", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			query string
			build bool
			why   aggregator.BuildReason
		}{
			{"failed", "host=linux-1&arch=linux-amd64&runtime=python3.12&tag=python&reserve=false", true, aggregator.ReasonFailed},
			{"passed", "host=curl-box&arch=linux-arm64&tag=go&tag=raw&reserve=false", false, aggregator.ReasonUpToDate},
			{"never built", "host=new-box&arch=linux-amd64&reserve=false", true, aggregator.ReasonNone},
		} {
			var got aggregator.BuildAnswer
			getJSON(t, srv.URL+"/api/v1/should-build?package="+pkg+"&"+tc.query, "", 200, &got)
			if got.Build != tc.build || got.Reason != tc.why || got.Message == "" {
				t.Errorf("%s: got %+v, want build %v because %s", tc.name, got, tc.build, tc.why)
			}
		}
	})

	t.Run("xmlrpc", func(t *testing.T) {
		xmlrpcE2E(t, srv.URL, pkg, pytest.key, aggregator.Env{Package: pkg, Host: "mac-1", Arch: "darwin-arm64", Runtime: "node22", Tags: []string{"node"}}, tap.key)
	})

	t.Run("healthz and metrics", func(t *testing.T) {
		getJSON(t, srv.URL+"/healthz", "", 200, nil)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte("pony_")) {
			t.Errorf("/metrics: got %d with no pony_ metric, want 200 and the ingest metrics:\n%.2000s", resp.StatusCode, b)
		}
	})
	srv.stop(t)
}

func keysOf(p aggregator.ResultPage) []string {
	var out []string
	for _, r := range p.Results {
		out = append(out, r.Key)
	}
	return out
}

func equalStrings(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) && len(a) == len(b)
}

func compactJSON(t *testing.T, s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

func resultPage(t *testing.T, base, pkg, query string) aggregator.ResultPage {
	t.Helper()
	var p aggregator.ResultPage
	getJSON(t, base+"/api/v1/packages/"+url.PathEscape(pkg)+"/results?"+query, "", 200, &p)
	return p
}

// getPackages reads GET /api/v1/packages.
func getPackages(t *testing.T, base, token string, into *[]aggregator.PackageSummary) {
	t.Helper()
	var body struct {
		Packages []aggregator.PackageSummary `json:"packages"`
	}
	getJSON(t, base+"/api/v1/packages", token, 200, &body)
	*into = body.Packages
}

// tagsets reads GET /api/v1/packages/{pkg}/tagsets.
func tagsets(t *testing.T, base, pkg string) []aggregator.Tagset {
	t.Helper()
	var body struct {
		Tagsets []aggregator.Tagset `json:"tagsets"`
	}
	getJSON(t, base+"/api/v1/packages/"+url.PathEscape(pkg)+"/tagsets", "", 200, &body)
	return body.Tagsets
}
