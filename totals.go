package pony

// Totals counts the distinct tests of a step (or a bag) by final status.
// A test's final status is that of its last attempt.
type Totals struct {
	Tests int `json:"tests"`
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
	XFail int `json:"xfail"`
	XPass int `json:"xpass"`
	// Flaky counts retry flakes: tests that failed or errored in one attempt
	// and passed in a later one.
	Flaky int `json:"flaky"`
	// Attempts counts every test entry, reruns included.
	Attempts int `json:"attempts"`
}

// Add adds o's counts to t.
func (t *Totals) Add(o Totals) {
	t.Tests += o.Tests
	t.Pass += o.Pass
	t.Fail += o.Fail
	t.Error += o.Error
	t.Skip += o.Skip
	t.XFail += o.XFail
	t.XPass += o.XPass
	t.Flaky += o.Flaky
	t.Attempts += o.Attempts
}

func (t *Totals) count(s Status) {
	switch s {
	case StatusPass:
		t.Pass++
	case StatusFail:
		t.Fail++
	case StatusError:
		t.Error++
	case StatusSkip:
		t.Skip++
	case StatusXFail:
		t.XFail++
	case StatusXPass:
		t.XPass++
	}
}

// Verdict is a test's final outcome within a step.
type Verdict struct {
	// Final is the index in Step.Tests of the test's last attempt.
	Final int
	// Attempts is how many entries the test has.
	Attempts int
	// RetryFlake is true when an earlier attempt failed or errored and the
	// last one passed.
	RetryFlake bool
}

// Verdicts folds the step's entries into one Verdict per test, in order of
// first appearance. The last attempt is the one with the highest attempt
// number; among equal numbers, the later entry.
func (s *Step) Verdicts() ([]TestKey, map[TestKey]*Verdict) {
	order := make([]TestKey, 0, len(s.Tests))
	byKey := make(map[TestKey]*Verdict, len(s.Tests))
	failedBefore := make(map[TestKey]bool)
	for i := range s.Tests {
		t := &s.Tests[i]
		k := t.Key()
		v, ok := byKey[k]
		if !ok {
			v = &Verdict{Final: i}
			byKey[k] = v
			order = append(order, k)
		} else if t.AttemptNumber() >= s.Tests[v.Final].AttemptNumber() {
			if s.Tests[v.Final].Status.Failed() {
				failedBefore[k] = true
			}
			v.Final = i
		} else if t.Status.Failed() {
			failedBefore[k] = true
		}
		v.Attempts++
	}
	for k, v := range byKey {
		v.RetryFlake = failedBefore[k] && s.Tests[v.Final].Status == StatusPass
	}
	return order, byKey
}

// Totals counts the step's distinct tests by final status.
func (s *Step) Totals() Totals {
	var t Totals
	order, byKey := s.Verdicts()
	for _, k := range order {
		v := byKey[k]
		t.Tests++
		t.count(s.Tests[v.Final].Status)
		if v.RetryFlake {
			t.Flaky++
		}
	}
	t.Attempts = len(s.Tests)
	return t
}

// Totals adds up the totals of every step. A test reported by two steps
// counts twice: steps are separate runs.
func (b *Bag) Totals() Totals {
	var t Totals
	for i := range b.Steps {
		t.Add(b.Steps[i].Totals())
	}
	return t
}
