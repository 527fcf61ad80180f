package pony_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pony-build/pony"

// TestDependencyDirection keeps DESIGN.md §2 true: what each folder may
// import. It asks `go list -deps` for every package of the module.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	gorm := []string{"gorm.io/"}
	web := []string{"github.com/gin-gonic/"}
	server := []string{module + "/aggregator"}
	rules := []struct {
		pkg       string // the package, or a prefix ending in "/" for a folder
		forbidden [][]string
		stdOnly   bool
		allowed   []string // with stdOnly: module packages allowed besides the stdlib
	}{
		{pkg: module, stdOnly: true},
		{pkg: module + "/junit", stdOnly: true, allowed: []string{module}},
		{pkg: module + "/reporters", forbidden: [][]string{gorm, web, server}},
		{pkg: module + "/reporters/", forbidden: [][]string{gorm, web, server}},
		{pkg: module + "/client", forbidden: [][]string{gorm, web, server}},
		{pkg: module + "/aggregator", forbidden: [][]string{gorm, web}},
		{pkg: module + "/aggregator/httpapi", forbidden: [][]string{gorm}},
		{pkg: module + "/web", forbidden: [][]string{gorm}},
		{pkg: module + "/cmd/pony-report", forbidden: [][]string{gorm, web, server}},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		for _, r := range rules {
			if pkg != r.pkg && !(strings.HasSuffix(r.pkg, "/") && strings.HasPrefix(pkg, r.pkg)) {
				continue
			}
			checked++
			for _, d := range deps {
				if r.stdOnly && !isStd(d) && !contains(r.allowed, d) {
					t.Errorf("%s imports %s; it may import only the standard library%s", pkg, d, allowedText(r.allowed))
				}
				for _, group := range r.forbidden {
					for _, prefix := range group {
						if strings.HasPrefix(d, prefix) {
							t.Errorf("%s imports %s, which DESIGN.md §2 forbids", pkg, d)
						}
					}
				}
			}
		}
		// gorm lives only in the store and the server's main.
		if !strings.HasPrefix(pkg, module+"/aggregator/gormstore") && pkg != module+"/cmd/pony-server" {
			for _, d := range deps {
				if strings.HasPrefix(d, "gorm.io/") && strings.HasPrefix(pkg, module) {
					t.Errorf("%s imports %s; gorm belongs in aggregator/gormstore and cmd/pony-server only", pkg, d)
				}
			}
		}
	}
	if checked < 3 {
		t.Errorf("checked %d packages against the rules; the module layout has changed and the rules must follow", checked)
	}
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func allowedText(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return " and " + strings.Join(a, ", ")
}
