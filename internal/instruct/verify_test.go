package instruct

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/dataset"
)

// Verify grounds an answer's numbers in that answer's own facts only.
func TestVerify(t *testing.T) {
	density := []assistant.Value{{Measure: "vessel_density", Path: "vessels.density_fov", Value: 0.0642}}
	quality := []assistant.Value{{Measure: "quality", Path: "quality.reasons",
		Value: []any{"out of focus (fine-to-coarse detail ratio 0.41)", "74% of the labelled vessel pixels are arteries"}}}
	lesions := []assistant.Value{{Measure: "lesions", Path: "lesions.types.0.boxes", Value: [][]float64{{0.1234, 0.5, 0.25, 0.75}}},
		{Measure: "lesions", Path: "derived:disc_diameters", Value: 2.3}}
	for _, c := range []struct {
		name     string
		text     string
		grounded []assistant.Value
		bad      []string
	}{
		{"value as stored", "The vessel density is 0.0642 (unitless).", density, nil},
		{"fewer decimals", "About 0.064, or 0.06.", density, nil},
		{"wrong at the precision written", "About 0.07.", density, []string{"0.07"}},
		{"as a percentage", "Vessels cover 6.42% (6.4%) of the field.", density, nil},
		{"another field's value", "The vessel density is 177.7.", density, []string{"177.7"}},
		{"invented", "The vessel density is 0.0777 and the CDR 0.913.", density, []string{"0.0777", "0.913"}},
		{"no grounded facts", "The vessel density is 0.0642.", nil, []string{"0.0642"}},
		{"number inside a grounded string", "Out of focus (ratio 0.41); 74% arteries.", quality, nil},
		{"percentage not in the string", "75% arteries.", quality, []string{"75%"}},
		{"box and derived value", "Box [0.1234, 0.5, 0.25, 0.75], 2.3 disc diameters away.", lesions, nil},
		{"engine constants and versions", "A disc of 1.8 mm (1.5 to 2.2 mm); schema 1.7.0.", nil, nil},
		{"numbers inside words", "Sample IDRiD_55, sha256.", nil, nil},
		{"reciprocal unit", "The tortuosity density is 0.00025 1/px; 1/2 of it is not.", []assistant.Value{{Path: "vessels.tortuosity_density", Value: 0.00025}}, []string{"1", "2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if bad := Verify(c.text, c.grounded); !reflect.DeepEqual(bad, c.bad) {
				t.Errorf("Verify(%q) = %v, want %v", c.text, bad, c.bad)
			}
		})
	}
}

// The looseness per-answer provenance removes: an answer about vessel
// density that quotes the CRAE passes a whole-report check (the CRAE is
// in the Report) but not Verify. Built from the engine's own answers, so
// it holds whatever numbers the test Report has.
func TestVerifyOtherFieldRejected(t *testing.T) {
	rep := testReports(t)["future_report.json"]
	if rep == nil {
		t.Fatal("no future_report.json")
	}
	ask := func(q string) assistant.Answer {
		t.Helper()
		s, err := assistant.NewSession(nil, rep)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Ask(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := func(a assistant.Answer) string {
		t.Helper()
		toks, _ := numberTokens(a.Text)
		if len(toks) == 0 {
			t.Fatalf("no number in %q", a.Text)
		}
		return toks[0]
	}
	for _, c := range []struct{ about, other string }{
		{"What is the vessel density?", "What is the CRAE?"},
		{"What is the CRAE?", "What is the cup to disc ratio?"},
		{"What is the cup to disc ratio?", "What is the vessel density?"},
	} {
		a, o := ask(c.about), ask(c.other)
		if bad := Verify(a.Text, a.Grounded); len(bad) > 0 {
			t.Fatalf("%q: correct answer flagged %v:\n%s", c.about, bad, a.Text)
		}
		n, wrong := first(a), first(o)
		if n == wrong {
			t.Fatalf("%q and %q quote the same first number %s", c.about, c.other, n)
		}
		text := strings.Replace(a.Text, n, wrong, 1)
		if bad := VerifyReport(text, rep, dataset.Labels{}); len(bad) > 0 {
			t.Fatalf("%s is not in the Report? %v", wrong, bad)
		}
		if bad := Verify(text, a.Grounded); !reflect.DeepEqual(bad, []string{wrong}) {
			t.Errorf("%q answered with %q's %s: Verify flags %v, want [%s]:\n%s", c.about, c.other, wrong, bad, wrong, text)
		}
	}
}

// Label answers are grounded in the labels alone.
func TestVerifyLabels(t *testing.T) {
	l := dataset.Labels{DRGrade: ip(2), CDR: fp(0.62)}
	for _, c := range []struct {
		text string
		bad  []string
	}{
		{labelAnswer(KindLabelDR, l), nil},
		{labelAnswer(KindLabelCDR, l), nil},
		{"ICDR grade 3.", []string{"3"}},
		{"The vertical cup-to-disc ratio is 0.359.", []string{"0.359"}}, // a Report value, not a label
	} {
		if bad := VerifyLabels(c.text, l); !reflect.DeepEqual(bad, c.bad) {
			t.Errorf("VerifyLabels(%q) = %v, want %v", c.text, bad, c.bad)
		}
	}
}

// A paraphrase must carry exactly its original's numbers, as a multiset
// of normalized values.
func TestSameNumbers(t *testing.T) {
	const orig = "The vessel density is 0.0642 (6.42% of the field); CRAE 12.5 µm, CRVE 12.5 µm; schema 1.7.0."
	for _, c := range []struct {
		name        string
		para        string
		lost, added []string
	}{
		{"same", "Put simply, the vessels fill 6.42% of the field (0.0642); CRAE 12.5 µm and CRVE 12.5 µm too; schema 1.7.0.", nil, nil},
		{"trailing zeros", "Density 0.06420, 6.420%, CRAE 12.50 µm, CRVE 12.5 µm, schema 1.7.0.", nil, nil},
		{"changed", "Density 0.0643, 6.42%, 12.5 and 12.5 µm, schema 1.7.0.", []string{"0.0642"}, []string{"0.0643"}},
		{"dropped a repeat", "Density 0.0642 (6.42%), CRAE and CRVE 12.5 µm, schema 1.7.0.", []string{"12.5"}, nil},
		{"added", "Density 0.0642 (6.42%), 12.5 and 12.5 µm, schema 1.7.0, usual below 0.5.", nil, []string{"0.5"}},
		{"percentage is not a fraction", "Density 0.0642 (0.0642), 12.5 and 12.5 µm, schema 1.7.0.", []string{"6.42%"}, []string{"0.0642"}},
		{"percentage sign dropped", "Density 0.0642 (6.42), 12.5 and 12.5 µm, schema 1.7.0.", []string{"6.42%"}, []string{"6.42"}},
		{"sign", "Density -0.0642 (6.42%), 12.5 and 12.5 µm, schema 1.7.0.", []string{"0.0642"}, []string{"-0.0642"}},
		{"version changed", "Density 0.0642 (6.42%), 12.5 and 12.5 µm, schema 1.7.1.", []string{"1.7.0"}, []string{"1.7.1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			lost, added := SameNumbers(orig, c.para)
			if !reflect.DeepEqual(lost, c.lost) || !reflect.DeepEqual(added, c.added) {
				t.Errorf("SameNumbers(%q) = lost %v, added %v; want %v, %v", c.para, lost, added, c.lost, c.added)
			}
		})
	}
	// A range's dash is no minus sign.
	if lost, added := SameNumbers("34-56%", "34 to 56%"); lost != nil || added != nil {
		t.Errorf("range: lost %v, added %v", lost, added)
	}
}
