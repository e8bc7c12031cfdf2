package llm

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
)

// numRE finds numbers as people write them: 0.359, 12,850, 6.4 (and the
// 6.4 of 6.4%). A number glued to letters or an underscore (idrid_055,
// schema 1.6.0's parts) is not a quoted value.
var numRE = regexp.MustCompile(`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`)

type number struct {
	text     string
	val      float64
	decimals int
}

func numbersText(s string) []number {
	var out []number
	for _, loc := range numRE.FindAllStringIndex(s, -1) {
		if loc[0] > 0 {
			c := s[loc[0]-1]
			if c == '_' || c == '.' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
				continue
			}
		}
		if loc[1] < len(s) {
			c := s[loc[1]]
			if c == '_' || c == '.' && loc[1]+1 < len(s) && s[loc[1]+1] >= '0' && s[loc[1]+1] <= '9' {
				continue // a version such as 1.6.0
			}
		}
		t := s[loc[0]:loc[1]]
		f, err := strconv.ParseFloat(strings.ReplaceAll(t, ",", ""), 64)
		if err != nil {
			continue
		}
		d := 0
		if i := strings.IndexByte(t, '.'); i >= 0 {
			d = len(t) - i - 1
		}
		out = append(out, number{t, f, d})
	}
	return out
}

func numbersIn(s string) []float64 {
	var out []float64
	for _, n := range numbersText(s) {
		out = append(out, n.val)
	}
	return out
}

// matches says whether the quoted n is v as written at n's precision
// (0.36 for 0.359, 64 or 63 for 63.5), or v as a percentage (6.42 for
// 0.0642). A whole number matches a fraction only when v is at least 1.
func matches(n number, v float64) bool {
	v = math.Abs(v)
	tol := 0.5*math.Pow(10, -float64(n.decimals)) + 1e-9
	if math.Abs(n.val-v) <= tol && (n.decimals > 0 || v >= 1 || v == n.val) {
		return true
	}
	return v < 1 && math.Abs(n.val-100*v) <= tol && (n.decimals > 0 || 100*v >= 1)
}

// ground checks every number in text: those that match a tool leaf become
// Grounded values (with the leaf's path); those that match an allowed or
// reference number pass; the rest are ungrounded.
func ground(text string, leaves []leaf, allowed, refs []float64) (grounded []assistant.Value, ungrounded []string) {
	seen := map[string]bool{}
	for _, n := range numbersText(text) {
		ok := false
		for _, l := range leaves {
			var vals []float64
			switch x := l.val.(type) {
			case float64:
				vals = []float64{x}
			case string:
				vals = numbersIn(x)
			}
			for _, v := range vals {
				if !matches(n, v) {
					continue
				}
				ok = true
				if _, isNum := l.val.(float64); isNum && !seen[l.path] {
					seen[l.path] = true
					grounded = append(grounded, assistant.Value{Measure: l.name, Path: l.path, Value: l.val, Unit: l.unit})
				}
				break
			}
		}
		for _, sets := range [][]float64{allowed, refs} {
			for _, v := range sets {
				if !ok && matches(n, v) {
					ok = true
				}
			}
		}
		if !ok {
			ungrounded = append(ungrounded, n.text)
		}
	}
	return grounded, ungrounded
}

// referenceNumbers are the numbers the registry itself states (usual
// ranges, thresholds, explanations; Registry.ReferenceNumbers, the same
// list the built-in responder is held to) and the flags' limits: an
// answer may cite them.
func referenceNumbers(reg *assistant.Registry) []float64 {
	var out []float64
	for _, n := range reg.ReferenceNumbers() {
		out = append(out, numbersIn(n)...)
	}
	for _, m := range reg.Measures {
		if m.Flag == nil {
			continue
		}
		for _, p := range []*float64{m.Flag.Above, m.Flag.Below} {
			if p != nil {
				out = append(out, *p)
			}
		}
	}
	return append(out, numbersIn(assistant.NotDiagnosis)...)
}
