package instruct

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

func sampleReport(t *testing.T) *report.Report {
	t.Helper()
	f, err := os.Open("../assistant/testdata/sample_report.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := report.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ip(v int) *int         { return &v }
func bp(v bool) *bool       { return &v }
func fp(v float64) *float64 { return &v }

const hashA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
const hashB = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

func TestPlanDeterministic(t *testing.T) {
	kinds := Available(sampleReport(t), dataset.Labels{DRGrade: ip(2), DMERisk: ip(1), DR: bp(true)})
	a1, s1 := Plan(hashA, kinds)
	a2, s2 := Plan(hashA, kinds)
	if !reflect.DeepEqual(a1, a2) || !reflect.DeepEqual(s1, s2) {
		t.Fatalf("same hash, different plans:\n%v\n%v", a1, a2)
	}
	if len(a1) < 3 || len(a1) > 6 {
		t.Errorf("plan has %d questions, want 3..6", len(a1))
	}
	labels, seen := 0, map[Kind]bool{}
	for _, q := range a1 {
		if seen[q.Kind] {
			t.Errorf("kind %s asked twice", q.Kind)
		}
		seen[q.Kind] = true
		if strings.HasPrefix(string(q.Kind), "label_") {
			labels++
		}
	}
	if labels < 1 || labels > 2 {
		t.Errorf("%d label questions, want 1..2: %v", labels, a1)
	}
	// Different images get different plans, and the first question varies.
	firsts := map[Kind]bool{}
	differ := false
	for i := range 40 {
		h := strings.Repeat("0", 62) + string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16])
		p, _ := Plan(h, kinds)
		firsts[p[0].Kind] = true
		if !reflect.DeepEqual(p, a1) {
			differ = true
		}
	}
	if !differ || len(firsts) < 4 {
		t.Errorf("plans do not vary: %d distinct first kinds", len(firsts))
	}
}

func TestLabelAnswers(t *testing.T) {
	l := dataset.Labels{DRGrade: ip(3), ReferableDR: bp(true), Glaucoma: bp(false), CDR: fp(0.62)}
	for k, want := range map[Kind]string{KindLabelDR: "ICDR grade 3: severe", KindLabelGlauc: "No:", KindLabelCDR: "0.62"} {
		if got := labelAnswer(k, l); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q in it", k, got, want)
		}
	}
	if got := labelAnswer(KindLabelDME, l); got != "" {
		t.Errorf("DME not labelled, answer %q", got)
	}
	if got := labelAnswer(KindLabelDR, dataset.Labels{}); got != "" {
		t.Errorf("no labels, DR answer %q", got)
	}
}

// VerifyReport is the loose whole-report check left for built files.
func TestVerifyReport(t *testing.T) {
	rep := sampleReport(t)
	l := dataset.Labels{DRGrade: ip(2)}
	if bad := VerifyReport("vessel density 0.0642, grade 2, width 4.82 px, sample IDRiD_55", rep, l); len(bad) > 0 {
		t.Errorf("grounded numbers flagged: %v", bad)
	}
	if bad := VerifyReport("vessel density 0.0777 and CDR 0.913", rep, l); !reflect.DeepEqual(bad, []string{"0.0777", "0.913"}) {
		t.Errorf("invented numbers: flagged %v", bad)
	}
	// A percentage the Report's own text wrote, and a schema version.
	rep.Warnings = append(rep.Warnings, "74% of the labelled vessel pixels are arteries, where manual labellings give 34-56%")
	if bad := VerifyReport("Warnings: 74% of the labelled vessel pixels are arteries, where manual labellings give 34-56%; schema 1.7.0", rep, l); len(bad) > 0 {
		t.Errorf("warning text flagged: %v", bad)
	}
	if bad := VerifyReport("75% of the pixels", rep, l); len(bad) != 1 {
		t.Errorf("75%% not flagged: %v", bad)
	}
}

var numberRE = regexp.MustCompile(`\d+(?:\.\d+)?`)

func TestSamplesValidate(t *testing.T) {
	rep := sampleReport(t)
	l := dataset.Labels{DRGrade: ip(2), ReferableDR: bp(true), DMERisk: ip(1), DME: bp(true)}
	for _, h := range []string{hashA, hashB} {
		c1, err := Stage1(context.Background(), "idrid/x", "idrid/x.jpg", h, rep, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := c1.Sample.Validate(1, 1); err != nil {
			t.Error(err)
		}
		c2, err := Stage2(context.Background(), "idrid/x", "idrid/x.jpg", h, rep, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := c2.Sample.Validate(3, 6); err != nil {
			t.Error(err)
		}
		if !strings.HasPrefix(c2.Sample.Conversations[0].Value, ImageToken+"\n") {
			t.Errorf("first human turn %q does not start with the image token", c2.Sample.Conversations[0].Value)
		}
		again, _ := Stage2(context.Background(), "idrid/x", "idrid/x.jpg", h, rep, l)
		if !reflect.DeepEqual(again, c2) {
			t.Error("Stage2 is not deterministic")
		}
	}
	bad := Sample{ID: "a", Image: "a.png", Conversations: []Message{{FromHuman, "hi"}, {FromGPT, "x " + ImageToken}}}
	if bad.Validate(1, 1) == nil {
		t.Error("no image token in the first turn, one in a gpt turn: valid")
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := []Sample{{ID: "d/1", Image: "d/1.png", Conversations: []Message{{FromHuman, ImageToken + "\nWhat <is> this & that?"}, {FromGPT, "A fundus photo."}}}}
	p := filepath.Join(dir, "s.json")
	if err := WriteJSON(p, in); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !bytes.Contains(b, []byte(`"<image>\nWhat <is> this & that?"`)) || !bytes.Contains(b, []byte(`"from": "human"`)) {
		t.Errorf("LLaVA JSON escapes or renames: %s", b)
	}
	var out []Sample
	if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: %v %+v", err, out)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
}
