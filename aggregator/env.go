package aggregator

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pony-build/pony"
)

// NewEnv returns the environment a bag's client_info describes, its tags
// sorted and deduplicated. Each of axes (client_info keys the server names
// as axes: see ParseAxisKeys) that the client_info holds adds the tag
// NAME=VALUE, so that results differing in that key are environments of
// their own: with the axis db, {"db": "pg"} and {"db": "mysql"} on one
// host are two environments, tagged db=pg and db=mysql.
func NewEnv(ci pony.ClientInfo, axes ...string) Env {
	tags := ci.Tags
	if len(axes) > 0 {
		tags = append([]string(nil), ci.Tags...)
		for _, name := range axes {
			if v := clientInfoValue(&ci, name); strings.TrimSpace(v) != "" {
				tags = append(tags, KeyTag(name, v))
			}
		}
	}
	return Env{Package: ci.Package, Host: ci.Host, Arch: ci.Arch, Runtime: ci.Runtime, Tags: normTags(tags)}
}

// maxAxisKeys caps the client_info keys named as axes; maxAxisValue caps
// the text of a value in an axis tag.
const (
	maxAxisKeys  = 8
	maxAxisValue = 200
)

// KeyTag is the tag a client_info key named as an axis adds to an
// environment: NAME=VALUE, the value on one line and capped.
func KeyTag(name, value string) string {
	value = strings.Join(strings.Fields(value), " ")
	if len(value) > maxAxisValue {
		value = strings.ToValidUTF8(value[:maxAxisValue], "")
	}
	return name + "=" + value
}

// axisTagValue returns the value of the axis tag of name among tags.
func axisTagValue(tags []string, name string) (string, bool) {
	for _, t := range tags {
		if v, ok := strings.CutPrefix(t, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// ParseAxisKeys reads a comma-separated list of client_info keys to make
// axes of environments (pony-server --axes): each a JSON key of client_info
// that is not already part of one (package, host, arch, runtime, tags) nor
// changes with every build (commit, branch, build_url, success, duration),
// made of letters, digits, '_', '-' and '.', at most 64 bytes; at most 8.
func ParseAxisKeys(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		switch name {
		case "package", "host", "arch", "runtime", "tags":
			return nil, fmt.Errorf("axis key %q: already part of every environment", name)
		case "commit", "branch", "build_url", "success", "duration":
			return nil, fmt.Errorf("axis key %q: it changes with every build, so every result would be an environment of its own", name)
		}
		if len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
		}) >= 0 {
			return nil, fmt.Errorf("axis key %q: want letters, digits, '_', '-' and '.', at most 64 bytes", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("axis key %q named twice", name)
		}
		seen[name] = true
		out = append(out, name)
	}
	if len(out) > maxAxisKeys {
		return nil, fmt.Errorf("%d axis keys, over the limit of %d", len(out), maxAxisKeys)
	}
	return out, nil
}

func normTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	n := 0
	for i, t := range out {
		if i == 0 || t != out[n-1] {
			out[n] = t
			n++
		}
	}
	return out[:n]
}

// Key is the environment's canonical text, equal for equal environments:
// stores index and group results by it.
func (e Env) Key() string {
	var b strings.Builder
	b.WriteString(e.Package)
	b.WriteByte(0)
	b.WriteString(e.Host)
	b.WriteByte(0)
	b.WriteString(e.Arch)
	b.WriteByte(0)
	b.WriteString(e.Runtime)
	for _, t := range normTags(e.Tags) {
		b.WriteByte(0)
		b.WriteString(t)
	}
	return b.String()
}

// Tagset is the environment as pony-build wrote it: the tags plus
// "__package=", "__arch=" and "__host=" entries (and "__runtime=" when a
// runtime is known), sorted.
func (e Env) Tagset() []string {
	out := append([]string{}, normTags(e.Tags)...)
	out = append(out, "__package="+e.Package, "__arch="+e.Arch, "__host="+e.Host)
	if e.Runtime != "" {
		out = append(out, "__runtime="+e.Runtime)
	}
	sort.Strings(out)
	return out
}

// EnvFromTagset reads a pony-build tagset back into an environment.
func EnvFromTagset(tagset []string) Env {
	var e Env
	var tags []string
	for _, t := range tagset {
		switch {
		case strings.HasPrefix(t, "__package="):
			e.Package = strings.TrimPrefix(t, "__package=")
		case strings.HasPrefix(t, "__arch="):
			e.Arch = strings.TrimPrefix(t, "__arch=")
		case strings.HasPrefix(t, "__host="):
			e.Host = strings.TrimPrefix(t, "__host=")
		case strings.HasPrefix(t, "__runtime="):
			e.Runtime = strings.TrimPrefix(t, "__runtime=")
		default:
			tags = append(tags, t)
		}
	}
	e.Tags = normTags(tags)
	return e
}

// Matches reports whether e matches a filter environment f: every non-empty
// field of f equals e's, and e has every tag of f.
func (e Env) Matches(f Env) bool {
	if (f.Package != "" && f.Package != e.Package) || (f.Host != "" && f.Host != e.Host) ||
		(f.Arch != "" && f.Arch != e.Arch) || (f.Runtime != "" && f.Runtime != e.Runtime) {
		return false
	}
	have := map[string]bool{}
	for _, t := range e.Tags {
		have[t] = true
	}
	for _, t := range f.Tags {
		if !have[t] {
			return false
		}
	}
	return true
}
