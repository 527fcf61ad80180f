package aggregator

// NaturalLess reports whether a sorts before b in natural version order:
// runs of ASCII digits compare by numeric value (go1.9 < go1.10, python3.9 <
// python3.12, 1.2.9 < 1.2.10), everything else bytewise. Numbers equal in
// value but spelled differently ("01" and "1") order the shorter spelling
// first; when a and b differ nowhere else, bytewise order decides, so the
// order is total and NaturalLess(a, b) is false for a == b.
func NaturalLess(a, b string) bool {
	i, j := 0, 0
	tie := 0 // the first difference in leading zeros: -1 a first, 1 b first
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := trimZeros(a[si:i]), trimZeros(b[sj:j])
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			if tie == 0 && i-si != j-sj {
				if i-si < j-sj {
					tie = -1
				} else {
					tie = 1
				}
			}
			continue
		}
		if ca != cb {
			return ca < cb
		}
		i++
		j++
	}
	if len(a)-i != len(b)-j {
		return len(a)-i < len(b)-j
	}
	if tie != 0 {
		return tie < 0
	}
	return a < b
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
