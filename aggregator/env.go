package aggregator

import (
	"sort"
	"strings"

	"github.com/pony-build/pony"
)

// NewEnv returns the environment a bag's client_info describes, its tags
// sorted and deduplicated.
func NewEnv(ci pony.ClientInfo) Env {
	return Env{Package: ci.Package, Host: ci.Host, Arch: ci.Arch, Runtime: ci.Runtime, Tags: normTags(ci.Tags)}
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
