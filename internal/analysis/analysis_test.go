package analysis

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
	"github.com/retinalgpt/retinalgpt/internal/quality"
	"github.com/retinalgpt/retinalgpt/internal/synth"
)

func newAnalyzer(t *testing.T) *Analyzer {
	t.Helper()
	an, err := New(Config{Runtime: infer.Config{Threads: 2}, Version: "test"})
	infertest.SkipIfMissing(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { an.Close() })
	return an
}

// A synthetic fundus with known vessels goes through the whole pipeline at
// analysis sizes below, at and above its own size: the field of view must
// be found where it was drawn and the vessel mask, mapped back to original
// pixels, must overlap the drawn vessels. A mapping error of even two
// pixels would collapse the overlap of thin vessels.
func TestAnalyzeSynthetic(t *testing.T) {
	an := newAnalyzer(t)
	f, err := synth.Generate(synth.Spec{Size: 640, Seed: 3, Noise: 2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, f.Image); err != nil {
		t.Fatal(err)
	}
	img, err := fundus.Decode(&buf, "synthetic.png", fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{512, 640, 1024} {
		res, err := an.Analyze(context.Background(), img, Options{Size: size})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		r := res.Report
		if d := math.Hypot(r.FOV.Center.X-f.FOV.X, r.FOV.Center.Y-f.FOV.Y); d > 2 || math.Abs(r.FOV.RadiusPx-f.FOV.R) > 2 {
			t.Errorf("size %d: FOV centre (%.1f,%.1f) r %.1f, drawn (%.1f,%.1f) r %.1f", size,
				r.FOV.Center.X, r.FOV.Center.Y, r.FOV.RadiusPx, f.FOV.X, f.FOV.Y, f.FOV.R)
		}
		var inter, pred, truth int
		for i, v := range res.VesselMask.Pix {
			p, g := v > 0, f.VesselMask.Pix[i] > 0
			if p {
				pred++
			}
			if g {
				truth++
			}
			if p && g {
				inter++
			}
		}
		dice := 2 * float64(inter) / float64(pred+truth)
		t.Logf("size %d: vessel Dice against the drawn tree %.3f (density %.4f)", size, dice, r.Vessels.DensityFOV)
		if dice < minSyntheticDice {
			t.Errorf("size %d: vessel Dice %.3f against the drawn tree, want >= %.2f", size, dice, minSyntheticDice)
		}
		if len(r.Timings) == 0 || r.Image.Width != 640 || r.Analysis.SizePx != size {
			t.Errorf("size %d: report incomplete: %+v", size, r)
		}
		checkDiscStage(t, res)
		checkDiagnoses(t, r)
	}
}

// minSyntheticDice is a floor below what the trained model measures on the
// synthetic tree (see the test log); the synthetic vessels are cleaner than
// real ones but drawn with a profile the model never saw in training.
const minSyntheticDice = 0.7

func TestAnalyzeRejects(t *testing.T) {
	an := newAnalyzer(t)
	black, err := synth.Generate(synth.Spec{Size: 64, Brightness: 0.0001, Vessels: []synth.VesselSpec{}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	png.Encode(&buf, black.Image)
	img, err := fundus.Decode(&buf, "dark.png", fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := an.Analyze(context.Background(), img, Options{}); !errors.Is(err, fundus.ErrNoFOV) || !errors.Is(err, quality.ErrNotFundus) ||
		!strings.HasPrefix(err.Error(), "dark.png: not a colour fundus photograph: ") {
		t.Errorf("an all-dark photo: err = %v, want ErrNoFOV and ErrNotFundus, naming the file", err)
	}
	if _, err := an.Analyze(context.Background(), img, Options{Size: 10}); err == nil {
		t.Error("analysis size 10 accepted")
	}
}

// checkDiscStage checks the disc_cup stage's plumbing whatever the model
// finds: its timing in order, its section, and that the calibration, the
// zones and the overlay masks follow from whether the disc was found.
func checkDiscStage(t *testing.T, res *Result) {
	t.Helper()
	r := res.Report
	var stages []string
	for _, tm := range r.Timings {
		stages = append(stages, tm.Stage)
	}
	if want := []string{"normalize", "quality", "disc_fovea", "disc_cup", "vessels", "av", "biomarkers", "diagnose"}; !slices.Equal(stages, want) {
		t.Errorf("stages %v, want %v", stages, want)
	}
	// The gate's second grading knows whether the disc was found.
	if q := r.Quality; q == nil || q.Gate != "on" || !q.Modality.IsFundus {
		t.Errorf("quality section %+v: want the gate on and a fundus photograph", q)
	} else {
		seen := false
		for _, c := range q.Criteria {
			if c.Name == "optic_disc_visible" {
				seen = true
				if c.Value == nil || (*c.Value == 1) != r.Disc.Found {
					t.Errorf("optic_disc_visible %v, disc found %v", c.Value, r.Disc.Found)
				}
			}
		}
		if !seen {
			t.Error("no optic_disc_visible criterion")
		}
	}
	if r.Disc == nil || res.Disc == nil || !strings.HasPrefix(r.Disc.Model, "disccup@") {
		t.Fatalf("no disc section: %+v", r.Disc)
	}
	found := r.Disc.Found
	t.Logf("disc found %v (%s), confidence %.3f", found, r.Disc.Reason, r.Disc.Confidence)
	if (r.Calibration.Source == "disc_diameter") != found || (r.Disc.Zones != nil) != found ||
		(len(r.Vessels.Zones) > 0 && !found) || (r.Disc.CDR != nil) != found {
		t.Errorf("found %v but calibration %q, zones %v, vessel zones %d, CDR %v", found, r.Calibration.Source, r.Disc.Zones, len(r.Vessels.Zones), r.Disc.CDR)
	}
	if res.Disc.Disc != nil && !res.Disc.Disc.Rect.In(res.Image.Pix.Bounds()) {
		t.Errorf("disc mask %v outside the photo", res.Disc.Disc.Rect)
	}
}
