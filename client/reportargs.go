package client

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/pony-build/pony"
)

// Report files a command names, or writes by default, so that
// `pony-report run -- pytest --junitxml=r.xml` needs no `--junit r.xml`
// beside it: the runner's own flags say where its report goes.

// NamedReports returns the report files argv writes, read after it exits
// as if given with --junit, --tap or --gotest (a file given both ways is
// read once):
//
//   - pytest (also py.test and python -m pytest): --junitxml or
//     --junit-xml, as FILE or =FILE;
//   - gotestsum (also through go run): --jsonfile (the go test -json
//     events, reruns included), else --junitfile;
//   - node: each --test-reporter=junit or =tap with the
//     --test-reporter-destination of the same position, when a file;
//   - mvn, mvnw: Surefire's and Failsafe's reports,
//     **/target/{surefire,failsafe}-reports/TEST-*.xml;
//   - gradle, gradlew: **/build/test-results/**/*.xml.
//
// Files older than the command are ignored, as with the flags; the
// default locations (Maven, Gradle) are Implicit: no note when none is
// there. A shell line (sh -c LINE) is looked into when it is one plain
// command, without quotes, variables or operators.
func NamedReports(argv []string) []ReportGlob {
	if inner, ok := plainShellLine(argv); ok {
		argv = inner
	}
	if len(argv) == 0 {
		return nil
	}
	prog := programName(argv[0])
	switch {
	case isPytest(argv):
		if f := flagValue(argv[1:], "", "--junitxml", "--junit-xml"); f != "" {
			return []ReportGlob{{Format: "junit", Pattern: f}}
		}
	case prog == "gotestsum" || prog == "go" && len(argv) > 2 && argv[1] == "run" && strings.Contains(argv[2], "gotestsum"):
		if f := flagValue(argv[1:], "--", "--jsonfile"); f != "" {
			return []ReportGlob{{Format: "gotest", Pattern: f}}
		}
		if f := flagValue(argv[1:], "--", "--junitfile"); f != "" {
			return []ReportGlob{{Format: "junit", Pattern: f}}
		}
	case prog == "node" || prog == "nodejs":
		return nodeReports(argv[1:])
	case prog == "mvn" || prog == "mvnw":
		return []ReportGlob{
			{Format: "junit", Pattern: "**/target/surefire-reports/TEST-*.xml", Implicit: true},
			{Format: "junit", Pattern: "**/target/failsafe-reports/TEST-*.xml", Implicit: true},
		}
	case prog == "gradle" || prog == "gradlew":
		return []ReportGlob{{Format: "junit", Pattern: "**/build/test-results/**/*.xml", Implicit: true}}
	}
	return nil
}

// programName is argv[0]'s base name, lower case, without .exe, .cmd or
// .bat.
func programName(a string) string {
	name := strings.ToLower(filepath.Base(a))
	for _, ext := range []string{".exe", ".cmd", ".bat"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

// isPytest reports whether argv runs pytest: pytest, py.test, or a python
// with -m pytest.
func isPytest(argv []string) bool {
	prog := programName(argv[0])
	if prog == "pytest" || prog == "py.test" {
		return true
	}
	if !strings.HasPrefix(prog, "python") {
		return false
	}
	for i := 1; i < len(argv); i++ {
		switch a := argv[i]; {
		case a == "-m":
			return i+1 < len(argv) && argv[i+1] == "pytest"
		case a == "-mpytest":
			return true
		case a == "-X" || a == "-W":
			i++ // python's options with a value
		case a == "-c" || !strings.HasPrefix(a, "-"):
			return false // a script
		}
	}
	return false
}

// PytestJUnitArg returns argv with --junitxml=file added after the pytest
// (or `-m pytest`) it runs, when argv is pytest without a JUnit report of
// its own, directly or as a plain `sh -c` line; ok is false otherwise (argv
// unchanged). pony-report adds it so
// that `pony-report run -- pytest` reports every test without a flag, as
// it adds -json to go test.
func PytestJUnitArg(argv []string, file string) (out []string, ok bool) {
	if inner, plain := plainShellLine(argv); plain {
		// sh -c 'pytest …' (a pony.yaml step): the line gets the flag.
		if out, ok = pytestJUnitArg(inner, file); !ok {
			return argv, false
		}
		return []string{argv[0], argv[1], CommandLine(out)}, true
	}
	return pytestJUnitArg(argv, file)
}

func pytestJUnitArg(argv []string, file string) (out []string, ok bool) {
	if len(argv) == 0 || !isPytest(argv) || flagValue(argv[1:], "", "--junitxml", "--junit-xml") != "" {
		return argv, false
	}
	at := 1
	if programName(argv[0]) != "pytest" && programName(argv[0]) != "py.test" {
		for i := 1; i < len(argv); i++ {
			if argv[i] == "-X" || argv[i] == "-W" {
				i++
				continue
			}
			if argv[i] == "-m" {
				at = i + 2
				break
			}
			if argv[i] == "-mpytest" {
				at = i + 1
				break
			}
		}
	}
	for _, a := range argv[1:] {
		if strings.Contains(a, "no:junitxml") {
			return argv, false // `-p no:junitxml`: the plugin is off
		}
	}
	out = make([]string, 0, len(argv)+1)
	out = append(out, argv[:at]...)
	out = append(out, "--junitxml="+file)
	out = append(out, argv[at:]...)
	return out, true
}

// pytestJUnitOff reports whether pytest's configuration in dir (the
// files pytest reads its options from) turns its junitxml plugin off, so
// that an added --junitxml would be refused as an unknown option.
func pytestJUnitOff(dir string) bool {
	for _, name := range []string{"pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil && bytes.Contains(b, []byte("no:junitxml")) {
			return true
		}
	}
	return false
}

// flagValue returns the value of the first of the named long flags in
// args (`--name=V` or `--name V`), looking no further than stop when it is
// not "" (gotestsum's `--` before go test's flags). The last occurrence
// wins, as in the runners' own parsers.
func flagValue(args []string, stop string, names ...string) string {
	v := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if stop != "" && a == stop {
			break
		}
		for _, n := range names {
			switch {
			case strings.HasPrefix(a, n+"="):
				v = a[len(n)+1:]
			case a == n && i+1 < len(args):
				v = args[i+1]
				i++
			}
		}
	}
	return v
}

// nodeReports pairs node --test's reporters with their destinations, by
// position, as node does; a reporter without a destination of its own
// writes to stdout, which pony-report reads anyway.
func nodeReports(args []string) []ReportGlob {
	var reporters, dests []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, f := range []struct {
			name string
			to   *[]string
		}{{"--test-reporter", &reporters}, {"--test-reporter-destination", &dests}} {
			switch {
			case strings.HasPrefix(a, f.name+"="):
				*f.to = append(*f.to, a[len(f.name)+1:])
			case a == f.name && i+1 < len(args):
				*f.to = append(*f.to, args[i+1])
				i++
			}
		}
	}
	var out []ReportGlob
	for i, rep := range reporters {
		if i >= len(dests) || dests[i] == "stdout" || dests[i] == "stderr" {
			continue
		}
		switch rep {
		case "junit":
			out = append(out, ReportGlob{Format: "junit", Pattern: dests[i]})
		case "tap":
			out = append(out, ReportGlob{Format: "tap", Pattern: dests[i]})
		}
	}
	return out
}

// plainShellLine returns the words of a `sh -c LINE` whose LINE is one
// plain command: no quotes, escapes, variables, globs or operators.
func plainShellLine(argv []string) ([]string, bool) {
	if len(argv) != 3 || argv[1] != "-c" {
		return nil, false
	}
	switch programName(argv[0]) {
	case "sh", "bash", "dash", "zsh":
	default:
		return nil, false
	}
	if strings.ContainsAny(argv[2], "'\"\\$`;&|<>()*?[]{}~#\n") {
		return nil, false
	}
	return strings.Fields(argv[2]), true
}

// NoTestsHint says how to get tests into the bag when none of its test
// steps holds one (argv is the main command), or "" when some do: no go
// test -json or TAP was seen in the output and no report file was read.
func NoTestsHint(bag *pony.Bag, argv []string) string {
	for _, st := range bag.Steps {
		if len(st.Tests) > 0 {
			return ""
		}
	}
	if inner, ok := plainShellLine(argv); ok {
		argv = inner
	}
	if len(argv) > 0 && programName(argv[0]) == "prove" {
		verbose := false
		for _, a := range argv[1:] {
			if a == "-v" || a == "--verbose" || strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "v") {
				verbose = true
			}
		}
		if !verbose {
			return "no tests found: prove prints the tests' TAP only with -v (pony-report run -- prove -v …)"
		}
	}
	return "no tests found: the output held no go test -json or TAP, and no report file was read; name the files the command writes with --junit, --tap or --gotest"
}
