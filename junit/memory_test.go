package junit_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/junit"
)

// TestStreamingMemory checks that the decoder does not hold the report:
// halfway through a 50,000-testcase file read from disk, the live heap has
// grown by much less than the file's size (go-junit, which builds the whole
// tree, holds many times the file).
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 10 MB file")
	}
	path := filepath.Join(t.TempDir(), "big.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := benchgen.Generate("junit", f, benchTestcases); err != nil {
		t.Fatal(err)
	}
	size, _ := f.Seek(0, io.SeekCurrent)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var before, mid runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := junit.NewDecoder(f, junit.Options{File: path})
	n := 0
	for {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == benchTestcases/2 {
			runtime.GC()
			runtime.ReadMemStats(&mid)
		}
	}
	grown := int64(mid.HeapAlloc) - int64(before.HeapAlloc)
	if limit := size / 5; grown > limit {
		t.Errorf("got %d bytes of live heap halfway through a %d-byte file, want under %d", grown, size, limit)
	}
	t.Logf("file %d bytes, live heap grown by %d bytes halfway", size, grown)
	runtime.KeepAlive(d)
}
