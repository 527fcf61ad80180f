package testenv

import (
	"io"
	"runtime"
)

// LiveHeap collects garbage and returns the live heap.
func LiveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// HeapSampler reads through R and, every Every bytes, collects garbage and
// records the live heap in Peak: the peak of what the reader's consumer
// holds while it reads. Bytes counts the bytes read.
type HeapSampler struct {
	R     io.Reader
	Every int64
	Bytes int64
	Peak  uint64
	next  int64
}

func (s *HeapSampler) Read(p []byte) (int, error) {
	n, err := s.R.Read(p)
	s.Bytes += int64(n)
	if s.Bytes >= s.next {
		s.next += s.Every
		s.Sample()
	}
	return n, err
}

// Sample records the live heap now.
func (s *HeapSampler) Sample() { s.Peak = max(s.Peak, LiveHeap()) }
