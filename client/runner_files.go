package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters"
)

// GlobFiles returns the regular files matching pattern, sorted. Besides
// filepath.Match's syntax, a path element `**` matches any number of
// directories (none included). A relative pattern is taken from dir ("":
// the working directory) and the paths returned are relative to it too.
func GlobFiles(dir, pattern string) ([]string, error) {
	pat := filepath.ToSlash(filepath.Clean(pattern))
	if _, err := path.Match(strings.ReplaceAll(pat, "**", "*"), ""); err != nil {
		return nil, fmt.Errorf("bad pattern %q: %w", pattern, err)
	}
	parts := strings.Split(pat, "/")
	// The fixed directories before the first element holding a glob.
	fixed := 0
	for fixed < len(parts)-1 && !strings.ContainsAny(parts[fixed], "*?[") {
		fixed++
	}
	root := strings.Join(parts[:fixed], "/")
	if root == "" && strings.HasPrefix(pat, "/") {
		root = "/"
	}
	if !strings.ContainsAny(pat, "*?[") {
		full := fromDir(dir, filepath.FromSlash(pat))
		if fi, err := os.Stat(full); err == nil && fi.Mode().IsRegular() {
			return []string{filepath.FromSlash(pat)}, nil
		}
		return nil, nil
	}
	rest := parts[fixed:]
	start := root
	if start == "" {
		start = "."
	}
	var out []string
	err := filepath.WalkDir(fromDir(dir, filepath.FromSlash(start)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == fromDir(dir, filepath.FromSlash(start)) {
				return fs.SkipAll // no such directory: no match
			}
			return nil // an unreadable directory is skipped
		}
		if d.IsDir() {
			return nil
		}
		rel, rerr := filepath.Rel(fromDir(dir, filepath.FromSlash(start)), p)
		if rerr != nil {
			return nil
		}
		if matchParts(rest, strings.Split(filepath.ToSlash(rel), "/")) && d.Type().IsRegular() {
			out = append(out, filepath.FromSlash(path.Join(start, filepath.ToSlash(rel))))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

func fromDir(dir, p string) string {
	if dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// matchParts matches path elements against pattern elements, `**` taking
// any number of elements.
func matchParts(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchParts(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// readReports reads the report files of c written since start (to the
// second: coarse file systems round modification times down) into sr.
func (r *Runner) readReports(ctx context.Context, c Command, start time.Time, sr *StepRun) {
	since := start.Truncate(time.Second)
	var inputs []Input
	seen := map[string]bool{}
	for _, g := range c.Reports {
		files, err := GlobFiles(c.Dir, g.Pattern)
		if err != nil {
			r.say("%v", err)
			continue
		}
		fresh := 0
		for _, f := range files {
			full := fromDir(c.Dir, f)
			if seen[full] {
				continue
			}
			seen[full] = true
			fi, err := os.Stat(full)
			if err != nil {
				r.say("%s: %v", f, err)
				continue
			}
			if fi.ModTime().Before(since) {
				r.say("%s ignored: last written %s, before the command started", f, fi.ModTime().Format(time.RFC3339))
				continue
			}
			fresh++
			inputs = append(inputs, Input{Path: full, Format: g.Format})
		}
		if fresh == 0 && len(files) == 0 && !g.Implicit {
			r.say("no file matches %q", g.Pattern)
		}
	}
	if len(inputs) == 0 {
		return
	}
	var steps []pony.Step
	for _, in := range inputs {
		s, problems, err := ReadSteps(ctx, []Input{in}, ReadOptions{KeepPassingOutput: r.KeepPassingOutput})
		if err != nil {
			r.say("%v", err)
			var re *ReadError
			if errors.As(err, &re) {
				sr.Problems = append(sr.Problems, err)
			}
			continue
		}
		sr.Problems = append(sr.Problems, problems...)
		for i := range s {
			s[i].Name = displayPath(in.Path)
		}
		steps = append(steps, s...)
	}
	if len(steps) == 0 {
		return
	}
	st := &sr.Step
	if len(st.Tests) > 0 {
		sr.FileSteps = append(sr.FileSteps, steps...)
		return
	}
	// The command printed no test: its step takes the files' tests.
	formats := map[string]bool{}
	for i := range steps {
		st.Tests = append(st.Tests, steps[i].Tests...)
		st.Incomplete = st.Incomplete || steps[i].Incomplete
		formats[steps[i].Format] = true
		// The runtime a report names (Surefire's java.version), the first.
		if raw, ok := steps[i].Extra[reporters.StepRuntimeKey]; ok {
			if _, has := st.Extra[reporters.StepRuntimeKey]; !has {
				if st.Extra == nil {
					st.Extra = map[string]json.RawMessage{}
				}
				st.Extra[reporters.StepRuntimeKey] = raw
			}
		}
	}
	if len(formats) == 1 {
		st.Format = steps[0].Format
	} else {
		names := make([]string, 0, len(formats))
		for f := range formats {
			names = append(names, f)
		}
		sort.Strings(names)
		st.Format = strings.Join(names, "+")
	}
}

// displayPath names a report file as the user would: relative to the
// working directory when it is under it.
func displayPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}
