package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps DESIGN.md §2 true: client imports pony and
// reporters only from this module, and never gin, gorm or the aggregator.
func TestDependencies(t *testing.T) {
	const mod = "github.com/pony-build/pony"
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, mod+"/client").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, mod) && p != mod && p != mod+"/reporters" {
			t.Errorf("client imports %s, want only %s and %s/reporters from this module", p, mod, mod)
		}
	}
	out, err = exec.Command("go", "list", "-deps", mod+"/client").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/gin-gonic/", "gorm.io/", mod + "/aggregator", mod + "/web"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("client depends on %s, want no %s*", p, banned)
			}
		}
	}
}
