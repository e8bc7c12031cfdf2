package instruct

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

func lesionReport(t *testing.T) *report.Report {
	t.Helper()
	rep := testReports(t)["future_report.json"]
	if rep.Lesions == nil || len(rep.Lesions.Types) == 0 {
		t.Fatal("future_report.json has no lesions section")
	}
	return rep
}

// A Report with a lesions section is always asked about lesions; one
// without (the default build) never, and its plan is unchanged.
func TestPlanLesions(t *testing.T) {
	with := lesionReport(t)
	without := sampleReport(t)
	if without.Lesions != nil {
		t.Fatal("sample_report.json has lesions")
	}
	l := dataset.Labels{DRGrade: ip(2), DME: bp(false)}
	kw, kwo := Available(with, l), Available(without, l)
	if !slices.Contains(kw, KindLesions) || slices.Contains(kwo, KindLesions) {
		t.Fatalf("available with lesions %v, without %v", kw, kwo)
	}
	for i := range 64 {
		h := strings.Repeat("a", 62) + string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16])
		chosen, spare := Plan(h, kw)
		var got []Kind
		for _, q := range chosen {
			got = append(got, q.Kind)
		}
		if !slices.Contains(got, KindLesions) {
			t.Errorf("hash %s: no lesion question in %v", h, got)
		}
		if len(chosen) < 3 || len(chosen) > 6 {
			t.Errorf("hash %s: %d questions", h, len(chosen))
		}
		for _, q := range append(chosen, spare...) {
			if q.Kind == KindLesions && !slices.Contains(bank[KindLesions], q.Text) {
				t.Errorf("lesion question %q not from the bank", q.Text)
			}
		}
		c2, _ := Plan(h, kwo)
		for _, q := range c2 {
			if q.Kind == KindLesions {
				t.Errorf("hash %s: lesion question without a lesions section", h)
			}
		}
	}
}

var boxRE = regexp.MustCompile(`\[(\d\.\d{1,4}), (\d\.\d{1,4}), (\d\.\d{1,4}), (\d\.\d{1,4})\]`)

// Every lesion phrasing over a Report with lesions: the answer gives the
// boxes in RetinalGPT's normalized format (at most 4 decimals, within
// 0..1) and the quadrants in words, and Verify finds every number.
func TestLesionAnswersVerify(t *testing.T) {
	rep := lesionReport(t)
	ctx := context.Background()
	for _, q := range bank[KindLesions] {
		s, err := assistant.NewSession(nil, rep)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Ask(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(a.Text, "[x_min, y_min, x_max, y_max]") || len(boxRE.FindAllString(a.Text, -1)) == 0 {
			t.Errorf("%q: no normalized boxes:\n%s", q, a.Text)
		}
		if !regexp.MustCompile(`(superior|inferior) (temporal|nasal)`).MatchString(a.Text) {
			t.Errorf("%q: no quadrants in words:\n%s", q, a.Text)
		}
		if bad := Verify(a.Text, a.Grounded); len(bad) > 0 {
			t.Errorf("%q: Verify flags %v:\n%s", q, bad, a.Text)
		}
	}
	// In a built conversation the lesion turn survives verification.
	for _, h := range []string{hashA, hashB} {
		c, err := Stage2(ctx, "x/1", "x/1.png", h, rep, dataset.Labels{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(c.Kinds, KindLesions) || len(c.Dropped) > 0 {
			t.Errorf("stage 2 kinds %v, dropped %v", c.Kinds, c.Dropped)
		}
	}
}

// --lesions is part of the build's identity: a journal written without it
// is refused by a build with it (and the other way round), and the two
// never share cached Reports.
func TestLesionsBuildIdentity(t *testing.T) {
	root := driveTree(t, 2)
	var calls atomic.Int64
	plain := sampleReport(t)
	withL := lesionReport(t)
	cfg := baseConfig(t, root, t.TempDir(), fakeAnalyze(plain, &calls, 0))
	cfg.Cache = t.TempDir()
	m, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Lesions || m.QuestionKinds[KindLesions] != 0 || len(m.NotDone) == 0 {
		t.Errorf("build without --lesions: lesions %v, %d lesion turns, not done %v", m.Lesions, m.QuestionKinds[KindLesions], m.NotDone)
	}
	cfg.Lesions = true
	cfg.Analyze = fakeAnalyze(withL, &calls, 0)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "another build") {
		t.Errorf("--lesions over a journal without it: %v", err)
	}
	// A fresh folder with the same cache analyses again (the cached
	// Reports have no lesions) and asks about lesions in every sample.
	calls.Store(0)
	cfg.Out = t.TempDir()
	m, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 || m.Datasets["drive"].FromCache != 0 {
		t.Errorf("--lesions build reused Reports cached without lesions: %d analyses, %d from cache", calls.Load(), m.Datasets["drive"].FromCache)
	}
	if !m.Lesions || m.QuestionKinds[KindLesions] != m.Stage2Samples || m.Stage2Samples == 0 || len(m.NotDone) != 0 {
		t.Errorf("--lesions build: lesions %v, %d lesion turns in %d samples, not done %v", m.Lesions, m.QuestionKinds[KindLesions], m.Stage2Samples, m.NotDone)
	}
	for _, e := range mustGlob(t, filepath.Join(cfg.Cache, "*.json")) {
		if !strings.HasSuffix(e, "-lesions.json") {
			continue
		}
		if _, err := os.Stat(strings.TrimSuffix(e, "-lesions.json") + ".json"); err != nil {
			t.Errorf("%s without its plain twin", e)
		}
	}
	validateLLaVA(t, cfg.Out)
	// And back: a build without --lesions in the --lesions folder is refused.
	cfg.Lesions = false
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "--lesions") {
		t.Errorf("no --lesions over a --lesions journal: %v", err)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("%s: %v %v", pattern, m, err)
	}
	return m
}

// A record whose conversations failed (kind "conversation") is tried
// again on resume, so a fixed binary with the same version string does
// not keep the stale failure; a bad image is not.
func TestResumeRetriesConversation(t *testing.T) {
	root := driveTree(t, 2)
	var calls atomic.Int64
	empty := &report.Report{SchemaVersion: report.SchemaVersion}
	cfg := baseConfig(t, root, t.TempDir(), fakeAnalyze(empty, &calls, 0))
	m, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	conv := 0
	for _, f := range m.Failures {
		if f.Kind == "conversation" {
			conv++
		}
	}
	if conv == 0 {
		t.Fatalf("an empty Report gave no conversation failure: %+v", m.Failures)
	}
	calls.Store(0)
	cfg.Analyze = fakeAnalyze(sampleReport(t), &calls, 0)
	m, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Failures {
		if f.Kind == "conversation" {
			t.Errorf("conversation failure kept on resume: %+v", f)
		}
	}
	// The conversation failures and the corrupt photo (kept: bad_image,
	// never re-analysed) — so calls = conversation failures only.
	if int(calls.Load()) != conv {
		t.Errorf("resume analysed %d photos, want the %d conversation failures", calls.Load(), conv)
	}
}
