package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// compatModule is a small Go module whose tests break in one environment:
// built with the legacy tag, TestUnicode fails (unless COMPAT_FIXED is set,
// and then TestFlipped fails instead). It is run by the real go test.
var compatModule = map[string]string{
	"go.mod":        "module example.com/compat\n\ngo 1.21\n",
	"legacy_on.go":  "//go:build legacy\n\npackage compat\n\nconst legacy = true\n",
	"legacy_off.go": "//go:build !legacy\n\npackage compat\n\nconst legacy = false\n",
	"compat_test.go": `package compat

import (
	"os"
	"testing"
)

func TestStable(t *testing.T) {}

func TestUnicode(t *testing.T) {
	if legacy && os.Getenv("COMPAT_FIXED") == "" {
		t.Fatal("legacy build: unicode is not supported")
	}
}

func TestFlipped(t *testing.T) {
	if legacy && os.Getenv("COMPAT_FIXED") != "" {
		t.Fatal("the unicode fix broke the legacy path")
	}
}

func TestRemoved(t *testing.T) {}
`,
}

// goTestJSON runs the real go test -json in dir with args and extra
// environment, and returns its output (a failing run is fine).
func goTestJSON(t *testing.T, dir string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", append([]string{"test", "-json", "-count=1"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(serverEnv(), append([]string{"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local"}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("go test %q: %v\n%s", args, err, stderr.String())
	}
	return out
}

// sendAny runs `pony-report send` and returns the result key it printed,
// checking its exit status (0 all passed, 1 some failed).
func sendAny(t *testing.T, stdin []byte, spool string, wantCode int, args ...string) string {
	t.Helper()
	r := runReport(t, stdin, spool, append([]string{"send"}, args...)...)
	m := sentAs.FindStringSubmatch(r.stderr)
	if r.code != wantCode || m == nil {
		t.Fatalf("pony-report send %q: got exit %d and stderr %q, want exit %d and \"→ sent as KEY\"", args, r.code, r.stderr, wantCode)
	}
	return m[1]
}

// The matrix, the flaky ranking, the changes and the expected environments
// end to end: real go test runs from two environments, piped to the real
// pony-report, stored by the real pony-server started with --expected.
func TestMatrixEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const pkg = "pony-compat"
	expected := filepath.Join(dir, "expected.json")
	if err := os.WriteFile(expected, []byte(`{"`+pkg+`": [
  {"name": "windows", "match": {"host": "win-1", "arch": "windows-amd64"}, "interval": "24h"},
  {"name": "linux legacy", "match": {"host": "linux-1", "tags": ["legacy"]}, "interval": "1h"}
]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--db", filepath.Join(dir, "pony.db"), "--expected", expected)
	if !srv.stderrHas("expected environments loaded") {
		t.Errorf("got stderr %q, want the --expected file logged as loaded", srv.stderr)
	}

	mod := filepath.Join(dir, "compat")
	if err := os.Mkdir(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range compatModule {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spool := filepath.Join(dir, "spool")
	send := func(code int, stdin []byte, flags ...string) string {
		return sendAny(t, stdin, spool, code, append([]string{"--server", srv.URL, "--package", pkg, "--arch", "linux-amd64", "--runtime", "go1.22", "--set", "branch=main"}, append(flags, "-")...)...)
	}
	legacy1 := send(1, goTestJSON(t, mod, nil, "-tags", "legacy", "./..."), "--host", "linux-1", "--tag", "legacy", "--set", "commit=c1")
	send(0, goTestJSON(t, mod, nil, "./..."), "--host", "linux-1", "--tag", "modern", "--set", "commit=c1")
	// A third machine reruns failures with gotestsum: TestFlaky fails, then
	// passes on the rerun.
	rerun, err := os.ReadFile(testdata(t, "gotest/gotestsum_rerun_fails.json"))
	if err != nil {
		t.Fatal(err)
	}
	rerunKey := send(1, rerun, "--host", "ci-rerun", "--tag", "modern", "--set", "commit=c1")

	type matrix struct {
		Columns []struct {
			Label   string `json:"label"`
			Missing bool   `json:"missing"`
			Reason  string `json:"reason"`
		} `json:"columns"`
		Rows []struct {
			Suite string `json:"suite"`
			Name  string `json:"name"`
			Cells []struct {
				Status  string `json:"status"`
				Missing bool   `json:"missing"`
				Flaky   bool   `json:"flaky"`
			} `json:"cells"`
		} `json:"rows"`
	}
	get := func(path string, v any) { getJSON(t, srv.URL+path, "", 200, v) }
	base := "/api/v1/packages/" + url.PathEscape(pkg)
	cells := func(m matrix) map[string]string {
		out := map[string]string{}
		for _, r := range m.Rows {
			var s []string
			for _, c := range r.Cells {
				v := c.Status
				if v == "" {
					v = "-"
				}
				if c.Flaky {
					v += "~"
				}
				s = append(s, v)
			}
			out[r.Name] = strings.Join(s, " ")
		}
		return out
	}

	// The compatibility break: only TestUnicode differs across legacy and
	// modern.
	var m matrix
	get(base+"/matrix?rows=test&cols=tag:legacy,tag:modern&filter=differs", &m)
	var labels []string
	for _, c := range m.Columns {
		labels = append(labels, c.Label)
	}
	if len(m.Rows) != 1 || m.Rows[0].Name != "TestUnicode" || m.Rows[0].Suite != "example.com/compat" {
		t.Fatalf("filter=differs: got rows %+v over columns %q, want only example.com/compat TestUnicode", m.Rows, labels)
	}
	got := cells(m)["TestUnicode"]
	if !strings.Contains(got, "fail") || !strings.Contains(got, "pass") {
		t.Errorf("TestUnicode: got cells %q over %q, want it failing on legacy and passing on modern", got, labels)
	}
	// The windows machine never reported: its column is missing.
	missing := ""
	for _, c := range m.Columns {
		if c.Missing {
			missing += c.Label + ": " + c.Reason + ";"
		}
	}
	if missing != "windows: never reported;" {
		t.Errorf("missing columns: got %q, want only windows, never reported", missing)
	}

	// The flaky ranking: the rerun flake of the third machine.
	var fl struct {
		Tests []struct {
			Suite        string `json:"suite"`
			Name         string `json:"name"`
			State        string `json:"state"`
			Environments []struct {
				Env struct {
					Host string `json:"host"`
				} `json:"env"`
				ResultKey string `json:"result_key"`
			} `json:"environments"`
		} `json:"tests"`
	}
	get(base+"/flaky", &fl)
	if len(fl.Tests) != 1 || fl.Tests[0].Name != "TestFlaky" || fl.Tests[0].State != "flaky" || len(fl.Tests[0].Environments) != 1 ||
		fl.Tests[0].Environments[0].Env.Host != "ci-rerun" || fl.Tests[0].Environments[0].ResultKey != rerunKey {
		t.Errorf("flaky: got %+v, want TestFlaky alone, flaky on ci-rerun in %s", fl.Tests, rerunKey)
	}
	get(base+"/matrix?rows=test&cols=host&filter=flaky", &m)
	if len(m.Rows) != 1 || m.Rows[0].Name != "TestFlaky" {
		t.Errorf("matrix filter=flaky: got %+v, want TestFlaky alone", m.Rows)
	}

	// The legacy machine reports again with the fix: TestUnicode passes,
	// TestFlipped fails, and TestRemoved is no longer run.
	legacy2 := send(1, goTestJSON(t, mod, []string{"COMPAT_FIXED=1"}, "-tags", "legacy", "-run", "TestStable|TestUnicode|TestFlipped", "./..."),
		"--host", "linux-1", "--tag", "legacy", "--set", "commit=c2")
	var res struct {
		ClientInfo struct {
			Package string `json:"package"`
		} `json:"client_info"`
		Changes map[string]json.RawMessage `json:"changes"`
	}
	get("/api/v1/results/"+legacy2, &res)
	names := func(k string) string {
		var refs []struct{ Name string }
		if err := json.Unmarshal(res.Changes[k], &refs); err != nil {
			t.Fatalf("changes.%s: got %s: %v", k, res.Changes[k], err)
		}
		var s []string
		for _, r := range refs {
			s = append(s, r.Name)
		}
		return strings.Join(s, ",")
	}
	if res.ClientInfo.Package != pkg || string(res.Changes["previous_key"]) != `"`+legacy1+`"` ||
		names("newly_failing") != "TestFlipped" || names("newly_passing") != "TestUnicode" || names("vanished") != "TestRemoved" || names("new") != "" {
		t.Errorf("changes of the second legacy result: got %s, want previous %s, newly failing TestFlipped, newly passing TestUnicode, vanished TestRemoved", mustMarshal(res.Changes), legacy1)
	}
	get(base+"/matrix?rows=test&cols=tag:legacy,tag:modern&filter=differs", &m)
	if c := cells(m); len(c) != 1 || c["TestFlipped"] == "" {
		t.Errorf("filter=differs after the fix: got %q, want TestFlipped alone", c)
	}

	// The text table, for curl users.
	resp, err := httpClient.Get(srv.URL + base + "/matrix?rows=test&cols=host,tags&format=text")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^example.com/compat TestFlipped\s+\S+\s+FAIL\s+pass\s+\?\s*$`).Match(text) || !strings.Contains(string(text), "windows [missing]") {
		t.Errorf("text matrix: got\n%s\nwant TestFlipped: ci-rerun ?, linux-1 legacy FAIL, linux-1 modern pass, windows missing", text)
	}
	t.Logf("matrix:\n%s", text)

	// The tagsets: windows is missing, linux legacy reported.
	var ts struct {
		Tagsets  []json.RawMessage `json:"tagsets"`
		Missing  []string          `json:"missing"`
		Expected []struct {
			Name    string `json:"name"`
			Missing bool   `json:"missing"`
		} `json:"expected"`
	}
	get(base+"/tagsets", &ts)
	if len(ts.Tagsets) != 3 || len(ts.Missing) != 1 || ts.Missing[0] != "windows" || len(ts.Expected) != 2 || ts.Expected[1].Missing {
		t.Errorf("tagsets: got %d tagsets, missing %q, expected %+v; want 3, [windows], linux legacy present", len(ts.Tagsets), ts.Missing, ts.Expected)
	}
	var exp struct {
		Expected []struct {
			Name     string `json:"name"`
			Interval string `json:"interval"`
		} `json:"expected"`
	}
	get(base+"/expected", &exp)
	if len(exp.Expected) != 2 || exp.Expected[0].Name != "windows" || exp.Expected[0].Interval != "24h0m0s" || exp.Expected[1].Interval != "1h0m0s" {
		t.Errorf("expected: got %+v, want the file's two environments", exp.Expected)
	}
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
