package instruct

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// engineConstants are the fixed numbers in the assistant's wording that
// are not measurements: the population disc diameter behind the disc
// calibration (1.8 mm; real discs 1.5 to 2.2 mm), all of them in the
// assistant's registry (assistant.Registry.ReferenceNumbers, tested).
// Verify accepts them only as whole tokens. The Report's own calibration
// note ("taken as 1800 µm … off by some 20%") grounds its numbers itself.
// Usual ranges (a CDR of 0.5 or less, ...) are not here: the build asks
// no question whose answer quotes them (they come with "is it normal?",
// "what does X mean?" and disease questions), so a rewriter that adds one
// is caught unless the Report happens to hold the same value.
var engineConstants = map[string]bool{"1.8": true, "1.5": true, "2.2": true}

var numberToken = regexp.MustCompile(`\d+(?:\.\d+)*%?`)

// Verify returns the numbers in text that are neither a value of rep or
// l (at the precision the text gives; a percentage as the value × 100 or
// as written in a Report string),
// nor one of extra (values the engine derived from the Report), nor one of
// the engine's fixed constants. Empty means every number is grounded.
func Verify(text string, rep *report.Report, l dataset.Labels, extra ...float64) []string {
	vals := append(leaves(rep), leaves(l)...)
	return ungrounded(text, append(vals, extra...))
}

// ungrounded lists the number tokens of text that are none of vals, nor
// the engine's fixed constants.
func ungrounded(text string, vals []float64) []string {
	var bad []string
	for _, loc := range numberToken.FindAllStringIndex(text, -1) {
		tok := text[loc[0]:loc[1]]
		// Part of a word or identifier (IDRiD_55, sha256): not a quoted value.
		if loc[0] > 0 && isWordByte(text[loc[0]-1]) || loc[1] < len(text) && isWordByte(text[loc[1]]) {
			continue
		}
		// A dotted triple (1.7.0) is a software or schema version the
		// engine names, never a measurement.
		if engineConstants[tok] || strings.Count(tok, ".") == 2 && !strings.HasSuffix(tok, "%") || grounded(tok, vals) {
			continue
		}
		bad = append(bad, tok)
	}
	return bad
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func grounded(tok string, vals []float64) bool {
	pct := strings.HasSuffix(tok, "%")
	t := strings.TrimSuffix(tok, "%")
	if strings.Count(t, ".") > 1 {
		return false
	}
	x, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return false
	}
	dec := 0
	if i := strings.IndexByte(t, '.'); i >= 0 {
		dec = len(t) - i - 1
	}
	tol := 0.5*math.Pow(10, -float64(dec)) + 1e-9
	for _, v := range vals {
		// A percentage is a fraction × 100, or a number the Report's own
		// text already wrote as a percentage.
		if pct && math.Abs(math.Abs(v*100)-x) <= tol || math.Abs(math.Abs(v)-x) <= tol {
			return true
		}
	}
	return false
}

// leaves returns every number in v's JSON form, including numbers written
// inside its strings (reasons and warnings quote measurements).
func leaves(v any) []float64 {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var doc any
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	var out []float64
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case float64:
			out = append(out, x)
		case string:
			for _, t := range numberToken.FindAllString(x, -1) {
				if f, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64); err == nil {
					out = append(out, f)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	return out
}

func trimFloat(v float64, prec int) string {
	return strconv.FormatFloat(report.Round(v, prec), 'f', -1, 64)
}
