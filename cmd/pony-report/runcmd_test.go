package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
)

// dryBag pulls the bag --dry-run printed after the command's own output.
func dryBag(t *testing.T, stdout string) (*pony.Bag, string) {
	t.Helper()
	i := strings.LastIndex(stdout, "{\n  \"client_info\"")
	if i < 0 {
		t.Fatalf("no bag on stdout:\n%s", stdout)
	}
	var b pony.Bag
	if err := json.Unmarshal([]byte(stdout[i:]), &b); err != nil {
		t.Fatalf("decode bag: %v\n%s", err, stdout[i:])
	}
	return &b, stdout[:i]
}

func absTestdata(t *testing.T, p string) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("testdata", p))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// goTestCounts runs go test -json itself and counts its verdicts: the
// runner's own summary to compare the bag with.
func goTestCounts(t *testing.T, dir string) (pass, fail, skip int) {
	t.Helper()
	cmd := exec.Command("go", "test", "-count=1", "-json", "./...")
	cmd.Dir = dir
	out, _ := cmd.Output() // exits 1: a test fails
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var ev struct{ Action, Test string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" {
			continue
		}
		switch ev.Action {
		case "pass":
			pass++
		case "fail":
			fail++
		case "skip":
			skip++
		}
	}
	if pass+fail+skip == 0 {
		t.Fatalf("go test -json gave no verdict:\n%s", out)
	}
	return pass, fail, skip
}

func TestRunGoTest(t *testing.T) {
	dir := absTestdata(t, "runmod")
	pass, fail, skip := goTestCounts(t, dir)
	for _, tc := range []struct {
		name     string
		args     []string
		wantOut  []string // on the terminal (stdout), before the bag
		wantNot  []string
		wantName string
	}{
		{"human output from -json added", []string{"go", "test", "-count=1", "./..."},
			[]string{"--- FAIL: TestFail", "run_test.go:24: got \"abab\"", "FAIL\texample.com/runmod", "s\nFAIL\n"}, // go test's closing FAIL
			[]string{`"Action"`, "=== RUN", "--- PASS"}, "go test -count=1 ./..."},
		{"verbose human output", []string{"go", "test", "-count=1", "-v", "./..."},
			[]string{"=== RUN   TestPass", "--- PASS: TestPass/a", "--- FAIL: TestFail", "--- SKIP: TestSkip"},
			[]string{`"Action"`}, "go test -count=1 -v ./..."},
		{"a shell line, as pony.yaml's steps are", []string{"sh", "-c", "go test -count=1 ./..."},
			[]string{"--- FAIL: TestFail", "FAIL\texample.com/runmod"},
			[]string{`"Action"`, "=== RUN"}, "go test -count=1 ./..."},
		{"json given by the user passes through", []string{"go", "test", "-count=1", "-json", "./..."},
			[]string{`"Action":"fail"`, `"Test":"TestFail"`},
			nil, "go test -count=1 -json ./..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, invocation{dir: dir, args: append([]string{"run", "--dry-run", "--package", "runmod", "--progress", "never", "--"}, tc.args...)})
			if r.code != 1 {
				t.Fatalf("exit code: got %d, want 1\n%s", r.code, r.stderr)
			}
			bag, term := dryBag(t, r.stdout)
			for _, w := range tc.wantOut {
				if !strings.Contains(term, w) {
					t.Errorf("terminal output lacks %q:\n%s", w, term)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(term, w) {
					t.Errorf("terminal output holds %q:\n%s", w, term)
				}
			}
			if len(bag.Steps) != 1 {
				t.Fatalf("steps: got %d, want 1", len(bag.Steps))
			}
			st := bag.Steps[0]
			if st.Format != "gotest" || st.Status != 1 || st.Name != tc.wantName || !strings.Contains(st.Command, "go test") {
				t.Errorf("step: got format %q status %d name %q, want gotest, 1, %q", st.Format, st.Status, st.Name, tc.wantName)
			}
			tot := st.Totals()
			if tot.Pass != pass || tot.Fail != fail || tot.Skip != skip {
				t.Errorf("counts: got %d pass %d fail %d skip, want go test's own %d, %d, %d", tot.Pass, tot.Fail, tot.Skip, pass, fail, skip)
			}
			if !strings.HasPrefix(bag.ClientInfo.Runtime, "go1.") {
				t.Errorf("runtime: got %q, want the Go version", bag.ClientInfo.Runtime)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		wantStderr string
		incomplete bool
	}{
		{"success", []string{"sh", "-c", "echo hello"}, 0, "0 tests", false},
		{"exit status kept", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, 3, "", false},
		{"not found", []string{"no-such-command-pony"}, 127, "cannot run no-such-command-pony: command not found", false},
		{"killed by a signal", []string{"sh", "-c", "kill -KILL $$"}, 128 + 9, "", true},
		{"TAP with a failure, exit 0", []string{"sh", "-c", "printf 'TAP version 13\\n1..3\\nok 1 - a\\nnot ok 2 - b\\nok 3 - c # SKIP later\\n'"}, 1, "3 tests: 1 pass, 1 fail, 1 skip (tap", false},
		{"time limit", []string{"--time-limit", "500ms", "--", "sh", "-c", "echo started; sleep 30"}, 128 + 15, "ran over its time limit of 500ms", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"run", "--dry-run", "--package", "p", "--progress", "never"}
			if tc.args[0] != "--time-limit" {
				args = append(args, "--")
			}
			r := runBin(t, invocation{args: append(args, tc.args...)})
			if r.code != tc.code {
				t.Fatalf("exit code: got %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr: got %q, want it to hold %q", r.stderr, tc.wantStderr)
			}
			bag, _ := dryBag(t, r.stdout)
			st := bag.Steps[0]
			if st.Incomplete != tc.incomplete {
				t.Errorf("incomplete: got %v, want %v", st.Incomplete, tc.incomplete)
			}
			if tc.incomplete && st.Extra["note"] == nil {
				t.Errorf("incomplete step has no note: %+v", st)
			}
			if tc.code == 3 && (st.Output != "out\n" || st.Errout != "err\n" || st.Format != "none") {
				t.Errorf("step: got output %q errout %q format %q, want out, err, none", st.Output, st.Errout, st.Format)
			}
			if tc.code == 127 && st.Status != -1 {
				t.Errorf("status: got %d, want -1 (could not run)", st.Status)
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command, no pony.yaml", []string{"run"}, "no command to run"},
		{"bad progress", []string{"run", "--progress", "sometimes", "--", "true"}, "--progress"},
		{"command and config", []string{"run", "--config", "x.yaml", "--", "true"}, "either a command or --config"},
		{"missing config", []string{"run", "--config", "nope.yaml"}, "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, invocation{dir: dir, args: tc.args, env: map[string]string{"PONY_PACKAGE": "p"}})
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("got %d %q, want 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

// TestRunPytestJUnit runs real pytest writing JUnit XML: the stale report
// left by an earlier run is ignored and named.
func TestRunPytestJUnit(t *testing.T) {
	testenv.NeedCommand(t, "pytest")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "test_mod.py"), "import pytest\n\ndef test_ok():\n    assert 1 + 1 == 2\n\ndef test_bad():\n    assert 'a' == 'b'\n\n@pytest.mark.skip(reason='later')\ndef test_later():\n    pass\n")
	stale := filepath.Join(dir, "reports", "old", "stale.xml")
	write(t, stale, `<testsuite name="old" tests="1"><testcase classname="old" name="gone"/></testsuite>`)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, invocation{dir: dir, args: []string{"run", "--dry-run", "--package", "py", "--progress", "never",
		"--junit", "reports/**/*.xml", "--", "pytest", "-p", "no:cacheprovider", "--junitxml=reports/new/junit.xml", "test_mod.py"}})
	if r.code != 1 {
		t.Fatalf("exit code: got %d, want pytest's 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, filepath.Join("reports", "old", "stale.xml")+" ignored") {
		t.Errorf("stderr does not name the stale report:\n%s", r.stderr)
	}
	bag, term := dryBag(t, r.stdout)
	if !strings.Contains(term, "1 failed, 1 passed, 1 skipped") {
		t.Errorf("pytest's output not passed through:\n%s", term)
	}
	if len(bag.Steps) != 1 {
		t.Fatalf("steps: got %d, want 1 (the files merged into the command's step)", len(bag.Steps))
	}
	st := bag.Steps[0]
	tot := st.Totals()
	if st.Format != "junit" || st.Status != 1 || tot.Pass != 1 || tot.Fail != 1 || tot.Skip != 1 {
		t.Errorf("step: got format %q status %d totals %+v, want junit, 1, 1 pass 1 fail 1 skip", st.Format, st.Status, tot)
	}
	if !strings.Contains(st.Output, "1 failed, 1 passed") {
		t.Errorf("step output: got %q, want pytest's summary", st.Output)
	}
}

// TestRunProve runs perl's prove: TAP in the stream.
func TestRunProve(t *testing.T) {
	testenv.NeedCommand(t, "prove")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "t", "basic.t"), "use Test::More tests => 3;\nok(1, 'one');\nok(0, 'two');\nSKIP: { skip 'no net', 1; ok(1) }\n")
	r := runBin(t, invocation{dir: dir, args: []string{"run", "--dry-run", "--package", "pl", "--progress", "never", "--", "prove", "-v", "t/"}})
	if r.code != 1 {
		t.Fatalf("exit code: got %d, want prove's 1\n%s", r.code, r.stderr)
	}
	bag, _ := dryBag(t, r.stdout)
	tot := bag.Steps[0].Totals()
	if bag.Steps[0].Format != "tap" || tot.Tests != 3 || tot.Pass != 1 || tot.Fail != 1 || tot.Skip != 1 {
		t.Errorf("got format %q totals %+v, want tap with prove's Tests=3, Failed 1, 1 skipped", bag.Steps[0].Format, tot)
	}
}

// TestRunConfig runs pony.yaml's steps: a failing build stops the tests.
func TestRunConfig(t *testing.T) {
	for _, tc := range []struct {
		name      string
		yaml      string
		code      int
		steps     []string
		skipped   string
		wantNoOut string
	}{
		{"build fails", `package: cfg
tags: [nightly]
set: {suite: unit}
steps:
  - name: deps
    type: setup
    run: echo deps
  - name: compile
    type: build
    run: [sh, -c, "echo compiling; exit 3"]
  - name: tests
    run: echo should-not-run
`, 3, []string{"deps", "compile"}, "not run: tests", "should-not-run"},
		{"failing test step does not stop the next", `steps:
  - name: unit
    run: exit 1
  - name: lint
    type: lint
    run: echo linted
`, 1, []string{"unit", "lint"}, "", ""},
		{"continue on error", `steps:
  - {name: b, type: build, run: "false", continue_on_error: true}
  - {name: t, run: "true"}
`, 1, []string{"b", "t"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "pony.yaml"), tc.yaml)
			r := runBin(t, invocation{dir: dir, args: []string{"run", "--dry-run", "--progress", "never"}})
			if r.code != tc.code {
				t.Fatalf("exit code: got %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			bag, term := dryBag(t, r.stdout)
			var names []string
			for _, s := range bag.Steps {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.steps, ",") {
				t.Errorf("steps: got %q, want %q", names, tc.steps)
			}
			if tc.skipped != "" && !strings.Contains(r.stderr, tc.skipped) {
				t.Errorf("stderr lacks %q:\n%s", tc.skipped, r.stderr)
			}
			if tc.wantNoOut != "" && strings.Contains(term, tc.wantNoOut) {
				t.Errorf("a skipped step ran:\n%s", term)
			}
			if tc.name == "build fails" {
				ci := bag.ClientInfo
				if ci.Package != "cfg" || len(ci.Tags) != 1 || string(ci.Extra["suite"]) != `"unit"` || bag.Steps[1].Type != "build" || bag.Steps[1].Status != 3 {
					t.Errorf("got client_info %+v, steps %+v; want package cfg, tag nightly, suite unit, build status 3", ci, bag.Steps)
				}
			}
		})
	}
}

func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "pony.yaml"), "steps:\n  - run: echo\n    junitt: x.xml\n")
	r := runBin(t, invocation{dir: dir, args: []string{"run"}, env: map[string]string{"PONY_PACKAGE": "p"}})
	if want := `pony.yaml:3: unknown field "junitt"`; r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("got %d %q, want 2 and %q", r.code, r.stderr, want)
	}
}

// TestRunSignalForwarded signals the running pony-report: the command gets
// the signal, and the bag is still made.
func TestRunSignalForwarded(t *testing.T) {
	cmd := exec.Command(bin, "run", "--dry-run", "--package", "p", "--progress", "never", "--",
		"sh", "-c", `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done`)
	cmd.Env = cleanEnv(map[string]string{"PONY_SPOOL_DIR": t.TempDir()})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(out)
	if l, err := br.ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("first line: got %q %v, want ready", l, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 7 {
		t.Fatalf("exit code: got %d (%v), want the command's 7\n%s", code, err, stderr.String())
	}
	bag, term := dryBag(t, string(rest))
	if !strings.Contains(term, "got TERM") {
		t.Errorf("the command did not see SIGTERM: %q", term)
	}
	st := bag.Steps[0]
	if !st.Incomplete || st.Status != 7 || !strings.Contains(string(st.Extra["note"]), "terminated") {
		t.Errorf("step: got incomplete %v status %d note %s, want incomplete, 7, a note naming the signal", st.Incomplete, st.Status, st.Extra["note"])
	}
}

// runsServer implements the incremental protocol (DESIGN.md §5) minimally,
// recording what it was sent; fail makes every answer a 500.
type runsServer struct {
	mu     sync.Mutex
	fail   bool
	calls  []string // "open KEY", "step N", "progress", "finish KEY", "results KEY"
	steps  []json.RawMessage
	final  map[string]any
	opened []byte // the body that opened the run
	*httptest.Server
}

func newRunsServer(t *testing.T) *runsServer {
	s := &runsServer{}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *runsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if s.fail {
		w.WriteHeader(500)
		io.WriteString(w, `{"error": "down for maintenance"}`)
		return
	}
	idem, tok := r.Header.Get("Idempotency-Key"), r.Header.Get("Pony-Update-Token")
	const key = "run1"
	switch r.URL.Path {
	case "/api/v1/runs":
		var open struct {
			UpdateToken string `json:"update_token"`
		}
		json.Unmarshal(body, &open)
		s.opened = body
		s.calls = append(s.calls, "open "+idem)
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"result_key": %q, "update_token": %q, "state": "running"}`, key, open.UpdateToken)
	case "/api/v1/runs/" + key + "/steps":
		var st struct {
			Seq  int             `json:"seq"`
			Step json.RawMessage `json:"step"`
		}
		json.Unmarshal(body, &st)
		if tok == "" || st.Seq != len(s.steps) {
			w.WriteHeader(409)
			fmt.Fprintf(w, `{"error": "gap", "detail": {"next": %d}}`, len(s.steps))
			return
		}
		s.steps = append(s.steps, st.Step)
		s.calls = append(s.calls, fmt.Sprintf("step %d", st.Seq))
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"next": %d}`, len(s.steps))
	case "/api/v1/runs/" + key + "/progress":
		s.calls = append(s.calls, "progress")
		w.WriteHeader(204)
	case "/api/v1/runs/" + key + "/finish", "/api/v1/results":
		what := "finish"
		if r.URL.Path == "/api/v1/results" {
			what = "results"
		}
		s.calls = append(s.calls, what+" "+idem)
		json.Unmarshal(body, &s.final)
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"receipt": {"result_key": %q, "time": "2026-01-02T03:04:05Z"}}`, key)
	default:
		http.NotFound(w, r)
	}
}

func TestRunLive(t *testing.T) {
	srv := newRunsServer(t)
	r := runBin(t, invocation{args: []string{"run", "--server", srv.URL, "--package", "p", "--progress", "never",
		"--setup", "echo setting up", "--", "sh", "-c", "sleep 1; printf '1..2\\nok 1 - a\\nok 2 - b\\n'"}})
	if r.code != 0 {
		t.Fatalf("exit code: got %d, want 0\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "sent as run1 (live)") {
		t.Errorf("stderr: got %q, want it sent live", r.stderr)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	// Step 0 is sent while the command sleeps; step 1 is queued as the
	// command ends and may be dropped in favour of finish, which carries the
	// whole bag anyway.
	calls := srv.calls
	if len(calls) == 4 && calls[2] == "step 1" {
		calls = append(calls[:2:2], calls[3])
	}
	if len(calls) != 3 || !strings.HasPrefix(calls[0], "open ") || calls[1] != "step 0" ||
		calls[2] != "finish "+strings.TrimPrefix(calls[0], "open ") || calls[0] == "open " {
		t.Errorf("calls: got %q, want open K, step 0, (step 1,) finish K", srv.calls)
	}
	if steps, _ := srv.final["results_list"].([]any); len(steps) != 2 {
		t.Errorf("finish: got %d steps, want the whole bag's 2", len(steps))
	}
}

// TestRunServerDown: live reporting fails, the bag is spooled before
// pony-report exits, with the command's status.
func TestRunServerDown(t *testing.T) {
	srv := newRunsServer(t)
	srv.fail = true
	spool := t.TempDir()
	r := runBin(t, invocation{args: []string{"run", "--server", srv.URL, "--package", "p", "--progress", "never", "--retries", "1",
		"--", "sh", "-c", "exit 4"}, env: map[string]string{"PONY_SPOOL_DIR": spool}})
	if r.code != 4 {
		t.Fatalf("exit code: got %d, want 4\n%s", r.code, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(spool, "*.json"))
	if len(files) != 1 || !strings.Contains(r.stderr, "spooled") {
		t.Errorf("spool: got %q, stderr %q; want one spooled bag", files, r.stderr)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
