package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/client"
	"github.com/pony-build/pony/reporters"
)

// buildBag reads the inputs named by args (standard input when none) in the
// given format ("" detects it) and fills client_info from the machine and the
// flags. It prints every problem; ok is false when the bag must not be used
// (exit 2), and verdict is 0 when every test passed, else 1.
func buildBag(ctx context.Context, e *cmdEnv, c *common, format string, args []string) (bag *pony.Bag, from string, verdict int, ok bool) {
	if format == "auto" {
		format = ""
	}
	if format != "" {
		if _, found := reporters.Lookup(format); !found {
			e.say("format %q is not available in this build (have %s)", format, strings.Join(reporters.Names(), ", "))
			return nil, "", exitUsage, false
		}
	}
	if len(args) == 0 {
		if isTerminal(e.stdin) {
			e.say("no input: name report files, or pipe one in (go test -json ./... | pony-report send)")
			return nil, "", exitUsage, false
		}
		args = []string{client.Stdin}
	}
	paths, err := client.ExpandArgs(args)
	if err != nil {
		e.say("%v", err)
		return nil, "", exitUsage, false
	}
	inputs := make([]client.Input, len(paths))
	for i, p := range paths {
		inputs[i] = client.Input{Path: p, Format: format}
	}
	steps, problems, err := client.ReadSteps(ctx, inputs, client.ReadOptions{Stdin: e.stdin, KeepPassingOutput: c.keepOutput})
	if err != nil {
		e.say("%v; nothing was sent", err)
		return nil, "", exitUsage, false
	}
	for _, p := range problems {
		e.say("%v (the good tests before it are kept; the step is marked incomplete)", p)
	}
	b := &pony.Bag{Steps: steps}
	// The Go version is the runtime of go test output, unless --runtime says.
	wantGo := false
	for i := range steps {
		wantGo = wantGo || (c.runtime == "" && steps[i].Format == "gotest")
	}
	got := client.NewCollector(osEnv(e.getenv)).Collect(ctx, wantGo)
	b.ClientInfo, from = got.Info, got.PackageFrom
	ci := &b.ClientInfo
	// Else a runtime a report names (a Surefire report's java.version).
	if ci.Runtime == "" {
		ci.Runtime = client.FirstStepRuntime(steps)
	}
	if c.pkg != "" {
		ci.Package, from = c.pkg, ""
	}
	if c.host != "" {
		ci.Host = c.host
	}
	if c.arch != "" {
		ci.Arch = c.arch
	}
	if c.runtime != "" {
		ci.Runtime = c.runtime
	}
	ci.Tags = append(ci.Tags, c.tags...)
	if err := client.ApplySets(ci, c.sets); err != nil {
		e.say("%v", err)
		return nil, "", exitUsage, false
	}
	b.ToValidUTF8()
	client.Fit(b, pony.DefaultLimits, e.say) // a name over a limit is cut (a hash keeps it apart), not the whole result refused
	if err := b.Validate(pony.DefaultLimits); err != nil {
		e.say("%v; nothing was sent", err)
		return nil, "", exitUsage, false
	}
	verdict = exitOK
	if !b.Success() {
		verdict = exitFail
	}
	return b, from, verdict, true
}

// osEnv is the process's environment, reading variables through getenv.
func osEnv(getenv func(string) string) client.Env {
	env := client.OSEnv()
	env.Getenv = getenv
	return env
}

// writeFileAtomic writes a file through a temporary one, so that a reader
// never sees half of it.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(dirOf(path), ".pony-report-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// explain says what to do about a bag the server did not take.
func explain(err error) string {
	var se *client.ServerError
	if !errors.As(err, &se) {
		return "run `pony-report flush` to send it once the server is back"
	}
	switch se.StatusCode {
	case 401, 403:
		return "fix the token (--token or PONY_TOKEN) and run `pony-report flush`"
	case 413:
		return "raise the server's size limit or split the reports, then run `pony-report flush`"
	case 400, 422:
		return "the server refused this bag; see the message, then run `pony-report flush` once it is fixed"
	}
	if se.Temporary() {
		return "run `pony-report flush` to send it later"
	}
	return "run `pony-report flush` once the problem is fixed"
}

// plural is "1 bag" or "2 bags".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
