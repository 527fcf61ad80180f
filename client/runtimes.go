package client

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters"
)

// Runtime names, the keys of Runtimes' answer and RuntimeFor's.
const (
	RuntimeGo     = "go"
	RuntimePython = "python"
	RuntimeNode   = "node"
	RuntimeJava   = "java"
	RuntimePerl   = "perl"
)

// RuntimeNames lists the runtimes Runtimes knows how to ask, in order.
var RuntimeNames = []string{RuntimeGo, RuntimePython, RuntimeNode, RuntimeJava, RuntimePerl}

// RuntimeTimeout bounds one version probe: a runtime that takes longer to say
// its version (a cold JVM on a loaded machine) is left out.
const RuntimeTimeout = 5 * time.Second

// runtimeProbe is how one runtime is asked for its version: the commands to
// try in order, and how to read the answer.
type runtimeProbe struct {
	tries [][]string
	// stderr: the version is printed on standard error (java -version).
	stderr bool
	parse  func(out string) string
}

var runtimeProbes = map[string]runtimeProbe{
	RuntimePython: {
		// "Python 3.11.2"; Python 2 printed it on standard error.
		tries:  [][]string{{"python3", "--version"}, {"python", "--version"}},
		stderr: true,
		parse: func(out string) string {
			_, rest, ok := strings.Cut(firstLine(out), "Python ")
			return prefixed("python", rest, ok)
		},
	},
	RuntimeNode: {
		tries: [][]string{{"node", "--version"}},
		parse: func(out string) string { // "v20.10.0"
			rest, ok := strings.CutPrefix(firstLine(out), "v")
			return prefixed("node", rest, ok)
		},
	},
	RuntimeJava: {
		// `openjdk version "17.0.9" 2023-10-17`, `java version "1.8.0_392"`,
		// after a "Picked up JAVA_TOOL_OPTIONS" line, maybe.
		tries:  [][]string{{"java", "-version"}},
		stderr: true,
		parse: func(out string) string {
			for _, line := range strings.Split(out, "\n") {
				if m := javaVersion.FindStringSubmatch(line); m != nil {
					return prefixed("java", m[1], true)
				}
			}
			return ""
		},
	},
	RuntimePerl: {
		tries: [][]string{{"perl", "-e", "print $^V"}},
		parse: func(out string) string { // "v5.36.0"
			rest, ok := strings.CutPrefix(firstLine(out), "v")
			return prefixed("perl", rest, ok)
		},
	},
}

var (
	javaVersion = regexp.MustCompile(`\bversion "([^"]+)"`)
)

// prefixed is name+v when v looks like a version, else "".
func prefixed(name, v string, ok bool) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		v = v[:i] // "3.11.2 (main, …)"
	}
	if !ok || !reporters.PlainVersion(v) {
		return ""
	}
	return name + v
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// runtimeOnce holds one runtime's probe.
type runtimeOnce struct {
	once    sync.Once
	version string
}

// Runtimes returns the versions of the named runtimes (every one of
// RuntimeNames when none is named) found on PATH, keyed by name:
// {"go": "go1.22.4", "python": "python3.11.2", "node": "node20.10.0",
// "java": "java17.0.9", "perl": "perl5.36.0"}. A runtime that is missing,
// or answers oddly or slowly (RuntimeTimeout), is left out. The probes run
// concurrently, each at most once per Collector.
func (c *Collector) Runtimes(ctx context.Context, names ...string) map[string]string {
	if len(names) == 0 {
		names = RuntimeNames
	}
	versions := make([]string, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			versions[i] = c.RuntimeVersion(ctx, name)
		}()
	}
	wg.Wait()
	out := map[string]string{}
	for i, name := range names {
		if versions[i] != "" {
			out[name] = versions[i]
		}
	}
	return out
}

// RuntimeVersion returns one runtime's version as Runtimes does, "" when it
// is not found or the name is not known.
func (c *Collector) RuntimeVersion(ctx context.Context, name string) string {
	if name == RuntimeGo {
		ctx, cancel := context.WithTimeout(ctx, RuntimeTimeout)
		defer cancel()
		return c.GoVersion(ctx)
	}
	p, ok := runtimeProbes[name]
	if !ok {
		return ""
	}
	c.rtMu.Lock()
	if c.runtimes == nil {
		c.runtimes = map[string]*runtimeOnce{}
	}
	r := c.runtimes[name]
	if r == nil {
		r = &runtimeOnce{}
		c.runtimes[name] = r
	}
	c.rtMu.Unlock()
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, RuntimeTimeout)
		defer cancel()
		run := c.env.Command
		if p.stderr {
			run = c.env.CombinedOutput
		}
		for _, t := range p.tries {
			out, err := run(ctx, c.env.Dir, t[0], t[1:]...)
			if err != nil {
				continue
			}
			if v := p.parse(out); v != "" {
				r.version = v
				return
			}
		}
	})
	return r.version
}

// RuntimeFor names the runtime a command is about, one of RuntimeNames, or
// "" when it cannot tell: go test → go; pytest, python, tox, nox → python;
// node, npm, npx, yarn, jest, mocha → node; mvn, gradle, java → java; prove,
// perl → perl. Leading environment assignments, `env`, `time`, `nice`, a
// project runner (`poetry run`, `uv run`, `pipenv run`, `hatch run`) and
// `sh -c 'CMD'` are looked through.
func RuntimeFor(argv []string) string {
	for len(argv) > 0 {
		name := strings.ToLower(filepath.Base(argv[0]))
		name = strings.TrimSuffix(strings.TrimSuffix(name, ".exe"), ".cmd")
		switch {
		case strings.Contains(argv[0], "=") && !strings.ContainsAny(argv[0], "/\\"):
			argv = argv[1:] // FOO=bar cmd
			continue
		case name == "env" || name == "time" || name == "nice" || name == "nohup" || name == "sudo" || name == "xvfb-run":
			argv = argv[1:]
			for len(argv) > 0 && strings.HasPrefix(argv[0], "-") {
				argv = argv[1:] // their own flags, roughly
			}
			continue
		case (name == "sh" || name == "bash" || name == "dash" || name == "zsh") && len(argv) >= 3 && argv[1] == "-c":
			argv = strings.Fields(argv[2])
			continue
		}
		if r, ok := runtimeOfProgram[name]; ok {
			return r
		}
		switch {
		case strings.HasPrefix(name, "python"), strings.HasPrefix(name, "pypy"):
			return RuntimePython // python3.12, pypy3
		case strings.HasPrefix(name, "perl5"):
			return RuntimePerl
		}
		return ""
	}
	return ""
}

// RuntimesFor names the runtimes worth asking for while the commands
// (argv lists) run: the ones they are about (RuntimeFor), or all of
// RuntimeNames when one of them cannot be told (make, a script: it could
// run any). Asking costs a process each, and java's alone takes a tenth
// of a second of CPU, which a `go test` run has no use for.
func RuntimesFor(cmds ...[]string) []string {
	var names []string
	for _, argv := range cmds {
		r := RuntimeFor(argv)
		if r == "" {
			return RuntimeNames
		}
		if !slices.Contains(names, r) {
			names = append(names, r)
		}
	}
	if len(names) == 0 {
		return RuntimeNames
	}
	return names
}

var runtimeOfProgram = map[string]string{
	"go": RuntimeGo, "gotestsum": RuntimeGo, "richgo": RuntimeGo, "ginkgo": RuntimeGo,

	"pytest": RuntimePython, "py.test": RuntimePython, "tox": RuntimePython, "nox": RuntimePython,
	"py": RuntimePython, "poetry": RuntimePython, "uv": RuntimePython, "pipenv": RuntimePython,
	"hatch": RuntimePython, "pdm": RuntimePython, "coverage": RuntimePython, "nosetests": RuntimePython,
	"pip": RuntimePython, "pip3": RuntimePython, "nose2": RuntimePython,

	"node": RuntimeNode, "nodejs": RuntimeNode, "npm": RuntimeNode, "npx": RuntimeNode, "yarn": RuntimeNode,
	"pnpm": RuntimeNode, "jest": RuntimeNode, "mocha": RuntimeNode, "vitest": RuntimeNode, "ava": RuntimeNode,
	"tap": RuntimeNode,

	"mvn": RuntimeJava, "mvnw": RuntimeJava, "gradle": RuntimeJava, "gradlew": RuntimeJava, "java": RuntimeJava,
	"ant": RuntimeJava,

	"prove": RuntimePerl, "perl": RuntimePerl,
}

// ApplyRuntimes records versions (from Runtimes) in ci: all of them as the
// object "runtimes", unless ci has that key already (--set), and the one
// argv is about (RuntimeFor) as ci.Runtime, unless it is set already
// (--runtime, PONY_RUNTIME).
func ApplyRuntimes(ci *pony.ClientInfo, versions map[string]string, argv []string) {
	if ci.Runtime == "" {
		ci.Runtime = versions[RuntimeFor(argv)]
	}
	if len(versions) == 0 {
		return
	}
	if _, ok := ci.Extra["runtimes"]; ok {
		return
	}
	b, err := json.Marshal(versions)
	if err != nil {
		return
	}
	if ci.Extra == nil {
		ci.Extra = map[string]json.RawMessage{}
	}
	ci.Extra["runtimes"] = b
}

// FirstStepRuntime is the runtime the first step that names one names
// (see StepRuntimes), as in "java17.0.9"; "" when none does.
func FirstStepRuntime(steps []pony.Step) string {
	for i := range steps {
		if _, v := reporters.StepRuntime(&steps[i]); v != "" {
			return v
		}
	}
	return ""
}

// StepRuntimes returns the runtimes the steps' reports name (a Surefire
// report's java.version, see reporters.StepRuntime), by name, the first
// step's winning: they are the ones the tests ran on, which may not be the
// ones on PATH (a Maven toolchain, JAVA_HOME set for the build only).
func StepRuntimes(steps []pony.Step) map[string]string {
	var m map[string]string
	for i := range steps {
		name, v := reporters.StepRuntime(&steps[i])
		if name == "" {
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		if _, seen := m[name]; !seen {
			m[name] = v
		}
	}
	return m
}

// pytestPlatform is pytest's header line, e.g.
// "platform linux -- Python 3.11.2, pytest-8.0.0, pluggy-1.4.0".
var pytestPlatform = regexp.MustCompile(`^platform \S+ -- Python ([0-9][0-9A-Za-z.+_-]*)`)

// RuntimeInOutput recognises a runtime version named in a test runner's
// output line, for when the runtime under test is not the one on PATH (a
// virtualenv, tox): pytest's "platform linux -- Python 3.11.2, pytest-…"
// header gives ("python", "python3.11.2"). ok is false for any other line.
func RuntimeInOutput(line string) (name, version string, ok bool) {
	if m := pytestPlatform.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
		if v := prefixed("python", m[1], true); v != "" {
			return RuntimePython, v, true
		}
	}
	return "", "", false
}
