package instruct

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// testReports are the assistant's test Reports (internal/assistant/
// testdata/*_report.json) and variants of each with the other quality
// grades. drishti_report.json is Drishti-GS1's drishtiGS_002 analysed as
// dataset build analyses it (no lesions, graded reject): its Report has
// no 382, so the old quality wording ("calibrated on 382 EyeQ-graded
// photos") fails Verify on it, as it did in the build.
func testReports(t *testing.T) map[string]*report.Report {
	t.Helper()
	out := map[string]*report.Report{}
	files, _ := filepath.Glob("../assistant/testdata/*_report.json")
	if len(files) == 0 {
		t.Fatal("no test reports")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add := func(name string, edit func(map[string]any)) {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if edit != nil {
				edit(m)
			}
			bb, _ := json.Marshal(m)
			r, err := report.Decode(bytes.NewReader(bb))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out[name] = r
		}
		base := filepath.Base(f)
		add(base, nil)
		for _, g := range []string{"usable", "reject"} {
			add(base+"/"+g, func(m map[string]any) {
				if q, ok := m["quality"].(map[string]any); ok {
					q["grade"] = g
					q["reasons"] = []any{"out of focus (fine-to-coarse detail ratio 0.41)"}
				}
			})
		}
	}
	return out
}

// Every phrasing of every report question kind dataset build asks, over
// every test Report: each number the answer says is one of the answer's
// own grounded values (Verify), not merely some value of the Report.
// A failure names the kind, the phrasing and the numbers: an engine
// answer that quotes a number missing from its Grounded list is an
// engine bug (internal/assistant), which the build drops as a turn.
func TestAnswersGrounded(t *testing.T) {
	ctx := context.Background()
	for name, rep := range testReports(t) {
		qs := []Question{{KindOverview, "describe the photo"}}
		for _, k := range reportKinds {
			for _, p := range bank[k] {
				qs = append(qs, Question{k, p})
			}
		}
		for _, q := range qs {
			s, err := assistant.NewSession(nil, rep)
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.Ask(ctx, q.Text)
			if err != nil {
				t.Fatal(err)
			}
			if bad := Verify(a.Text, a.Grounded); len(bad) > 0 {
				t.Errorf("%s, %s %q: %v not among the answer's grounded values:\n%s", name, q.Kind, q.Text, bad, a.Text)
			}
			if bad := VerifyReport(a.Text, rep, dataset.Labels{}); len(bad) > 0 {
				t.Errorf("%s, %s %q: %v not even in the Report:\n%s", name, q.Kind, q.Text, bad, a.Text)
			}
		}
	}
}

// Every test Report and a few hashes: the built conversations (one
// session, questions in Plan's order, so follow-up context applies) drop
// no turn.
func TestStage2NoDroppedTurns(t *testing.T) {
	ctx := context.Background()
	l := dataset.Labels{DRGrade: ip(2), ReferableDR: bp(true), CDR: fp(0.62)}
	for name, rep := range testReports(t) {
		for _, h := range []string{hashA, hashB, strings.Repeat("c", 64), strings.Repeat("d", 64)} {
			if _, err := Stage1(ctx, "x/1", "x/1.png", h, rep, l); err != nil {
				t.Errorf("%s, hash %.8s: stage 1: %v", name, h, err)
			}
			c, err := Stage2(ctx, "x/1", "x/1.png", h, rep, l)
			if err != nil {
				t.Errorf("%s, hash %.8s: stage 2: %v", name, h, err)
				continue
			}
			if len(c.Dropped) > 0 {
				t.Errorf("%s, hash %.8s: dropped turns %v", name, h, c.Dropped)
			}
		}
	}
}

// The quality answer, the one that quoted the EyeQ calibration set's size,
// names no number the Report lacks on a Report that has few numbers.
func TestQualityAnswerNoConstants(t *testing.T) {
	rep := &report.Report{SchemaVersion: report.SchemaVersion, Quality: &report.Quality{Gate: "on", Grade: "good",
		Probabilities: report.QualityProbabilities{Good: 0.91, Usable: 0.07, Reject: 0.02}, RejectScore: 0.02,
		Modality: report.QualityModality{IsFundus: true, Score: 0.97}}}
	for _, q := range append(bank[KindQuality], bank[KindModality]...) {
		s, err := assistant.NewSession(nil, rep)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Ask(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if bad := Verify(a.Text, a.Grounded); len(bad) > 0 {
			t.Errorf("%q: Verify flags %v in:\n%s", q, bad, a.Text)
		}
		if strings.Contains(a.Text, "382") {
			t.Errorf("%q quotes the calibration set's size:\n%s", q, a.Text)
		}
	}
}

// Verify's engine constants are numbers the assistant documents as
// reference values (or the Report's calibration note writes), never
// free-standing numbers of the instruct package.
func TestEngineConstantsDocumented(t *testing.T) {
	ref := map[string]bool{}
	for _, n := range assistant.DefaultRegistry().ReferenceNumbers() {
		ref[n] = true
	}
	for c := range engineConstants {
		if !ref[c] {
			t.Errorf("engine constant %s is not one of the assistant's reference numbers %v", c, assistant.DefaultRegistry().ReferenceNumbers())
		}
	}
}
