package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pony-build/pony"
)

// goTestJSON is what `go test -json` prints for package pkg whose test
// TestLong runs one passing subtest per name, in its real shape: test2json
// cuts an output line into pieces of at most 1024 bytes, so a long name's
// "=== RUN" and "--- PASS" lines come in two events each.
func goTestJSON(pkg string, subtests ...string) string {
	var b strings.Builder
	ev := func(action, test, output string) {
		e := map[string]any{"Time": "2026-12-04T23:57:18.112836497Z", "Action": action, "Package": pkg}
		if test != "" {
			e["Test"] = test
		}
		if action == "output" {
			e["Output"] = output
		}
		if action == "pass" {
			e["Elapsed"] = 0
		}
		j, _ := json.Marshal(e)
		b.Write(j)
		b.WriteByte('\n')
	}
	out := func(test, line string) {
		for len(line) > 1024 {
			ev("output", test, line[:1024])
			line = line[1024:]
		}
		ev("output", test, line)
	}
	ev("start", "", "")
	ev("run", "TestLong", "")
	out("TestLong", "=== RUN   TestLong\n")
	for _, s := range subtests {
		name := "TestLong/" + s
		ev("run", name, "")
		out(name, "=== RUN   "+name+"\n")
		out(name, "--- PASS: "+name+" (0.00s)\n")
		ev("pass", name, "")
	}
	out("TestLong", "--- PASS: TestLong (0.00s)\n")
	ev("pass", "TestLong", "")
	out("", "PASS\n")
	out("", "ok  \t"+pkg+"\t0.002s\n")
	ev("pass", "", "")
	return b.String()
}

// TestLongTestNamesAreCutNotRefused: a passing run whose test names are
// over the 1024-byte limit is sent, exit 0, each long name cut to its
// start and a hash of the whole (two names alike in their first 1024 bytes
// stay two tests), with its full name and length in properties, and a
// warning on stderr. It used to be refused whole ("invalid bag", exit 2).
func TestLongTestNamesAreCutNotRefused(t *testing.T) {
	t.Parallel()
	const pkg = "example.com/longnames"
	long := strings.Repeat("x", 1500) // "TestLong/" + 1500: 1,509 bytes
	shared := strings.Repeat("y", 1100)
	stream := filepath.Join(t.TempDir(), "long.json")
	if err := os.WriteFile(stream, []byte(goTestJSON(pkg, long)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		subtests []string
	}{
		{"send 1509", []string{"send"}, goTestJSON(pkg, long), []string{long}},
		{"send two alike", []string{"send"}, goTestJSON(pkg, shared+"a", shared+"b"), []string{shared + "a", shared + "b"}},
		{"run 1509", []string{"run", "--no-live", "--", "cat", stream}, "", []string{long}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, 0, "")
			spool := filepath.Join(t.TempDir(), "spool")
			r := runBin(t, invocation{args: tc.args, stdin: strings.NewReader(tc.stdin),
				env: map[string]string{"PONY_SERVER": srv.URL, "PONY_SPOOL_DIR": spool, "PONY_PACKAGE": "longnames"}})
			if r.code != 0 {
				t.Fatalf("got exit %d, want 0 (every test passed)\n%s", r.code, r.stderr)
			}
			warn := fmt.Sprintf("pony-report: cut to fit the limits: %d test name", len(tc.subtests))
			if !strings.Contains(r.stderr, warn) || !strings.Contains(r.stderr, "→ sent as res-1") {
				t.Errorf("stderr: got %q, want %q and the bag sent", r.stderr, warn)
			}
			if len(srv.stored) != 1 {
				t.Fatalf("stored: got %d bags, want 1", len(srv.stored))
			}
			if left := spoolFiles(t, spool, ".json"); len(left) != 0 {
				t.Errorf("spool: got %q, want nothing spooled", left)
			}
			var bag pony.Bag
			for _, m := range srv.bags {
				j, _ := json.Marshal(m)
				if err := json.Unmarshal(j, &bag); err != nil {
					t.Fatal(err)
				}
			}
			if err := bag.Validate(pony.DefaultLimits); err != nil {
				t.Errorf("the bag sent: got %v, want it within the limits", err)
			}
			got := map[string]pony.TestResult{}
			for _, st := range bag.Steps {
				for _, tr := range st.Tests {
					got[tr.Name] = tr
				}
			}
			if len(got) != 1+len(tc.subtests) {
				t.Errorf("tests: got %d names, want %d (TestLong and each subtest)", len(got), 1+len(tc.subtests))
			}
			for _, s := range tc.subtests {
				full := "TestLong/" + s
				cut := pony.FitName(full, 1024)
				tr, ok := got[cut]
				switch {
				case !ok:
					t.Errorf("got no test named %.40q…, want the cut name of the %d-byte one", cut, len(full))
				case len(cut) > 1024 || !strings.HasPrefix(cut, "TestLong/"+s[:900]):
					t.Errorf("cut name: got %d bytes %.40q…, want at most 1024, its start kept", len(cut), cut)
				case tr.Status != pony.StatusPass || tr.Suite != pkg:
					t.Errorf("test: got %s in %q, want pass in %q", tr.Status, tr.Suite, pkg)
				case tr.Properties[pony.PropNameBytes] != fmt.Sprint(len(full)) || tr.Properties[pony.PropFullName] != full:
					t.Errorf("properties: got %s=%q and the full name %v, want %d and the full name",
						pony.PropNameBytes, tr.Properties[pony.PropNameBytes], tr.Properties[pony.PropFullName] == full, len(full))
				}
			}
		})
	}
}

// TestLongTestNamesLive: in a live run, a step is fitted to the limits
// before it is streamed (the server refuses a step with a name over them,
// and live updates would stop), and the warning counts each cut once.
func TestLongTestNamesLive(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("z", 1500)
	stream := filepath.Join(t.TempDir(), "long.json")
	if err := os.WriteFile(stream, []byte(goTestJSON("example.com/live", long)), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newRunsServer(t)
	r := runBin(t, invocation{args: []string{"run", "--package", "p", "--progress", "never", "--", "cat", stream},
		env: map[string]string{"PONY_SERVER": srv.URL}})
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "cut to fit the limits: 1 test name"); n != 1 {
		t.Errorf("stderr: the warning %d times, want once:\n%s", n, r.stderr)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.steps) != 1 {
		t.Fatalf("streamed %d steps, want 1", len(srv.steps))
	}
	var st pony.Step
	if err := json.Unmarshal(srv.steps[0], &st); err != nil {
		t.Fatal(err)
	}
	b := pony.Bag{ClientInfo: pony.ClientInfo{Package: "p"}, Steps: []pony.Step{st}}
	if err := b.Validate(pony.DefaultLimits); err != nil {
		t.Errorf("the streamed step: %v, want it within the limits", err)
	}
}

// TestLongTagLive: a tag over the limits is cut before the live run is
// opened with the client_info, so the run is opened (not refused 413) and
// reported live.
func TestLongTagLive(t *testing.T) {
	t.Parallel()
	srv := newRunsServer(t)
	r := runBin(t, invocation{args: []string{"run", "--package", "p", "--progress", "never", "--tag", strings.Repeat("t", 1100), "--", "sh", "-c", "echo hello"},
		env: map[string]string{"PONY_SERVER": srv.URL}})
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.calls) == 0 || !strings.HasPrefix(srv.calls[0], "open ") {
		t.Fatalf("calls %q, want the run opened first", srv.calls)
	}
	if !strings.Contains(r.stderr, "cut to fit the limits") {
		t.Errorf("stderr lacks the warning:\n%s", r.stderr)
	}
	var open struct {
		ClientInfo pony.ClientInfo `json:"client_info"`
	}
	if err := json.Unmarshal(srv.opened, &open); err != nil {
		t.Fatalf("open body %s: %v", srv.opened, err)
	}
	b := pony.Bag{ClientInfo: open.ClientInfo}
	if err := b.Validate(pony.DefaultLimits); err != nil || len(open.ClientInfo.Tags) != 1 {
		t.Errorf("the run was opened with client_info %+v (%v), want one tag within the limits", open.ClientInfo.Tags, err)
	}
}
