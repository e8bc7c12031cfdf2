package instruct

import (
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
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
// "what does X mean?" and disease questions).
var engineConstants = map[string]bool{"1.8": true, "1.5": true, "2.2": true}

var numberToken = regexp.MustCompile(`\d+(?:\.\d+)*%?`)

// Verify returns the numbers in an engine answer's text that none of the
// answer's own grounded facts give (assistant.Answer.Grounded: numeric
// values, the engine's "derived:" values, and numbers written inside
// string values such as quality reasons and warnings), at the precision
// the text gives (a percentage also as the value × 100), and that are
// not one of the engine's fixed constants or a dotted version triple.
// Empty means every number is grounded.
//
// Provenance is per answer on purpose: a Report holds thousands of
// numbers, so an answer about vessel density that quoted the CRAE (or a
// constant that happens to equal some vessel width) would pass a check
// against the whole Report.
func Verify(text string, grounded []assistant.Value) []string {
	var vals []float64
	for _, v := range grounded {
		vals = append(vals, leaves(v.Value)...)
	}
	return ungrounded(text, vals)
}

// VerifyLabels returns the numbers in a label answer's text (labelAnswer,
// LabelSummary) that are not values of l.
func VerifyLabels(text string, l dataset.Labels) []string {
	return ungrounded(text, leaves(l))
}

// VerifyReport is the loose, whole-report check: the numbers of text that
// are no value anywhere in rep or l. It is only for text whose per-answer
// provenance is gone: samples read back from the written LLaVA files
// (neither they nor the journal keep the answers' Grounded lists), as the
// tests of `dataset build` check them. The build itself uses Verify and
// VerifyLabels, and for paraphrases SameNumbers.
func VerifyReport(text string, rep *report.Report, l dataset.Labels) []string {
	return ungrounded(text, append(leaves(rep), leaves(l)...))
}

// numberTokens returns the number tokens of text that stand alone: a
// number that is part of a word or identifier (IDRiD_55, sha256) is no
// quoted value, nor is the 1 of a reciprocal unit (1/px, 1/px²: the
// tortuosity measures). Each is returned with its start offset.
func numberTokens(text string) (toks []string, at []int) {
	for _, loc := range numberToken.FindAllStringIndex(text, -1) {
		if loc[0] > 0 && isWordByte(text[loc[0]-1]) || loc[1] < len(text) && isWordByte(text[loc[1]]) {
			continue
		}
		if text[loc[0]:loc[1]] == "1" && loc[1]+1 < len(text) && text[loc[1]] == '/' && isWordByte(text[loc[1]+1]) {
			continue
		}
		toks, at = append(toks, text[loc[0]:loc[1]]), append(at, loc[0])
	}
	return toks, at
}

// isVersion reports whether tok is a dotted triple (1.7.0): a software or
// schema version the engine names, never a measurement.
func isVersion(tok string) bool {
	return strings.Count(tok, ".") == 2 && !strings.HasSuffix(tok, "%")
}

// ungrounded lists the number tokens of text that are none of vals, nor
// the engine's fixed constants.
func ungrounded(text string, vals []float64) []string {
	var bad []string
	toks, _ := numberTokens(text)
	for _, tok := range toks {
		if engineConstants[tok] || isVersion(tok) || grounded(tok, vals) {
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

// numberKeys returns the numbers of text as a sorted multiset of
// normalized values, for comparing a paraphrase with its original: the
// value as written, so "0.50" and "0.5" are one number, with its "%" kept
// (12% is not 0.12 nor 12) and its sign when a minus sign is written right
// before it (not after a digit or letter: "34-56%" is a range). A version
// triple is kept as written.
func numberKeys(text string) []string {
	toks, at := numberTokens(text)
	keys := make([]string, 0, len(toks))
	for i, tok := range toks {
		key := tok
		if !isVersion(tok) {
			num := strings.TrimSuffix(tok, "%")
			if x, err := strconv.ParseFloat(num, 64); err == nil {
				key = strconv.FormatFloat(x, 'f', -1, 64) + tok[len(num):]
			}
			if negative(text[:at[i]]) {
				key = "-" + key
			}
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

// negative reports whether the text before a number ends in a minus sign
// that is a sign, not a dash between two values.
func negative(before string) bool {
	var rest string
	switch {
	case strings.HasSuffix(before, "-"):
		rest = before[:len(before)-1]
	case strings.HasSuffix(before, "−"): // U+2212
		rest = strings.TrimSuffix(before, "−")
	default:
		return false
	}
	return rest == "" || !isWordByte(rest[len(rest)-1]) && (rest[len(rest)-1] < '0' || rest[len(rest)-1] > '9')
}

// SameNumbers compares the numbers of a paraphrase with its original's
// (numberKeys multisets): lost are the original's numbers the paraphrase
// lacks (a changed number is lost once and added once), added those it
// has in excess. Both empty means it carries exactly the original's
// numbers, which Verify grounded, so the paraphrase is grounded too.
func SameNumbers(original, paraphrase string) (lost, added []string) {
	a, b := numberKeys(original), numberKeys(paraphrase)
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			lost = append(lost, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			added = append(added, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return lost, added
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
