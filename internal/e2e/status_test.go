package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestStatus reports two environments of one package to a real server, one
// passing and one failing, declares a third that never reports, and asks
// `pony-report status` about them: the exit status answers (0 all
// passing, 1 a failure or a missing environment, 2 nothing to say), one
// line per environment with a link to its result.
func TestStatus(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "")
	dir := t.TempDir()
	for name, tap := range map[string]string{
		"ok.tap":  "1..2\nok 1 - a\nok 2 - b\n",
		"bad.tap": "1..2\nok 1 - a\nnot ok 2 - b\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(tap), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"PONY_SERVER": srv.URL, "PONY_SPOOL_DIR": t.TempDir()}
	for _, args := range [][]string{
		{"tap", "--package", "demo", "--host", "linux-1", "--runtime", "go1.23", "ok.tap"},
		{"tap", "--package", "demo", "--host", "mac-1", "--tag", "nightly", "bad.tap"},
		{"tap", "--package", "green", "--host", "linux-1", "ok.tap"},
	} {
		if r := runReport(t, invocation{dir: dir, args: args, env: env}); r.code > 1 {
			t.Fatalf("pony-report %q: exit %d:\n%s", args, r.code, r.stderr)
		}
	}
	status := func(args ...string) outcome {
		return runReport(t, invocation{dir: dir, args: append([]string{"status"}, args...), env: env})
	}
	line := func(out, mark, env string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, mark) && strings.Contains(l, env) {
				return l
			}
		}
		return ""
	}
	resultLink := regexp.MustCompile(regexp.QuoteMeta(srv.URL) + `/r/[0-9a-f]+$`)

	r := status("demo")
	if r.code != 1 || !strings.Contains(r.stderr, "demo: 2 environments, 1 failing") {
		t.Errorf("status demo: got exit %d, stderr %q; want 1 and \"2 environments, 1 failing\"", r.code, r.stderr)
	}
	fail, pass := line(r.stdout, "✗ FAIL", "mac-1"), line(r.stdout, "✓ pass", "linux-1")
	if !strings.Contains(fail, "[nightly]") || !strings.Contains(fail, "1 of 2 tests failed") || !resultLink.MatchString(fail) {
		t.Errorf("status demo: got the failing line %q in\n%s\nwant mac-1 [nightly], 1 of 2 tests failed and a link to its result", fail, r.stdout)
	}
	if !strings.Contains(pass, "go1.23") || !strings.Contains(pass, "2 tests") || !resultLink.MatchString(pass) {
		t.Errorf("status demo: got the passing line %q in\n%s\nwant linux-1 go1.23, 2 tests and a link", pass, r.stdout)
	}
	// The link leads to the result's page.
	if code, body, err := fetch(resultLink.FindString(fail)); err != nil || code != http.StatusOK || !strings.Contains(string(body), "mac-1") {
		t.Errorf("the failing line's link: got %d, %v", code, err)
	}

	for _, tc := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"--host", "linux-1", "demo"}, 0, "demo: 1 environment, all passing"},
		{[]string{"--tag", "nightly", "demo"}, 1, "1 failing"},
		{[]string{"--package", "green"}, 0, "green: 1 environment, all passing"},
		{[]string{"--tag", "weekly", "demo"}, 2, "none of its 2 environments matches"},
		{[]string{"nope"}, 2, "nope: no result on " + srv.URL},
		{[]string{"a", "b"}, 2, "status takes one package"},
	} {
		if r := status(tc.args...); r.code != tc.code || !strings.Contains(r.stderr, tc.say) {
			t.Errorf("status %q: got exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.say)
		}
	}
	if r := status("-q", "--host", "mac-1", "demo"); r.code != 1 || r.stdout != "" || r.stderr != "" {
		t.Errorf("status -q: got exit %d, stdout %q, stderr %q; want 1 and silence", r.code, r.stdout, r.stderr)
	}

	// An expected environment that never reported keeps a passing package
	// from answering 0.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/api/v1/packages/green/expected",
		strings.NewReader(`{"expected":[{"name":"windows-nightly","match":{"host":"win-1"},"interval":"24h"}]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT expected: %v %v", resp, err)
	}
	resp.Body.Close()
	r = status("green")
	if r.code != 1 || line(r.stdout, "? MISSING", "windows-nightly") == "" || !strings.Contains(r.stderr, "1 expected and missing") {
		t.Errorf("status green with a missing environment: got exit %d\n%s%s\nwant 1, a MISSING line for windows-nightly", r.code, r.stdout, r.stderr)
	}

	// No server there: exit 2, saying so.
	if r := runReport(t, invocation{dir: dir, args: []string{"status", "--server", "http://" + freeAddr(t), "--retries", "1", "demo"}}); r.code != 2 || !strings.Contains(r.stderr, "cannot reach") {
		t.Errorf("status without a server: got exit %d, stderr %q; want 2 and \"cannot reach\"", r.code, r.stderr)
	}
}
