package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args     []string
		wantCode int
		want     []string
		notWant  []string
	}{
		{[]string{"--help"}, 0, []string{"send", "gotest", "junit", "tap", "parse", "flush", "\n  run ", "\n  status "}, nil},
		{[]string{"help", "send"}, 0, []string{"-server", "PONY_SERVER", "-dry-run", "-tag", "PONY_TAGS", "-set", "-spool-dir"}, nil},
		{[]string{"send", "-h"}, 0, []string{"-token", "PONY_TOKEN"}, nil},
		{nil, 2, []string{"Commands:"}, nil},
		{[]string{"help", "status"}, 0, []string{"-host", "-tag", "-q", "PONY_SERVER"}, nil},
		{[]string{"status", "--server", "http://127.0.0.1:1", "--retries", "1", "pony"}, 2, []string{"cannot reach http://127.0.0.1:1"}, nil},
		{[]string{"nosuch"}, 2, []string{`unknown command "nosuch"`}, nil},
	} {
		r := runBin(t, invocation{args: tc.args, env: map[string]string{"PONY_TOKEN": "do-not-print-me"}})
		out := r.stdout + r.stderr
		if r.code != tc.wantCode {
			t.Errorf("%q: got exit %d, want %d\n%s", tc.args, r.code, tc.wantCode, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: got %q, want it to hold %q", tc.args, out, w)
			}
		}
		for _, w := range append(tc.notWant, "do-not-print-me") {
			if strings.Contains(out, w) {
				t.Errorf("%q: got %q, want no %q", tc.args, out, w)
			}
		}
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // on stderr
	}{
		{"all pass", []string{"parse", "testdata/pass.json"}, 0, "pony-report: 5 tests: 4 pass, 1 skip (gotest, testdata/pass.json)"},
		{"a failure", []string{"parse", "testdata/fail.json"}, 1, "6 tests: 4 pass, 1 fail, 1 skip (gotest, testdata/fail.json)"},
		{"cut short", []string{"parse", "testdata/truncated.json"}, 1, "testdata/truncated.json:10: "},
		{"cut short, summary", []string{"send", "--dry-run", "testdata/truncated.json"}, 1, "(gotest, testdata/truncated.json, incomplete)"},
		{"missing file", []string{"parse", "testdata/pass.json", "testdata/missing.json"}, 2, "testdata/missing.json: no such file or directory"},
		{"not a report", []string{"send", "testdata/generate.sh"}, 2, "testdata/generate.sh: unrecognised report format"},
		{"named format does not fit", []string{"junit", "--dry-run", "testdata/pass.json"}, 2, "testdata/pass.json"},
		{"gotest on what is not go test -json", []string{"gotest", "--dry-run", "testdata/generate.sh"}, 2, "not go test -json output; nothing was sent"},
		{"** globs recurse", []string{"parse", "testdata/**/pass.json"}, 0, "5 tests: 4 pass, 1 skip"},
		{"glob matches nothing", []string{"send", "testdata/*.trx"}, 2, `pattern "testdata/*.trx" matches no file`},
		{"bad flag", []string{"send", "--colour", "testdata/pass.json"}, 2, "flag provided but not defined: -colour"},
		{"bad server", []string{"send", "--server", "localhost:8080", "testdata/pass.json"}, 2, `--server "localhost:8080": want an http:// or https:// URL`},
		{"bad --set", []string{"parse", "--set", "duration=soon", "testdata/pass.json"}, 2, "--set"},
		{"flush takes no file", []string{"flush", "testdata/pass.json"}, 2, "flush takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBin(t, invocation{args: tc.args})
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("got exit %d and stderr %q, want exit %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
			if tc.code == 2 && r.stdout != "" && tc.name != "bad flag" {
				t.Errorf("got stdout %q, want nothing printed for unusable input", r.stdout)
			}
		})
	}
}

func TestParsePrintsBag(t *testing.T) {
	t.Parallel()
	r := runBin(t, invocation{
		args: []string{"parse", "testdata/pass.json", "--package", "tiny", "--tag", "nightly", "--host", "ci-3",
			"--set", "python=3.12", "--set", "shards=4"},
		env: map[string]string{"PONY_TAGS": "linux, go"},
	})
	if r.code != 0 {
		t.Fatalf("got exit %d, want 0\n%s", r.code, r.stderr)
	}
	bag := decodeBag(t, r.stdout)
	ci := bag["client_info"].(map[string]any)
	for k, want := range map[string]any{
		"package": "tiny", "host": "ci-3", "tags": []any{"linux", "go", "nightly"}, "python": 3.12, "shards": 4.0,
	} {
		if !reflect.DeepEqual(ci[k], want) {
			t.Errorf("client_info.%s: got %#v, want %#v", k, ci[k], want)
		}
	}
	if rt, _ := ci["runtime"].(string); !strings.HasPrefix(rt, "go1.") {
		t.Errorf("client_info.runtime: got %q, want the Go version from `go env GOVERSION`", rt)
	}
	if _, ok := bag["receipt"]; ok {
		t.Errorf("got a receipt, want none")
	}
	steps := bag["results_list"].([]any)
	s := steps[0].(map[string]any)
	if len(steps) != 1 || s["name"] != "testdata/pass.json" || s["format"] != "gotest" || len(s["tests"].([]any)) != 5 {
		t.Errorf("got steps %v, want one gotest step with 5 tests", steps)
	}
}

func TestGlobsMakeOneStepPerFile(t *testing.T) {
	t.Parallel()
	r := runBin(t, invocation{args: []string{"parse", "testdata/*.json", "testdata/pass.json"}})
	if r.code != 1 {
		t.Fatalf("got exit %d, want 1 (fail.json fails)\n%s", r.code, r.stderr)
	}
	var names []string
	for _, s := range decodeBag(t, r.stdout)["results_list"].([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	want := []string{"testdata/fail.json", "testdata/pass.json", "testdata/truncated.json"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("got steps %q, want %q", names, want)
	}
}

func TestSendPipedGoTest(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 0, "")
	// A real pipe: go test -json | pony-report send.
	goTest := exec.Command("go", "test", "-json", "-count=1", ".")
	goTest.Dir = filepath.Join("testdata", "tinymod")
	goTest.Env = cleanEnv(map[string]string{"GOTOOLCHAIN": "local", "GOFLAGS": ""})
	pipe, err := goTest.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := goTest.Start(); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, invocation{
		args:  []string{"send", "--tag", "e2e"},
		stdin: pipe,
		env:   map[string]string{"PONY_SERVER": srv.URL, "PONY_TOKEN": "tok-1", "PONY_PACKAGE": "tinymod"},
	})
	goTest.Wait() // it fails: TestBroken
	if r.code != 1 {
		t.Errorf("got exit %d, want 1 (TestBroken fails)\n%s", r.code, r.stderr)
	}
	if want := "pony-report: 6 tests: 4 pass, 1 fail, 1 skip (gotest, -) → sent as res-1"; !strings.Contains(r.stderr, want) {
		t.Errorf("got stderr %q, want %q", r.stderr, want)
	}
	if srv.count() != 1 || len(srv.stored) != 1 {
		t.Fatalf("got %d requests, %d stored, want 1 and 1", srv.count(), len(srv.stored))
	}
	req := srv.requests[0]
	if got := req.Header.Get("Authorization"); got != "Bearer tok-1" {
		t.Errorf("Authorization: got %q, want Bearer tok-1", got)
	}
	for key, bag := range srv.bags {
		if len(key) != 32 {
			t.Errorf("Idempotency-Key: got %q, want 32 hex digits", key)
		}
		ci := bag["client_info"].(map[string]any)
		if ci["package"] != "tinymod" || !reflect.DeepEqual(ci["tags"], []any{"e2e"}) {
			t.Errorf("client_info: got %v, want package tinymod, tags [e2e]", ci)
		}
	}
}

func TestSendStdinPasses(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 0, "")
	f, err := os.Open("testdata/pass.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := runBin(t, invocation{args: []string{"gotest", "-", "--server", srv.URL}, stdin: f})
	if r.code != 0 || srv.count() != 1 {
		t.Errorf("got exit %d and %d requests, want 0 and 1\n%s", r.code, srv.count(), r.stderr)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 0, "")
	r := runBin(t, invocation{args: []string{"send", "--dry-run", "testdata/fail.json"}, env: map[string]string{"PONY_SERVER": srv.URL},
		dir: ""})
	if r.code != 1 {
		t.Errorf("got exit %d, want 1 (the verdict)", r.code)
	}
	if srv.count() != 0 {
		t.Errorf("got %d requests, want none", srv.count())
	}
	decodeBag(t, r.stdout)
	for _, w := range []string{"not sent (--dry-run; would POST to " + srv.URL, `pony-report: package "`, "; set --package or PONY_PACKAGE to change it)"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("got stderr %q, want %q", r.stderr, w)
		}
	}
}

func TestCIVariablesFillClientInfo(t *testing.T) {
	t.Parallel()
	r := runBin(t, invocation{args: []string{"send", "--dry-run", "testdata/pass.json"}, env: map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_SHA": "9f1c2e3d4b5a69788796a5b4c3d2e1f009f1c2e3", "GITHUB_REF": "refs/pull/7/merge",
		"GITHUB_HEAD_REF": "topic", "GITHUB_REPOSITORY": "acme/gadget", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42",
	}})
	ci := decodeBag(t, r.stdout)["client_info"].(map[string]any)
	want := map[string]any{
		"package": "gadget", "commit": "9f1c2e3d4b5a69788796a5b4c3d2e1f009f1c2e3", "branch": "topic",
		"build_url": "https://github.com/acme/gadget/actions/runs/42", "ci": "github-actions", "pull_request": "7",
	}
	for k, v := range want {
		if ci[k] != v {
			t.Errorf("client_info.%s: got %v, want %v", k, ci[k], v)
		}
	}
}

func TestUnreachableServerSpoolsThenFlush(t *testing.T) {
	t.Parallel()
	addr := deadAddr(t)
	spool := filepath.Join(t.TempDir(), "spool")
	env := map[string]string{"PONY_SERVER": "http://" + addr, "PONY_SPOOL_DIR": spool, "PONY_RETRIES": "2"}

	r := runBin(t, invocation{args: []string{"send", "testdata/fail.json"}, env: env})
	if r.code != 1 {
		t.Errorf("got exit %d, want 1: an unreachable server does not change the verdict\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"→ spooled", "cannot reach http://" + addr, "the bag was spooled to " + spool, "pony-report flush"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("got stderr %q, want %q", r.stderr, w)
		}
	}
	if r := runBin(t, invocation{args: []string{"send", "testdata/pass.json"}, env: env}); r.code != 0 {
		t.Errorf("second send: got exit %d, want 0", r.code)
	}
	spooled := spoolFiles(t, spool, ".json")
	if len(spooled) != 2 {
		t.Fatalf("got %d spooled bags, want 2", len(spooled))
	}
	keys := map[string]bool{}
	for _, p := range spooled {
		b, _ := os.ReadFile(p)
		var e struct {
			Key    string `json:"idempotency_key"`
			Server string `json:"server"`
		}
		json.Unmarshal(b, &e)
		keys[e.Key] = true
		if e.Server != "http://"+addr {
			t.Errorf("spooled server: got %q, want %q", e.Server, "http://"+addr)
		}
	}

	// Still down: flush fails and lists what remains.
	r = runBin(t, invocation{args: []string{"flush"}, env: env})
	if r.code != 1 || !strings.Contains(r.stderr, "2 bags still spooled") {
		t.Errorf("flush while down: got exit %d, %q; want 1 and the list", r.code, r.stderr)
	}

	srv := newServer(t, 0, addr)
	r = runBin(t, invocation{args: []string{"flush"}, env: map[string]string{"PONY_SPOOL_DIR": spool}})
	if r.code != 0 || !strings.Contains(r.stderr, "sent 2 spooled bags") {
		t.Errorf("flush: got exit %d, %q; want 0 and 2 sent", r.code, r.stderr)
	}
	if len(srv.stored) != 2 {
		t.Errorf("stored: got %d bags, want 2", len(srv.stored))
	}
	for k, n := range srv.stored {
		if !keys[k] || n != 1 {
			t.Errorf("key %s: stored %d times (spooled key: %v), want once with the spooled key", k, n, keys[k])
		}
	}
	if left := spoolFiles(t, spool, ".json"); len(left) != 0 {
		t.Errorf("spool: got %q, want empty", left)
	}
	r = runBin(t, invocation{args: []string{"flush"}, env: env})
	if r.code != 0 || !strings.Contains(r.stderr, "nothing spooled") {
		t.Errorf("second flush: got exit %d, %q; want 0, nothing spooled", r.code, r.stderr)
	}
}

func TestRefusedBagIsSpooledWithTheMessage(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 401, "")
	spool := filepath.Join(t.TempDir(), "spool")
	r := runBin(t, invocation{args: []string{"send", "testdata/pass.json"},
		env: map[string]string{"PONY_SERVER": srv.URL, "PONY_SPOOL_DIR": spool, "PONY_TOKEN": "wrong"}})
	if r.code != 0 {
		t.Errorf("got exit %d, want 0: a refusal does not change the verdict", r.code)
	}
	want := "server said 401 Unauthorized: token not accepted for package pony; the bag was spooled to " + spool
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "fix the token") {
		t.Errorf("got stderr %q, want %q and advice", r.stderr, want)
	}
	if srv.count() != 1 {
		t.Errorf("got %d requests, want 1 (401 is not retried)", srv.count())
	}
	notes := spoolFiles(t, spool, ".error")
	if len(notes) != 1 {
		t.Fatalf("got %d error notes, want 1", len(notes))
	}
	if b, _ := os.ReadFile(notes[0]); !bytes.Contains(b, []byte("token not accepted")) {
		t.Errorf("note: got %q, want the server's message", b)
	}
}

// TestReporterTestdata runs `pony-report parse` on every report under
// reporters/testdata and checks the bag's step against the reporters'
// golden file, and the exit status against the step's verdict.
func TestReporterTestdata(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	goldens, _ := filepath.Glob(filepath.Join(root, "reporters", "testdata", "*", "*.golden.json"))
	if len(goldens) == 0 {
		t.Fatal("no golden files under reporters/testdata")
	}
	for _, g := range goldens {
		in := strings.TrimSuffix(g, ".golden.json")
		rel, _ := filepath.Rel(root, in)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			var golden struct {
				Error string          `json:"error"`
				Bag   json.RawMessage `json:"bag"`
			}
			b, err := os.ReadFile(g)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &golden); err != nil {
				t.Fatal(err)
			}
			format := filepath.Base(filepath.Dir(in))
			r := runBin(t, invocation{args: []string{"parse", "--package", "p", filepath.Base(in)}, dir: filepath.Dir(in)})
			if string(golden.Bag) == "null" {
				if r.code != 2 {
					t.Errorf("got exit %d, want 2 (no usable step)", r.code)
				}
				return
			}
			var bag struct {
				Steps []map[string]any `json:"results_list"`
			}
			json.Unmarshal(golden.Bag, &bag)
			if len(bag.Steps) != 1 {
				t.Fatalf("%s: want a bag of one step", g)
			}
			want := bag.Steps[0]
			if r.code == 2 {
				t.Fatalf("got exit 2, want a bag\n%s", r.stderr)
			}
			steps := decodeBag(t, r.stdout)["results_list"].([]any)
			got := steps[0].(map[string]any)
			if golden.Error != "" {
				want["incomplete"] = true
				if !strings.Contains(r.stderr, golden.Error) {
					t.Errorf("got stderr %q, want the parse error %q", r.stderr, golden.Error)
				}
			}
			if d := firstDiff("step", got, want); d != "" {
				t.Errorf("step differs from %s at %s", g, d)
			}
			wantCode := 0
			if tot, _ := want["totals"].(map[string]any); want["incomplete"] == true || want["status"].(float64) != 0 ||
				tot != nil && (tot["fail"].(float64) > 0 || tot["error"].(float64) > 0) {
				wantCode = 1
			}
			if r.code != wantCode {
				t.Errorf("got exit %d, want %d", r.code, wantCode)
			}
			if got["format"] != format {
				t.Errorf("format: got %v, want %s", got["format"], format)
			}
		})
	}
}

// TestSharedFixtures runs every real-world report of the shared fixtures
// through `pony-report parse`: each gives a bag (exit 0 or 1) or a clear
// error naming the file (exit 2), and none crashes.
func TestSharedFixtures(t *testing.T) {
	t.Parallel()
	fx := fixtures(t)
	var files []string
	filepath.WalkDir(fx, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			switch filepath.Ext(p) {
			case ".xml", ".tap", ".json", ".junit-xml":
				if !strings.HasSuffix(p, ".results.json") && !strings.Contains(p, "__outputs__") {
					files = append(files, p)
				}
			}
		}
		return nil
	})
	if len(files) < 50 {
		t.Fatalf("got %d fixture files, want the shared corpus (hundreds)", len(files))
	}
	for _, f := range files {
		r := runBin(t, invocation{args: []string{"parse", "--package", "p", f}})
		switch r.code {
		case 0, 1:
			if bag := decodeBag(t, r.stdout); len(bag["results_list"].([]any)) != 1 {
				t.Errorf("%s: got %v, want one step", f, bag["results_list"])
			}
		case 2:
			if !strings.Contains(r.stderr, f) || r.stdout != "" {
				t.Errorf("%s: got exit 2 with %q, want a message naming the file and no bag", f, r.stderr)
			}
		default:
			t.Errorf("%s: got exit %d, want 0, 1 or 2\n%s", f, r.code, r.stderr)
		}
	}
}

// firstDiff names the first place where two decoded JSON values differ,
// with both values; "" when they are equal.
func firstDiff(path string, got, want any) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	switch w := want.(type) {
	case map[string]any:
		if g, ok := got.(map[string]any); ok {
			keys := map[string]bool{}
			for k := range g {
				keys[k] = true
			}
			for k := range w {
				keys[k] = true
			}
			for k := range keys {
				if d := firstDiff(path+"."+k, g[k], w[k]); d != "" {
					return d
				}
			}
		}
	case []any:
		if g, ok := got.([]any); ok && len(g) == len(w) {
			for i := range w {
				if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
					return d
				}
			}
		}
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	return fmt.Sprintf("%s: got %.400s, want %.400s", path, gb, wb)
}

func TestJUnitOut(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "report.xml")
	// Any input exports: go test -json and a pytest JUnit file in one bag.
	pytest := filepath.Join(repoRoot(t), "reporters", "testdata", "junit", "pytest-xunit2.xml")
	r := runBin(t, invocation{args: []string{"parse", "--junit-out", out, "testdata/fail.json", pytest}})
	if r.code != 1 {
		t.Fatalf("got exit %d, want 1\n%s", r.code, r.stderr)
	}
	type verdict struct{ suite, name, status string }
	verdicts := func(bag map[string]any) map[verdict]int {
		m := map[verdict]int{}
		for _, s := range bag["results_list"].([]any) {
			for _, tc := range s.(map[string]any)["tests"].([]any) {
				tm := tc.(map[string]any)
				m[verdict{tm["suite"].(string), tm["name"].(string), tm["status"].(string)}]++
			}
		}
		return m
	}
	want := verdicts(decodeBag(t, r.stdout))
	// The export must read back, as JUnit, to the same tests and verdicts.
	back := runBin(t, invocation{args: []string{"parse", out}})
	counts, _, _ := strings.Cut(r.stderr, " (")
	if back.code != 1 || !strings.Contains(back.stderr, counts+" (junit, "+out+")") {
		t.Errorf("reading the export back: got exit %d, %q; want 1 and the same counts", back.code, back.stderr)
	}
	if got := verdicts(decodeBag(t, back.stdout)); !reflect.DeepEqual(got, want) {
		t.Errorf("got verdicts %v, want %v", got, want)
	}
	r = runBin(t, invocation{args: []string{"parse", "--junit-out", filepath.Join(t.TempDir(), "no", "such", "dir", "x.xml"), "testdata/pass.json"}})
	if r.code != 2 || !strings.Contains(r.stderr, "--junit-out") || r.stdout != "" {
		t.Errorf("unwritable --junit-out: got exit %d, %q; want 2 and a message", r.code, r.stderr)
	}
}
