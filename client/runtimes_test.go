package client

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pony-build/pony"
)

// TestRuntimesOnThisMachine asks the real programs. go and perl must be
// here (CI installs python3 and node too; java is checked when present).
func TestRuntimesOnThisMachine(t *testing.T) {
	c := NewCollector(OSEnv())
	got := c.Runtimes(context.Background())
	want := map[string]*regexp.Regexp{
		RuntimeGo:     regexp.MustCompile(`^go1\.[0-9]+(\.[0-9]+)?`),
		RuntimePerl:   regexp.MustCompile(`^perl5\.[0-9]+\.[0-9]+$`),
		RuntimePython: regexp.MustCompile(`^python[23]\.[0-9]+\.[0-9]+`),
		RuntimeNode:   regexp.MustCompile(`^node[0-9]+\.[0-9]+\.[0-9]+$`),
		RuntimeJava:   regexp.MustCompile(`^java[0-9]+`),
	}
	for name, re := range want {
		prog := name
		if name == RuntimePython {
			prog = "python3"
		}
		if _, err := exec.LookPath(prog); err != nil && name != RuntimeGo && name != RuntimePerl {
			if got[name] != "" {
				t.Errorf("%s: got %q, want none (not on PATH)", name, got[name])
			}
			continue
		}
		if !re.MatchString(got[name]) {
			t.Errorf("%s: got %q, want a match for %s", name, got[name], re)
		}
	}
	// The Go probe agrees with go itself.
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(out)); got[RuntimeGo] != v {
		t.Errorf("go: got %q, want %q", got[RuntimeGo], v)
	}
	if v := c.Runtimes(context.Background(), RuntimePerl, "cobol"); len(v) != 1 || v[RuntimePerl] != got[RuntimePerl] {
		t.Errorf("perl and an unknown name: got %v, want perl only", v)
	}
}

// TestRuntimesFakePath puts scripts printing odd version strings first on
// PATH, and counts how often each runs.
func TestRuntimesFakePath(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	scripts := map[string]string{
		// python3 is broken (a pyenv shim with no version selected): python answers, on stderr.
		"python3": "echo 'pyenv: python3: command not found' >&2; exit 127",
		"python":  "echo 'Python 2.7.18' >&2",
		"node":    "echo v22.0.0-nightly20240101abcdef",
		"java":    "echo 'Picked up JAVA_TOOL_OPTIONS: -Xmx1g' >&2; echo 'openjdk version \"21\" 2023-09-19' >&2; echo 'OpenJDK Runtime Environment (build 21+35)' >&2",
		"perl":    "printf v5.40.0",
		"go":      "echo 'devel go1.24-abcdef Tue Jan 2 2024'", // not a release: left out
	}
	for name, body := range scripts {
		script := "#!/bin/sh\necho " + name + " >> " + log + "\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	c := NewCollector(OSEnv())
	want := map[string]string{
		RuntimePython: "python2.7.18",
		RuntimeNode:   "node22.0.0-nightly20240101abcdef",
		RuntimeJava:   "java21",
		RuntimePerl:   "perl5.40.0",
	}
	for range 2 {
		got := c.Runtimes(context.Background())
		b, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(b) != string(w) {
			t.Errorf("got %s, want %s", b, w)
		}
	}
	calls, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, l := range strings.Fields(string(calls)) {
		count[l]++
	}
	for name := range scripts {
		if count[name] != 1 {
			t.Errorf("%s ran %d times, want once", name, count[name])
		}
	}
}

func TestRuntimeParse(t *testing.T) {
	for _, tc := range []struct {
		runtime, out, want string
	}{
		{RuntimePython, "Python 3.11.2", "python3.11.2"},
		{RuntimePython, "Python 3.13.0rc1\n", "python3.13.0rc1"},
		{RuntimePython, "Python 3.12.0+", "python3.12.0+"},
		{RuntimePython, "pyenv: version `3.9' is not installed", ""},
		{RuntimePython, "Python", ""},
		{RuntimeNode, "v20.10.0", "node20.10.0"},
		{RuntimeNode, "20.10.0", ""},
		{RuntimeNode, "v", ""},
		{RuntimeJava, `openjdk version "17.0.9" 2023-10-17`, "java17.0.9"},
		{RuntimeJava, "Picked up _JAVA_OPTIONS: -Xss4m\njava version \"1.8.0_392\"\nJava(TM) SE Runtime Environment", "java1.8.0_392"},
		{RuntimeJava, `openjdk version "23-ea" 2024-09-17`, "java23-ea"},
		{RuntimeJava, "Unable to locate a Java Runtime.", ""},
		{RuntimePerl, "v5.36.0", "perl5.36.0"},
		{RuntimePerl, "Can't locate", ""},
	} {
		if got := runtimeProbes[tc.runtime].parse(tc.out); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.runtime, tc.out, got, tc.want)
		}
	}
}

func TestRuntimeFor(t *testing.T) {
	for _, tc := range []struct {
		argv string
		want string
	}{
		{"go test -json ./...", RuntimeGo},
		{"/usr/local/go/bin/go test ./...", RuntimeGo},
		{"gotestsum --rerun-fails -- ./...", RuntimeGo},
		{"pytest -q --junitxml=r.xml", RuntimePython},
		{"python3 -m pytest", RuntimePython},
		{"python3.12 -m unittest", RuntimePython},
		{"tox -e py311", RuntimePython},
		{"nox", RuntimePython},
		{"poetry run pytest", RuntimePython},
		{"uv run pytest", RuntimePython},
		{"node --test", RuntimeNode},
		{"npm test", RuntimeNode},
		{"npx jest --ci", RuntimeNode},
		{"yarn test", RuntimeNode},
		{"./node_modules/.bin/mocha", RuntimeNode},
		{"mvn -B test", RuntimeJava},
		{"./gradlew test", RuntimeJava},
		{"java -jar junit-platform-console-standalone.jar", RuntimeJava},
		{"prove -lr t", RuntimePerl},
		{"perl Makefile.PL", RuntimePerl},
		{"env GOFLAGS=-mod=mod go test ./...", RuntimeGo},
		{"CGO_ENABLED=0 go test ./...", RuntimeGo},
		{"time -p pytest", RuntimePython},
		{"sh -c", ""},
		{"make test", ""},
		{"./run-tests.sh", ""},
		{"", ""},
	} {
		if got := RuntimeFor(strings.Fields(tc.argv)); got != tc.want {
			t.Errorf("RuntimeFor(%q): got %q, want %q", tc.argv, got, tc.want)
		}
	}
	if got := RuntimeFor([]string{"bash", "-c", "cd sub && go test ./..."}); got != "" {
		// "cd" comes first: only the first command of the script counts.
		t.Errorf("bash -c 'cd && go test': got %q, want \"\"", got)
	}
	if got := RuntimeFor([]string{"sh", "-c", "go test -json ./... 2>&1"}); got != RuntimeGo {
		t.Errorf("sh -c 'go test': got %q, want go", got)
	}
}

func TestRuntimesFor(t *testing.T) {
	for _, tc := range []struct {
		cmds []string
		want []string
	}{
		{[]string{"go test -json ./..."}, []string{RuntimeGo}},
		{[]string{"pip install -r requirements.txt", "pytest"}, []string{RuntimePython}},
		{[]string{"npm ci", "mvn -B test", "node --test"}, []string{RuntimeNode, RuntimeJava}},
		{[]string{"go vet ./...", "make test"}, RuntimeNames},
		{[]string{"./run-tests.sh"}, RuntimeNames},
		{nil, RuntimeNames},
	} {
		var argvs [][]string
		for _, c := range tc.cmds {
			argvs = append(argvs, strings.Fields(c))
		}
		if got := RuntimesFor(argvs...); !slices.Equal(got, tc.want) {
			t.Errorf("RuntimesFor(%q): got %q, want %q", tc.cmds, got, tc.want)
		}
	}
}

func TestApplyRuntimes(t *testing.T) {
	versions := map[string]string{RuntimeGo: "go1.22.4", RuntimePerl: "perl5.36.0"}
	for _, tc := range []struct {
		name string
		ci   pony.ClientInfo
		argv []string
		want string
	}{
		{"the command's runtime", pony.ClientInfo{}, []string{"prove", "t"},
			`{"package":"","runtime":"perl5.36.0","runtimes":{"go":"go1.22.4","perl":"perl5.36.0"}}`},
		{"a runtime not found", pony.ClientInfo{}, []string{"pytest"},
			`{"package":"","runtimes":{"go":"go1.22.4","perl":"perl5.36.0"}}`},
		{"--runtime and --set runtimes win", pony.ClientInfo{Runtime: "go1.21", Extra: map[string]json.RawMessage{"runtimes": json.RawMessage(`"mine"`)}},
			[]string{"go", "test"}, `{"package":"","runtime":"go1.21","runtimes":"mine"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ci := tc.ci
			ApplyRuntimes(&ci, versions, tc.argv)
			b, err := json.Marshal(ci)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got %s, want %s", b, tc.want)
			}
		})
	}
	var ci pony.ClientInfo
	ApplyRuntimes(&ci, nil, []string{"go"})
	if ci.Runtime != "" || ci.Extra != nil {
		t.Errorf("no versions: got %+v, want nothing set", ci)
	}
}

func TestRuntimeInOutput(t *testing.T) {
	for _, tc := range []struct {
		line, name, version string
	}{
		// Debian 12's pytest 7.2.1, plain and with -v (captured on this machine).
		{"platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack", RuntimePython, "python3.11.2"},
		{"platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack -- /usr/bin/python3", RuntimePython, "python3.11.2"},
		{"platform darwin -- Python 3.13.0rc1, pytest-8.3.3, pluggy-1.5.0\n", RuntimePython, "python3.13.0rc1"},
		{"platform win32 -- Python 3.12.0, pytest-7.4.3, pluggy-1.3.0", RuntimePython, "python3.12.0"},
		{"platform linux -- Python", "", ""},
		{"rootdir: /src", "", ""},
		{"=== RUN   TestPlatform -- Python 3", "", ""},
	} {
		name, version, ok := RuntimeInOutput(tc.line)
		if name != tc.name || version != tc.version || ok != (tc.name != "") {
			t.Errorf("%q: got %q, %q, %v; want %q, %q", tc.line, name, version, ok, tc.name, tc.version)
		}
	}
}

// TestStepRuntimes: the runtimes the steps' reports name, the first step's
// winning for each runtime.
func TestStepRuntimes(t *testing.T) {
	step := func(rt string) pony.Step {
		if rt == "" {
			return pony.Step{}
		}
		return pony.Step{Extra: map[string]json.RawMessage{"runtime": json.RawMessage(`"` + rt + `"`)}}
	}
	got := StepRuntimes([]pony.Step{step(""), step("java21.0.2"), step("java17.0.9"), step("python3.12.1"), step("bogus")})
	want := map[string]string{"java": "java21.0.2", "python": "python3.12.1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := StepRuntimes(nil); got != nil {
		t.Errorf("no steps: got %v, want nil", got)
	}
}
