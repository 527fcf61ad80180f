package client

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/pony-build/pony"
)

// ConfigFile is the file `pony-report run` reads when it is given no
// command.
const ConfigFile = "pony.yaml"

// Config is a pony.yaml: the bag's settings and the steps to run, in order.
type Config struct {
	// File is where it was read from.
	File string
	// Package, Tags and Set shape client_info like --package, --tag and
	// --set.
	Package string
	Tags    []string
	// Set holds client_info keys as key=value, values in JSON.
	Set []string
	// Steps are the commands to run.
	Steps []Command
}

type configFile struct {
	Package string         `yaml:"package"`
	Tags    []string       `yaml:"tags"`
	Set     map[string]any `yaml:"set"`
	Steps   []configStep   `yaml:"steps"`
}

type configStep struct {
	Name            string `yaml:"name"`
	Type            string `yaml:"type"`
	Run             any    `yaml:"run"`
	JUnit           any    `yaml:"junit"`
	TAP             any    `yaml:"tap"`
	GoTest          any    `yaml:"gotest"`
	Dir             string `yaml:"dir"`
	TimeLimit       string `yaml:"time_limit"`
	ContinueOnError bool   `yaml:"continue_on_error"`
}

// LoadConfig reads a pony.yaml. Errors are *pony.InputError naming the file
// and line; a key it does not know is an error.
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseConfig(file, data)
}

// ParseConfig reads a pony.yaml held in data; file names it in errors.
func ParseConfig(file string, data []byte) (*Config, error) {
	var raw configFile
	if err := yaml.UnmarshalWithOptions(data, &raw, yaml.DisallowUnknownField()); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			line := 0
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				line = tk.Position.Line
			}
			return nil, &pony.InputError{File: file, Line: line, Err: errors.New(ye.GetMessage())}
		}
		return nil, &pony.InputError{File: file, Err: err}
	}
	var tree *ast.File
	lineOf := func(p string) int {
		if tree == nil {
			if tree, _ = parser.ParseBytes(data, 0); tree == nil {
				return 0
			}
		}
		yp, err := yaml.PathString(p)
		if err != nil {
			return 0
		}
		n, err := yp.FilterFile(tree)
		if err != nil || n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
			return 0
		}
		return n.GetToken().Position.Line
	}
	bad := func(p, format string, args ...any) error {
		return &pony.InputError{File: file, Line: lineOf(p), Err: fmt.Errorf(format, args...)}
	}
	c := &Config{File: file, Package: raw.Package, Tags: raw.Tags}
	keys := make([]string, 0, len(raw.Set))
	for k := range raw.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw.Set[k]
		b, err := yamlJSON(v)
		if err != nil {
			return nil, bad("$.set."+k, "set.%s: %v", k, err)
		}
		c.Set = append(c.Set, k+"="+b)
	}
	if len(raw.Steps) == 0 {
		return nil, &pony.InputError{File: file, Line: lineOf("$.steps"), Err: errors.New("no steps: want a list under steps:, each with a run: command")}
	}
	for i, s := range raw.Steps {
		p := fmt.Sprintf("$.steps[%d]", i)
		cmd := Command{Name: s.Name, Type: s.Type, Dir: s.Dir, ContinueOnError: s.ContinueOnError}
		switch run := s.Run.(type) {
		case string:
			if strings.TrimSpace(run) == "" {
				return nil, bad(p+".run", "steps[%d].run is empty", i)
			}
			cmd.Argv = []string{"sh", "-c", run}
		case []any:
			for j, a := range run {
				as, ok := scalar(a)
				if !ok {
					return nil, bad(fmt.Sprintf("%s.run[%d]", p, j), "steps[%d].run[%d]: want a string", i, j)
				}
				cmd.Argv = append(cmd.Argv, as)
			}
			if len(cmd.Argv) == 0 {
				return nil, bad(p+".run", "steps[%d].run is empty", i)
			}
		case nil:
			return nil, bad(p, "steps[%d] has no run: (a command line, or a list: program and arguments)", i)
		default:
			return nil, bad(p+".run", "steps[%d].run: want a command line or a list of strings", i)
		}
		if s.TimeLimit != "" {
			d, err := time.ParseDuration(s.TimeLimit)
			if err != nil || d < 0 {
				return nil, bad(p+".time_limit", "steps[%d].time_limit %q: want a duration such as 90s or 10m", i, s.TimeLimit)
			}
			cmd.TimeLimit = d
		}
		for _, f := range []struct {
			key, format string
			v           any
		}{{"junit", "junit", s.JUnit}, {"tap", "tap", s.TAP}, {"gotest", "gotest", s.GoTest}} {
			globs, ok := stringList(f.v)
			if !ok {
				return nil, bad(p+"."+f.key, "steps[%d].%s: want a glob or a list of globs", i, f.key)
			}
			for _, g := range globs {
				cmd.Reports = append(cmd.Reports, ReportGlob{Format: f.format, Pattern: g})
			}
		}
		c.Steps = append(c.Steps, cmd)
	}
	return c, nil
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(v), true
	}
	return "", false
}

func stringList(v any) ([]string, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case string:
		return []string{v}, true
	case []any:
		var out []string
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// yamlJSON writes a YAML value as JSON for ApplySets.
func yamlJSON(v any) (string, error) {
	b, err := yaml.MarshalWithOptions(v, yaml.JSON())
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
