package client

import (
	"encoding/json"
	"testing"

	"github.com/pony-build/pony"
)

// FuzzDecodeEnvelope feeds arbitrary spool files to the spool's reader: it
// must never panic, and what it accepts must round-trip.
//
//	go test -run=^$ -fuzz=FuzzDecodeEnvelope -fuzztime=60s ./client
func FuzzDecodeEnvelope(f *testing.F) {
	env := testEnvelope(f, "http://pony.example")
	good, _ := json.Marshal(env)
	f.Add(good)
	f.Add([]byte(`{"idempotency_key": "k", "server": "http://x", "bag": {`))
	f.Add([]byte(`{"idempotency_key": "k", "server": "http://x", "bag": "string"}`))
	f.Add([]byte(`{"idempotency_key": "k", "server": "http://x", "created": "yesterday", "bag": {}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEnvelope("f.json", data)
		if err != nil {
			return
		}
		if e.IdempotencyKey == "" || e.Server == "" || len(e.Bag) == 0 {
			t.Fatalf("accepted %q as %+v, want key, server and bag", data, e)
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", e, err)
		}
		if _, err := decodeEnvelope("f.json", again); err != nil {
			t.Fatalf("round trip of %q: got %v, want it read back", data, err)
		}
		errorMessage(data)
	})
}

// FuzzApplySets feeds arbitrary --set values: ApplySets must never panic,
// and a bag it accepts must still encode.
//
//	go test -run=^$ -fuzz=FuzzApplySets -fuzztime=60s ./client
func FuzzApplySets(f *testing.F) {
	for _, s := range []string{"python=3.12", `tags=["a"]`, "duration=-1", "package=", "x={", `success=true`, "=v", "receipt=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ci := pony.ClientInfo{Package: "pony"}
		if err := ApplySets(&ci, []string{s}); err != nil {
			return
		}
		if _, err := json.Marshal(ci); err != nil {
			t.Fatalf("--set %q: got a client_info that does not encode: %v", s, err)
		}
	})
}
