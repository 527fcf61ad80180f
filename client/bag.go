package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters"
)

// Stdin is the input name that stands for standard input.
const Stdin = "-"

// ExpandArgs expands every argument holding a glob character (*, ? or [)
// with filepath.Glob, or GlobFiles when it holds `**` (any number of
// directories), keeping the others as given. A pattern that matches
// nothing, or is malformed, is an error naming it. A file named twice is
// read once.
func ExpandArgs(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p == Stdin || !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, a := range args {
		if a == Stdin || !strings.ContainsAny(a, "*?[") {
			add(a)
			continue
		}
		var matches []string
		var err error
		if strings.Contains(a, "**") {
			// `**` matches any number of directories, as in run's --junit
			// (filepath.Glob would take it for one).
			matches, err = GlobFiles("", a)
		} else {
			matches, err = filepath.Glob(a)
		}
		if err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", a, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("pattern %q matches no file", a)
		}
		for _, m := range matches {
			add(m)
		}
	}
	return out, nil
}

// Input is one report to read.
type Input struct {
	// Path is the file, or Stdin.
	Path string
	// Format is a reporters format name; "" or "auto" detects it.
	Format string
}

// ReadOptions configure ReadSteps.
type ReadOptions struct {
	// Stdin is read for the input named "-".
	Stdin io.Reader
	// KeepPassingOutput keeps passing tests' output too.
	KeepPassingOutput bool
}

// ReadError is a report that could not be used at all: a file that cannot be
// opened, or that is in no known format. Nothing should be sent then.
type ReadError struct {
	Path string
	Err  error
}

func (e *ReadError) Error() string {
	var ie *pony.InputError
	if errors.As(e.Err, &ie) {
		return e.Err.Error() // already names the file
	}
	var pe *os.PathError
	if errors.As(e.Err, &pe) {
		return e.Path + ": " + pe.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *ReadError) Unwrap() error { return e.Err }

// ReadSteps parses every input into one step, streaming each file. A damaged
// input keeps its good tests: its step is marked Incomplete and its
// *pony.InputError is returned in problems. err is a *ReadError when an input
// cannot be used at all; the steps are then not worth sending.
func ReadSteps(ctx context.Context, inputs []Input, opts ReadOptions) (steps []pony.Step, problems []error, err error) {
	// Check every input first, so that a missing file is reported before
	// a long parse of the others.
	stdinUsed := false
	for _, in := range inputs {
		if in.Path == Stdin {
			if stdinUsed {
				return nil, nil, &ReadError{Path: Stdin, Err: errors.New("standard input named twice")}
			}
			if opts.Stdin == nil {
				return nil, nil, &ReadError{Path: Stdin, Err: errors.New("no standard input")}
			}
			stdinUsed = true
			continue
		}
		fi, err := os.Stat(in.Path)
		if err != nil {
			return nil, nil, &ReadError{Path: in.Path, Err: err}
		}
		if fi.IsDir() {
			return nil, nil, &ReadError{Path: in.Path, Err: errors.New("is a directory")}
		}
	}
	for _, in := range inputs {
		step, perr, err := readOne(ctx, in, opts)
		if err != nil {
			return nil, nil, err
		}
		if perr != nil {
			step.Incomplete = true
			problems = append(problems, perr)
		}
		steps = append(steps, *step)
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
	return steps, problems, nil
}

// readOne parses one input. perr is a problem in a usable step; err means
// there is no usable step.
func readOne(ctx context.Context, in Input, opts ReadOptions) (step *pony.Step, perr, err error) {
	r := opts.Stdin
	if in.Path != Stdin {
		f, err := os.Open(in.Path)
		if err != nil {
			return nil, nil, &ReadError{Path: in.Path, Err: err}
		}
		defer f.Close()
		r = f
	}
	step, perr = reporters.Parse(ctx, in.Format, r, reporters.Options{File: in.Path, FromFile: in.Path != Stdin, KeepPassingOutput: opts.KeepPassingOutput})
	if step == nil {
		if perr == nil {
			perr = errors.New("the parser returned nothing")
		}
		return nil, nil, &ReadError{Path: in.Path, Err: perr}
	}
	return step, perr, nil
}

// ApplySets sets arbitrary client_info keys from key=value strings. A value
// that parses as JSON is used as such (numbers, booleans, lists, objects);
// any other value is a string. Known keys (package, tags, duration…) must
// keep their type.
func ApplySets(ci *pony.ClientInfo, sets []string) error {
	if len(sets) == 0 {
		return nil
	}
	b, err := json.Marshal(ci)
	if err != nil {
		return fmt.Errorf("encode client_info: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("decode client_info: %w", err)
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return fmt.Errorf("--set %q: want key=value", s)
		}
		if k == "receipt" {
			return fmt.Errorf("--set %q: receipt is written by the server", s)
		}
		raw := json.RawMessage(v)
		if !json.Valid(raw) {
			raw, _ = json.Marshal(v)
		}
		m[k] = raw
	}
	b, _ = json.Marshal(m)
	var out pony.ClientInfo
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("--set: %w", err)
	}
	*ci = out
	return nil
}

// NewIdempotencyKey returns a random 128-bit key in hex. One is made per bag,
// when the bag is built, and kept with it when it is spooled, so that every
// attempt to send that bag carries the same key.
func NewIdempotencyKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// Envelope is a bag ready to send: its JSON, the key that makes resending it
// safe, and the server it is for. It is also the spool's file format.
type Envelope struct {
	IdempotencyKey string    `json:"idempotency_key"`
	Server         string    `json:"server"`
	Created        time.Time `json:"created"`
	// Bag is the bag's JSON, sent byte for byte.
	Bag json.RawMessage `json:"bag"`
}

// NewEnvelope encodes b for server with a fresh idempotency key. The receipt,
// which only the server writes, is left out.
func NewEnvelope(b *pony.Bag, server string) (*Envelope, error) {
	c := *b
	c.Receipt = nil
	body, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode bag: %w", err)
	}
	return &Envelope{
		IdempotencyKey: NewIdempotencyKey(),
		Server:         server,
		Created:        time.Now().UTC().Truncate(time.Second),
		Bag:            body,
	}, nil
}
