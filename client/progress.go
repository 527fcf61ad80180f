package client

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// Progress line modes, for --progress.
const (
	ProgressAuto   = "auto"   // on when stderr is a terminal
	ProgressAlways = "always" // on, whatever stderr is
	ProgressNever  = "never"
)

// ProgressOn says whether the progress line is drawn on w in mode: auto
// draws only on a terminal.
func ProgressOn(mode string, w io.Writer) (bool, error) {
	switch mode {
	case ProgressAlways:
		return true, nil
	case ProgressNever:
		return false, nil
	case ProgressAuto, "":
		f, ok := w.(*os.File)
		return ok && term.IsTerminal(int(f.Fd())), nil
	}
	return false, fmt.Errorf("--progress %q: want auto, always or never", mode)
}

// ProgressLine is a single status line, e.g. "pony-report: 120 tests, 2
// failed, 1:31 elapsed — go test", kept below a command's output on a
// terminal: it is cleared (\r\033[K) before the command's output is written
// through Wrap's writers, and redrawn after, at most 4 times a second, and
// only when the output ends on a full line.
type ProgressLine struct {
	// W is the terminal.
	W io.Writer
	// Status returns the line's text.
	Status func() string
	// Width caps the line so that it never wraps; 0 asks the terminal, else 80.
	Width int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	shown    bool
	midLine  bool // the output so far ends inside a line
	lastDraw time.Time
	stop     chan struct{}
	done     chan struct{}
}

// MinRedraw is the shortest time between two draws.
const MinRedraw = 250 * time.Millisecond

func (p *ProgressLine) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Wrap returns a writer for a command's output (stdout or stderr, which
// share the terminal) that keeps the line out of its way.
func (p *ProgressLine) Wrap(w io.Writer) io.Writer { return &progressWriter{p: p, w: w} }

type progressWriter struct {
	p *ProgressLine
	w io.Writer
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	p := pw.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	n, err := pw.w.Write(b)
	if n > 0 {
		p.midLine = b[n-1] != '\n'
	}
	p.drawLocked(false)
	return n, err
}

// clearLocked removes the line from the screen.
func (p *ProgressLine) clearLocked() {
	if p.shown {
		io.WriteString(p.W, "\r\033[K")
		p.shown = false
	}
}

// drawLocked draws the line unless it was drawn less than MinRedraw ago
// (force skips that check) or the output ends mid-line.
func (p *ProgressLine) drawLocked(force bool) {
	if p.midLine {
		return
	}
	now := p.now()
	if !force && now.Sub(p.lastDraw) < MinRedraw {
		return
	}
	text := p.Status()
	width := p.Width
	if width <= 0 {
		width = 80
		if f, ok := p.W.(*os.File); ok {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
				width = w
			}
		}
	}
	text = cutRunes(text, width-1)
	if p.shown {
		io.WriteString(p.W, "\r\033[K"+text)
	} else {
		io.WriteString(p.W, text)
	}
	p.shown = true
	p.lastDraw = now
}

// cutRunes keeps at most n runes of s.
func cutRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// Draw redraws the line now (at most 4 times a second).
func (p *ProgressLine) Draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked(false)
}

// Start redraws the line every MinRedraw, so that the elapsed time moves
// while the command is quiet, until Stop.
func (p *ProgressLine) Start() {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(MinRedraw)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.Draw()
			}
		}
	}()
}

// Stop stops the redraws and removes the line.
func (p *ProgressLine) Stop() {
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

// ProgressText is the progress line's text: "pony-report: 120 tests, 2
// failed, 1:31 elapsed — go test".
func ProgressText(tests, failed int, elapsed time.Duration, step string) string {
	s := fmt.Sprintf("pony-report: %d tests, %d failed, %s elapsed", tests, failed, clock(elapsed))
	if tests == 1 {
		s = fmt.Sprintf("pony-report: 1 test, %d failed, %s elapsed", failed, clock(elapsed))
	}
	if step != "" {
		s += " — " + step
	}
	return s
}

// clock writes d as m:ss, or h:mm:ss past the hour.
func clock(d time.Duration) string {
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
