package reporters

import (
	"encoding/json"
	"strings"

	"github.com/pony-build/pony"
)

// StepRuntimeKey is the step key that names the runtime a report says its
// tests ran on, such as "java17.0.9" from a Surefire report's java.version
// property. It is an extra key of the wire form (DESIGN §3 keeps unknown
// step keys), set by the parsers and read by the client to fill
// client_info's runtime when nothing more precise names it.
const StepRuntimeKey = "runtime"

// StepRuntime returns the runtime a step names (see StepRuntimeKey) as its
// name and its version with the name ("java", "java17.0.9"), or "", "".
func StepRuntime(st *pony.Step) (name, version string) {
	raw, ok := st.Extra[StepRuntimeKey]
	if !ok {
		return "", ""
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", ""
	}
	i := strings.IndexFunc(v, func(r rune) bool { return r < 'a' || r > 'z' })
	if i <= 0 || !PlainVersion(v[i:]) {
		return "", ""
	}
	return v[:i], v
}

// setStepRuntime names the runtime name at version (as the report wrote
// it) in st, when version looks like one.
func setStepRuntime(st *pony.Step, name, version string) {
	version = strings.TrimSpace(version)
	if !PlainVersion(version) {
		return
	}
	b, err := json.Marshal(name + version)
	if err != nil {
		return
	}
	if st.Extra == nil {
		st.Extra = map[string]json.RawMessage{}
	}
	st.Extra[StepRuntimeKey] = b
}

// PlainVersion reports whether v looks like a version as runtimes print
// it: a digit, then at most 63 digits, letters, dots, underscores, pluses
// and hyphens ("17.0.9", "1.8.0_392", "21-ea+35", "3.13.0rc1").
func PlainVersion(v string) bool {
	if v == "" || len(v) > 64 || v[0] < '0' || v[0] > '9' {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '.', c == '_', c == '+', c == '-':
		default:
			return false
		}
	}
	return true
}
