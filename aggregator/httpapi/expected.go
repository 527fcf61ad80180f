package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// ExpectedJSON is an expected environment as the API and the --expected
// file write it: the interval is a Go duration string ("6h", "90m").
//
//	{"name": "linux py3.12", "match": {"host": "ci-1", "arch": "linux-amd64",
//	 "runtime": "python3.12", "tags": ["nightly"]}, "interval": "6h"}
//
// Match's empty fields match anything; an environment matches when it has
// every tag listed. Match's package, when given, must be the package's.
// An omitted interval is the server's --stale-after (24 h by default).
type ExpectedJSON struct {
	Name     string       `json:"name,omitempty"`
	Match    expectedEnv  `json:"match"`
	Interval jsonDuration `json:"interval"`
}

// expectedEnv is the match of an ExpectedJSON.
type expectedEnv struct {
	Package string   `json:"package,omitempty"`
	Host    string   `json:"host,omitempty"`
	Arch    string   `json:"arch,omitempty"`
	Runtime string   `json:"runtime,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// jsonDuration is a time.Duration written as a Go duration string.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"6h\" or \"90m\", got %s", b)
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a duration string such as \"6h\" or \"90m\", got %q", s)
	}
	*d = jsonDuration(v)
	return nil
}

// maxExpected caps how many environments one package may expect.
const maxExpected = 200

// ToExpectedJSON writes expected environments as the API shows them.
func ToExpectedJSON(envs []aggregator.ExpectedEnv) []ExpectedJSON {
	out := make([]ExpectedJSON, 0, len(envs))
	for _, e := range envs {
		out = append(out, ExpectedJSON{
			Name:     e.Name,
			Match:    expectedEnv{Host: e.Match.Host, Arch: e.Match.Arch, Runtime: e.Match.Runtime, Tags: e.Match.Tags},
			Interval: jsonDuration(e.Interval),
		})
	}
	return out
}

// FromExpectedJSON checks the expected environments of package pkg and
// returns them as the aggregator takes them. Problems are listed one per
// entry, the entry named by its index and name.
func FromExpectedJSON(pkg string, in []ExpectedJSON) ([]aggregator.ExpectedEnv, error) {
	if len(in) > maxExpected {
		return nil, fmt.Errorf("%d expected environments, over the limit of %d", len(in), maxExpected)
	}
	lim := pony.DefaultLimits
	var problems []string
	names := map[string]int{}
	out := make([]aggregator.ExpectedEnv, 0, len(in))
	for i, e := range in {
		where := fmt.Sprintf("[%d]", i)
		if e.Name != "" {
			where += fmt.Sprintf(" (%q)", e.Name)
		}
		if e.Name != "" {
			if j, dup := names[e.Name]; dup {
				problems = append(problems, fmt.Sprintf("%s: name is also the name of [%d]", where, j))
			}
			names[e.Name] = i
		}
		if e.Match.Package != "" && e.Match.Package != pkg {
			problems = append(problems, fmt.Sprintf("%s: match.package is %q, but the environments are of package %q", where, e.Match.Package, pkg))
		}
		if e.Interval < 0 {
			problems = append(problems, fmt.Sprintf("%s: interval must be positive (e.g. \"6h\"), got %q", where, time.Duration(e.Interval)))
		}
		for _, f := range []struct{ name, v string }{{"name", e.Name}, {"match.host", e.Match.Host}, {"match.arch", e.Match.Arch}, {"match.runtime", e.Match.Runtime}} {
			if len(f.v) > lim.Name {
				problems = append(problems, fmt.Sprintf("%s: %s is %d bytes, over the limit of %d", where, f.name, len(f.v), lim.Name))
			}
		}
		for _, t := range e.Match.Tags {
			if strings.TrimSpace(t) == "" {
				problems = append(problems, fmt.Sprintf("%s: match.tags holds an empty tag", where))
			} else if len(t) > lim.Name {
				problems = append(problems, fmt.Sprintf("%s: tag %.40q… is %d bytes, over the limit of %d", where, t, len(t), lim.Name))
			}
		}
		tags := append([]string{}, e.Match.Tags...)
		sort.Strings(tags)
		out = append(out, aggregator.ExpectedEnv{
			Name:     e.Name,
			Match:    aggregator.Env{Package: pkg, Host: e.Match.Host, Arch: e.Match.Arch, Runtime: e.Match.Runtime, Tags: tags},
			Interval: time.Duration(e.Interval),
		})
	}
	if len(problems) > 0 {
		return nil, &aggregator.Error{Code: aggregator.EInvalid, Message: "invalid expected environments: " + strings.Join(problems, "; "), Detail: problems}
	}
	return out, nil
}

// decodeStrict decodes one JSON value from b into v, refusing unknown
// fields and trailing data. A syntax or type error names the line and
// column.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(b, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("line %d: unexpected data after the JSON value", lineAt(b, dec.InputOffset()))
	}
	return nil
}

// jsonError says where in b a decoding error is.
func jsonError(b []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("line %d: %w", lineAt(b, se.Offset), err)
	case errors.As(err, &te):
		return fmt.Errorf("line %d: %s: want %s, got %s", lineAt(b, te.Offset), te.Field, te.Type, te.Value)
	case errors.Is(err, io.EOF):
		return errors.New("empty: want a JSON value")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("line %d: unexpected end of JSON", lineAt(b, int64(len(b))))
	}
	return fmt.Errorf("line %d: %w", lineAt(b, dec.InputOffset()), err)
}

// lineAt returns the 1-based line of byte offset off in b.
func lineAt(b []byte, off int64) int {
	off = min(max(off, 0), int64(len(b)))
	return 1 + bytes.Count(b[:off], []byte("\n"))
}

// ParseExpectedFile reads the --expected file of pony-server: a JSON object
// from package names to their expected environments,
//
//	{"mypkg": [{"name": "linux", "match": {"host": "ci-1"}, "interval": "24h"}]}
//
// Errors name the file, and the line or the package and entry at fault.
func ParseExpectedFile(name string, data []byte) (map[string][]aggregator.ExpectedEnv, error) {
	var raw map[string][]ExpectedJSON
	if err := decodeStrict(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w (want {\"PACKAGE\": [{\"name\": …, \"match\": {\"host\": …, \"arch\": …, \"runtime\": …, \"tags\": […]}, \"interval\": \"24h\"}]})", name, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%s: want a JSON object from package names to lists of expected environments, got null", name)
	}
	out := make(map[string][]aggregator.ExpectedEnv, len(raw))
	for pkg, list := range raw {
		if strings.TrimSpace(pkg) == "" {
			return nil, fmt.Errorf("%s: an empty package name", name)
		}
		envs, err := FromExpectedJSON(pkg, list)
		if err != nil {
			return nil, fmt.Errorf("%s: package %q: %s", name, pkg, aggregator.ErrorMessage(err))
		}
		out[pkg] = envs
	}
	return out, nil
}

// expectedBody is the answer of GET /packages/{pkg}/expected and what PUT
// takes (a bare array is taken too).
type expectedBody struct {
	Package  string         `json:"package,omitempty"`
	Expected []ExpectedJSON `json:"expected"`
}

// getExpected answers the environments a package expects.
func (s *Server) getExpected(c *gin.Context) (*reply, error) {
	if _, err := newQuery(c); err != nil {
		return nil, err
	}
	pkg := c.Param("pkg")
	if err := s.authorizeRead(c, pkg); err != nil {
		return nil, err
	}
	envs, err := s.svc.Expected(c.Request.Context(), pkg)
	if err != nil {
		return nil, err
	}
	return &reply{body: expectedBody{Package: pkg, Expected: ToExpectedJSON(envs)}}, nil
}

// putExpected replaces the environments a package expects: a write.
func (s *Server) putExpected(c *gin.Context) (*reply, error) {
	if _, err := newQuery(c); err != nil {
		return nil, err
	}
	ctx := c.Request.Context()
	pkg := c.Param("pkg")
	secret, err := bearer(c.Request)
	if err != nil {
		return nil, err
	}
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, secret, pkg, aggregator.ScopeWrite); err != nil {
		return nil, err
	}
	var in expectedBody
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		err = decodeStrict(body, &in.Expected)
	} else {
		err = decodeStrict(body, &in)
	}
	if err != nil {
		return nil, aggregator.Errorf(aggregator.EInvalid, "expected environments: %v (want {\"expected\": [{\"name\": …, \"match\": {…}, \"interval\": \"6h\"}]})", err)
	}
	if in.Package != "" && in.Package != pkg {
		return nil, aggregator.Errorf(aggregator.EInvalid, "body names package %q, the path %q", in.Package, pkg)
	}
	envs, err := FromExpectedJSON(pkg, in.Expected)
	if err != nil {
		if aggregator.ErrorCode(err) == aggregator.EInternal {
			err = aggregator.Errorf(aggregator.EInvalid, "%v", err)
		}
		return nil, err
	}
	if err := s.svc.SetExpected(ctx, pkg, envs); err != nil {
		return nil, err
	}
	envs, err = s.svc.Expected(ctx, pkg)
	if err != nil {
		return nil, err
	}
	return &reply{body: expectedBody{Package: pkg, Expected: ToExpectedJSON(envs)}}, nil
}
