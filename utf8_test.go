package pony

import "testing"

func TestToValidUTF8(t *testing.T) {
	// What Test::More prints for "Stra\x{df}e" without a UTF-8 layer:
	// Latin-1 bytes (a real case, from examples/prove).
	latin1 := "#     expected: 'Stra\xdfe'\n"
	s := Step{
		Name:   "prove -v t/",
		Output: latin1,
		Tests: []TestResult{
			{Name: "sharp s \xdf folds", Status: StatusXFail, Message: "got 'Stra\xdfe'", Properties: map[string]string{"k\xff": "v\xfe", "ok": "fine"}},
			{Name: "clean", Status: StatusPass},
		},
	}
	if !s.ToValidUTF8() {
		t.Fatal("got no change, want the Latin-1 bytes replaced")
	}
	b := Bag{ClientInfo: ClientInfo{Package: "p"}, Steps: []Step{s}}
	if err := b.Validate(DefaultLimits); err != nil {
		t.Fatalf("got %v, want a valid bag", err)
	}
	for _, c := range []struct{ got, want string }{
		{s.Output, "#     expected: 'Stra\uFFFDe'\n"},
		{s.Tests[0].Name, "sharp s \uFFFD folds"},
		{s.Tests[0].Message, "got 'Stra\uFFFDe'"},
		{s.Tests[0].Properties["k\uFFFD"], "v\uFFFD"},
		{s.Tests[0].Properties["ok"], "fine"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if s.ToValidUTF8() {
		t.Error("second call: got a change, want none")
	}
}
