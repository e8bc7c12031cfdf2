package eval

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// writeQualitySet writes a folder in the eye_diseases_4class layout: one
// small PNG per row, whose red level the fake gate below reads back.
func writeQualitySet(t *testing.T, rows []string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "images", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	lines := []string{"image,folder_label,source_by_filename,eyeq_quality"}
	for i, r := range rows {
		// r is "GRADE,SOURCE,RED" with GRADE possibly empty.
		f := strings.Split(r, ",")
		name := filepath.Join("images", "x", string(rune('a'+i))+".png")
		img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
		red := map[string]uint8{"good": 10, "usable": 120, "reject": 230, "nonfundus": 255}[f[2]]
		for y := range 4 {
			for x := range 4 {
				img.SetNRGBA(x, y, color.NRGBA{red, 0, 0, 255})
			}
		}
		out, err := os.Create(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(out, img); err != nil {
			t.Fatal(err)
		}
		out.Close()
		lines = append(lines, name+",dr,"+f[1]+","+f[0])
	}
	if err := os.WriteFile(filepath.Join(root, "labels.csv"), []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// fakeGate grades by the red level: 10 good, 120 usable, 230 reject, 255
// not a fundus photograph; the reject score rises with the red level.
func fakeGate(_ context.Context, img *fundus.Image) (QualityVerdict, error) {
	r := img.Pix.Pix[0]
	v := QualityVerdict{IsFundus: r != 255, RejectScore: float64(r) / 255, NotGoodScore: float64(r) / 255}
	switch {
	case r >= 230:
		v.Grade = 2
	case r >= 120:
		v.Grade = 1
	}
	if !v.IsFundus {
		v.Reasons = []string{"red"}
	}
	return v, nil
}

func TestEvalQuality(t *testing.T) {
	root := writeQualitySet(t, []string{
		"0,eyepacs,good", "0,eyepacs,good", "0,eyepacs,usable",
		"1,eyepacs,usable", "1,eyepacs,reject",
		"2,eyepacs,reject", "2,eyepacs,nonfundus",
		",odir5k,good", ",odir5k,nonfundus",
	})
	samples, err := OpenQualitySet(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 9 || samples[7].Grade != -1 || samples[0].Source != "eyepacs" {
		t.Fatalf("samples %+v", samples)
	}
	calls := 0
	rep, err := EvalQuality(context.Background(), root, samples, fakeGate, 3, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 9 {
		t.Errorf("progress called %d times", calls)
	}
	wantConf := [3][3]int{{2, 1, 0}, {0, 1, 1}, {0, 0, 2}}
	if rep.Images != 9 || rep.Graded != 7 || rep.Confusion != wantConf {
		t.Fatalf("images %d graded %d confusion %v, want %v", rep.Images, rep.Graded, rep.Confusion, wantConf)
	}
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-9 }
	if !near(rep.Accuracy, 5.0/7) || !near(rep.Recall[0], 2.0/3) || !near(rep.Recall[1], 0.5) || !near(rep.Recall[2], 1) {
		t.Errorf("accuracy %v recall %v %v %v", *rep.Accuracy, *rep.Recall[0], *rep.Recall[1], *rep.Recall[2])
	}
	// Reject scores: rejects 230, 255 above all five others (10, 10,
	// 120, 120, 230): 9.5 of 10 pairs (230 ties with 230).
	if !near(rep.RejectAUC, 9.5/10) {
		t.Errorf("reject AUC %v, want 0.95", *rep.RejectAUC)
	}
	if rep.Modality.NotFundus != 2 || !near(&rep.Modality.Rate, 2.0/9) || len(rep.Refused) != 2 {
		t.Errorf("modality %+v, refused %+v", rep.Modality, rep.Refused)
	}
	if len(rep.BySource) != 2 || rep.BySource[0].Source != "eyepacs" || rep.BySource[0].NotFundus != 1 || rep.BySource[1].Images != 2 {
		t.Errorf("by source %+v", rep.BySource)
	}
	if rep.Refused[0].Grade == nil || *rep.Refused[0].Grade != 2 || rep.Refused[1].Grade != nil {
		t.Errorf("refused %+v", rep.Refused)
	}
}

// Without graded photos the figures that need them are absent (null in
// JSON), not NaN.
func TestEvalQualityUngraded(t *testing.T) {
	root := writeQualitySet(t, []string{",a,good", ",b,usable"})
	samples, err := OpenQualitySet(root)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := EvalQuality(context.Background(), root, samples, fakeGate, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy != nil || rep.RejectAUC != nil || rep.Recall[0] != nil || rep.Graded != 0 || rep.Modality.Images != 2 {
		t.Errorf("%+v", rep)
	}
}

func TestEvalQualityErrors(t *testing.T) {
	root := writeQualitySet(t, []string{"0,a,good", "1,a,usable"})
	samples, _ := OpenQualitySet(root)
	boom := errors.New("boom")
	_, err := EvalQuality(context.Background(), root, samples, func(context.Context, *fundus.Image) (QualityVerdict, error) {
		return QualityVerdict{}, boom
	}, 1, nil)
	if !errors.Is(err, boom) {
		t.Errorf("gate error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := EvalQuality(ctx, root, samples, fakeGate, 1, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	missing := append(samples, QualitySample{Image: filepath.Join(root, "nope.png"), Name: "nope.png", Grade: 0})
	if _, err := EvalQuality(context.Background(), root, missing, fakeGate, 1, nil); err == nil || !strings.Contains(err.Error(), "nope.png") {
		t.Errorf("missing photo: %v", err)
	}
}

func TestOpenQualitySetErrors(t *testing.T) {
	if _, err := OpenQualitySet(t.TempDir()); err == nil {
		t.Error("missing labels.csv accepted")
	}
	for _, tc := range []struct{ name, csv string }{
		{"no grade column", "image,label\na.png,x\n"},
		{"bad grade", "image,eyeq_quality\na.png,3\n"},
		{"no rows", "image,eyeq_quality\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(tc.csv), 0o644)
			if _, err := OpenQualitySet(dir); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
