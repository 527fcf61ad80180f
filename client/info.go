// Package client is pony-report's library, the pony_client of old: it
// collects client_info (host, arch, runtime, CI variables, git), builds bags
// from report files, sends them to pony-server with an Idempotency-Key, and
// spools what could not be sent so that Flush can send it later.
//
// It imports pony and reporters only, so that it stays small and usable on
// any build machine.
package client

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pony-build/pony"
)

// Env is how the client reads the machine it runs on. Tests pass a fake one;
// OSEnv returns the real one.
type Env struct {
	// Getenv returns an environment variable, "" when unset.
	Getenv func(key string) string
	// Dir is the working directory.
	Dir string
	// Command runs a program in dir and returns its standard output with
	// surrounding space trimmed. A missing program is an error.
	Command func(ctx context.Context, dir, name string, args ...string) (string, error)
	// CombinedOutput is Command with standard error in the output too
	// (java -version prints there); nil means Command.
	CombinedOutput func(ctx context.Context, dir, name string, args ...string) (string, error)
	// Hostname returns the machine's name.
	Hostname func() (string, error)
}

// OSEnv returns the process's environment, working directory, programs and
// host name.
func OSEnv() Env {
	dir, _ := os.Getwd()
	return Env{Getenv: os.Getenv, Dir: dir, Command: runCommand, CombinedOutput: runCombined, Hostname: os.Hostname}
}

func runCommand(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func runCombined(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second // a child that keeps the pipes open
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Collected is what CollectInfo found, with where the package name came from
// (so that --dry-run can say it).
type Collected struct {
	Info pony.ClientInfo
	// PackageFrom names the source of Info.Package: an environment variable,
	// "go.mod", "git" or "directory".
	PackageFrom string
}

// Collector fills client_info from the environment. Its zero value is not
// usable; make one with NewCollector. It remembers `go env GOVERSION` and
// the other runtimes' versions (Runtimes) so that asking twice runs each
// program once.
type Collector struct {
	env Env

	goOnce    sync.Once
	goVersion string

	rtMu     sync.Mutex
	runtimes map[string]*runtimeOnce
}

// NewCollector returns a Collector reading env.
func NewCollector(env Env) *Collector {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Command == nil {
		env.Command = func(context.Context, string, string, ...string) (string, error) {
			return "", exec.ErrNotFound
		}
	}
	if env.CombinedOutput == nil {
		env.CombinedOutput = env.Command
	}
	if env.Hostname == nil {
		env.Hostname = func() (string, error) { return "", nil }
	}
	return &Collector{env: env}
}

// Collect returns the client_info of this machine and build: host, arch,
// package, commit, branch and build URL from the CI provider's variables
// (GitHub Actions, GitLab CI, Jenkins, Buildkite, CircleCI, Travis CI, Azure
// Pipelines, with the job's name as "job") or from git, and
// the Go version as runtime when wantGo is set (a step holds `go test`
// output). Nothing here fails: what cannot be found is left empty.
func (c *Collector) Collect(ctx context.Context, wantGo bool) Collected {
	var out Collected
	ci := &out.Info
	ci.Arch = runtime.GOOS + "-" + runtime.GOARCH
	if h, err := c.env.Hostname(); err == nil {
		ci.Host = h
	}
	v, ok := DetectCI(c.env.Getenv)
	if ok {
		ci.Commit, ci.Branch, ci.BuildURL = v.Commit, v.Branch, v.BuildURL
		ci.Extra = v.extra()
		if v.Host != "" && v.Host != ci.Host {
			// The runner's stable name is the environment's host; the
			// machine's own name is kept beside it.
			if ci.Host != "" {
				b, _ := json.Marshal(ci.Host)
				ci.Extra["hostname"] = b
			}
			ci.Host = v.Host
		}
	}
	if ci.Commit == "" {
		if s, err := c.env.Command(ctx, c.env.Dir, "git", "rev-parse", "HEAD"); err == nil && isHex(s) {
			ci.Commit = s
		}
	}
	if ci.Branch == "" {
		// "HEAD" is git's answer on a detached head: no branch.
		if s, err := c.env.Command(ctx, c.env.Dir, "git", "rev-parse", "--abbrev-ref", "HEAD"); err == nil && s != "HEAD" && s != "" {
			ci.Branch = s
		}
	}
	ci.Package, out.PackageFrom = c.packageName(ctx, v)
	if wantGo {
		ci.Runtime = c.GoVersion(ctx)
	}
	return out
}

// GoVersion returns `go env GOVERSION`, or "" when go is not installed. It
// runs go at most once per Collector.
func (c *Collector) GoVersion(ctx context.Context) string {
	c.goOnce.Do(func() {
		s, err := c.env.Command(ctx, c.env.Dir, "go", "env", "GOVERSION")
		if err == nil && strings.HasPrefix(s, "go") && !strings.ContainsAny(s, " \n") {
			c.goVersion = s
		}
	})
	return c.goVersion
}

// packageName picks the default package: the CI's repository name, else the
// last element of the go.mod module path in the working directory, else the
// git toplevel's name, else the working directory's name.
func (c *Collector) packageName(ctx context.Context, v CIVars) (name, from string) {
	if v.Package != "" {
		return v.Package, v.PackageFrom
	}
	if m := modulePath(filepath.Join(c.env.Dir, "go.mod")); m != "" {
		return moduleName(m), "go.mod"
	}
	if top, err := c.env.Command(ctx, c.env.Dir, "git", "rev-parse", "--show-toplevel"); err == nil && top != "" {
		return filepath.Base(top), "git"
	}
	if c.env.Dir != "" {
		if b := filepath.Base(c.env.Dir); b != "/" && b != "." {
			return b, "directory"
		}
	}
	return "", ""
}

// modulePath reads the module line of a go.mod file; "" when there is none.
func modulePath(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			rest = strings.TrimSpace(rest)
			if i := strings.Index(rest, "//"); i >= 0 {
				rest = strings.TrimSpace(rest[:i])
			}
			return strings.Trim(rest, `"`+"`")
		}
	}
	return ""
}

// moduleName is a module path's last element, skipping a major-version
// suffix: github.com/foo/bar/v2 is "bar".
func moduleName(m string) string {
	base := path.Base(m)
	if len(base) > 1 && base[0] == 'v' && isDigits(base[1:]) && strings.Contains(m, "/") {
		base = path.Base(path.Dir(m))
	}
	return base
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	if len(s) < 7 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
