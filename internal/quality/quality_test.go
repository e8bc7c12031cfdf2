package quality

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

func samplePhoto(t testing.TB) *fundus.Image {
	t.Helper()
	img, err := fundus.Decode(bytes.NewReader(sample.Photo()), sample.Name, fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestGradeText(t *testing.T) {
	for _, g := range []Grade{Good, Usable, Reject} {
		b, err := g.MarshalText()
		if err != nil || string(b) != g.String() {
			t.Fatalf("%d: %q, %v", g, b, err)
		}
		var back Grade
		if err := back.UnmarshalText(b); err != nil || back != g {
			t.Errorf("%q read back as %v, %v", b, back, err)
		}
	}
	if _, err := Grade(3).MarshalText(); err == nil {
		t.Error("grade 3 marshalled")
	}
	var g Grade
	if err := g.UnmarshalText([]byte("fine")); err == nil {
		t.Error(`"fine" read as a grade`)
	}
}

func TestAssessWithoutFieldOfView(t *testing.T) {
	tests := []struct {
		name   string
		img    image.Image
		fovErr error
		want   string // in the reasons
	}{
		{"nil image", nil, nil, "empty image"},
		{"empty bounds", image.NewNRGBA(image.Rect(0, 0, 0, 0)), nil, "empty image"},
		{"DetectFOV failed", uniformImage(rgb(90, 90, 90)), fmt.Errorf("detect field of view: %w: background is neither dark nor white", fundus.ErrNoFOV), "background is neither dark nor white"},
		{"zero radius without an error", uniformImage(rgb(90, 90, 90)), nil, "zero radius"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(tc.img, fundus.FOV{}, tc.fovErr, Options{})
			if a.Modality.IsFundus || a.Modality.Score != 0 || a.Quality.Grade != Reject || a.Accept() {
				t.Fatalf("%+v", a)
			}
			all := strings.Join(append(a.Modality.Reasons, a.Quality.Reasons...), "; ")
			if !strings.Contains(all, tc.want) || !strings.Contains(all, "not a colour fundus photograph") {
				t.Errorf("reasons %q lack %q", all, tc.want)
			}
			if err := a.Err(); !errors.Is(err, ErrNotFundus) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Err() = %v", err)
			}
		})
	}
}

// The sample is a good photo; the landmark options cap its grade.
func TestLandmarkOptions(t *testing.T) {
	img := samplePhoto(t)
	yes, no := true, false
	tests := []struct {
		name          string
		disc, fovea   *bool
		want          Grade
		wantCriterion int // landmark criteria listed
		wantReason    string
	}{
		{"not looked for", nil, nil, Good, 0, ""},
		{"both found", &yes, &yes, Good, 2, ""},
		{"disc missing", &no, &yes, Usable, 2, "optic disc not found"},
		{"fovea missing", &yes, &no, Usable, 2, "fovea not found"},
		{"fovea missing, disc not looked for", nil, &no, Usable, 1, "fovea not found"},
		{"both missing", &no, &no, Reject, 2, "neither the optic disc nor the fovea"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Check(img, Options{DiscFound: tc.disc, FoveaFound: tc.fovea})
			// Regrading the landmark-free verdict must give the same answer
			// without reading the pixels again.
			// (%v, not DeepEqual: criteria without a limit hold NaN.)
			r := Check(img, Options{}).Regrade(Options{DiscFound: tc.disc, FoveaFound: tc.fovea})
			if got, want := fmt.Sprintf("%+v %+v", r.Modality, r.Quality), fmt.Sprintf("%+v %+v", a.Modality, a.Quality); got != want {
				t.Errorf("Regrade:\n%s\nwant\n%s", got, want)
			}
			if a.Quality.Grade != tc.want {
				t.Errorf("grade %v, want %v (%q)", a.Quality.Grade, tc.want, a.Quality.Reasons)
			}
			n := 0
			for _, c := range a.Quality.Criteria {
				if strings.HasSuffix(c.Name, "_visible") {
					n++
				}
			}
			if n != tc.wantCriterion {
				t.Errorf("%d landmark criteria, want %d", n, tc.wantCriterion)
			}
			if got := strings.Join(a.Quality.Reasons, "; "); !strings.Contains(got, tc.wantReason) || (tc.wantReason == "") != (got == "") {
				t.Errorf("reasons %q, want %q", got, tc.wantReason)
			}
		})
	}
}

func TestAssessmentJSON(t *testing.T) {
	for _, a := range []Assessment{Check(samplePhoto(t), Options{}), assessNRGBA(textPage(1)), assessNRGBA(face(true))} {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var back struct {
			Modality struct {
				IsFundus bool     `json:"is_fundus"`
				Score    float64  `json:"score"`
				Reasons  []string `json:"reasons"`
				Criteria []struct {
					Name   string   `json:"name"`
					Value  *float64 `json:"value"`
					Reject *float64 `json:"reject_limit"`
					Grade  string   `json:"grade"`
				} `json:"criteria"`
			} `json:"modality"`
			Quality struct {
				Grade         string     `json:"grade"`
				Probabilities [3]float64 `json:"probabilities"`
				Criteria      []struct {
					Name   string   `json:"name"`
					Usable *float64 `json:"usable_limit"`
				} `json:"criteria"`
			} `json:"quality"`
		}
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if back.Modality.IsFundus != a.Modality.IsFundus || back.Quality.Grade != a.Quality.Grade.String() ||
			len(back.Modality.Criteria) != len(a.Modality.Criteria) || len(back.Quality.Criteria) != len(a.Quality.Criteria) {
			t.Errorf("round trip lost data:\n%s", b)
		}
		for i, c := range a.Quality.Criteria {
			if math.IsNaN(c.Usable) != (back.Quality.Criteria[i].Usable == nil) {
				t.Errorf("%s: usable limit %v written as %v", c.Name, c.Usable, back.Quality.Criteria[i].Usable)
			}
		}
	}
}

// The decoder's own types give the same verdict as NRGBA.
func TestImageTypes(t *testing.T) {
	ycc, err := jpeg.Decode(bytes.NewReader(sample.Photo()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ycc.(*image.YCbCr); !ok {
		t.Fatalf("sample decodes to %T", ycc)
	}
	img := samplePhoto(t)
	fov, err := fundus.DetectFOV(img.Pix)
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(img.Pix.Rect)
	copy(rgba.Pix, img.Pix.Pix) // opaque: the same bytes
	want := Assess(img.Pix, fov, nil, Options{})
	for name, src := range map[string]image.Image{"YCbCr": ycc, "RGBA": rgba, "generic": struct{ image.Image }{img.Pix}} {
		got := Assess(src, fov, nil, Options{})
		if got.Quality.Grade != want.Quality.Grade || got.Modality.IsFundus != want.Modality.IsFundus {
			t.Errorf("%s: %v/%v, NRGBA %v/%v", name, got.Modality.IsFundus, got.Quality.Grade, want.Modality.IsFundus, want.Quality.Grade)
		}
		if d := math.Abs(got.Quality.RejectScore - want.Quality.RejectScore); d > 0.02 {
			t.Errorf("%s: reject score %.4f, NRGBA %.4f", name, got.Quality.RejectScore, want.Quality.RejectScore)
		}
	}
}

// Score and IsFundus agree; probabilities sum to one; a non-good grade
// always says why.
func TestVerdictConsistency(t *testing.T) {
	imgs := []*image.NRGBA{samplePhoto(t).Pix}
	for _, c := range nonFundusCases() {
		imgs = append(imgs, c.img)
	}
	for i, img := range imgs {
		a := assessNRGBA(img)
		if a.Modality.IsFundus != (a.Modality.Score >= 0.5) {
			t.Errorf("%d: is fundus %v with score %.3f", i, a.Modality.IsFundus, a.Modality.Score)
		}
		p := a.Quality.Probabilities
		if s := p[0] + p[1] + p[2]; math.Abs(s-1) > 1e-9 {
			t.Errorf("%d: probabilities %v sum to %g", i, p, s)
		}
		if a.Quality.Grade != Good && len(a.Quality.Reasons) == 0 {
			t.Errorf("%d: grade %v without reasons", i, a.Quality.Grade)
		}
		if a.Accept() != (a.Modality.IsFundus && a.Quality.Grade != Reject) {
			t.Errorf("%d: Accept %v", i, a.Accept())
		}
		if (a.Err() == nil) != a.Modality.IsFundus {
			t.Errorf("%d: Err %v with is fundus %v", i, a.Err(), a.Modality.IsFundus)
		}
	}
}

func TestModelCurrent(t *testing.T) {
	if !modelCurrent {
		t.Fatal("model_fit.go does not match the terms in grade.go; rerun TestCalibrate -calibrate")
	}
	for _, v := range [][]float64{fitted.mean, fitted.scale, fitted.cap, fitted.reject, fitted.notGood} {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("non-finite constant in model_fit.go: %v", v)
			}
		}
	}
	// The sign constraints: a worse value may only raise P(reject) and
	// P(not good).
	for j, tm := range terms {
		for _, w := range []float64{fitted.reject[j], fitted.notGood[j]} {
			if (tm.higher && w > 0) || (!tm.higher && w < 0) {
				t.Errorf("%s: weight %g has the wrong sign", tm.name, w)
			}
		}
	}
}

// realPhotos lists the shared good-quality photographs: every DRIVE,
// CHASE_DB1, Drishti-GS1, IDRiD segmentation and IDRiD grading photo.
func realPhotos(t *testing.T) map[string][]string {
	t.Helper()
	root := datasetDir(t)
	sets := map[string][]string{}
	for name, pattern := range map[string]string{
		"DRIVE":              "drive/*/images/*.tif",
		"CHASE_DB1":          "chase_db1/images/*.jpg",
		"Drishti-GS1":        "drishti_gs1/images/*.jpg",
		"IDRiD segmentation": "idrid/segmentation/images/*.jpg",
		"IDRiD grading":      "idrid/grading/images/*.jpg",
	} {
		files, _ := filepath.Glob(filepath.Join(root, pattern))
		if len(files) > 0 {
			sets[name] = files
		}
	}
	return sets
}

// Real fundus photographs pass the modality check, and almost all pass
// the gate. The targets: at most 2% of good-quality photos
// rejected.
func TestRealPhotosPass(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 550 photos")
	}
	sets := realPhotos(t)
	total, notFundus, rejected := 0, 0, 0
	for name, files := range sets {
		res := make([]Assessment, len(files))
		errs := make([]error, len(files))
		var wg sync.WaitGroup
		next := make(chan int)
		for range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					img, err := fundus.Load(files[i], fundus.Limits{})
					if err != nil {
						errs[i] = err
						continue
					}
					res[i] = Check(img, Options{})
				}
			}()
		}
		for i := range files {
			next <- i
		}
		close(next)
		wg.Wait()
		nf, rj := 0, 0
		for i, a := range res {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !a.Modality.IsFundus {
				nf++
				t.Errorf("%s: refused as not fundus: %q", filepath.Base(files[i]), a.Modality.Reasons)
			}
			if a.Quality.Grade == Reject {
				rj++
				t.Logf("%s: graded reject: %q", filepath.Base(files[i]), a.Quality.Reasons)
			}
		}
		t.Logf("%s: %d photos, %d not fundus, %d rejected", name, len(files), nf, rj)
		total, notFundus, rejected = total+len(files), notFundus+nf, rejected+rj
	}
	t.Logf("all: %d photos, %d not fundus (%.1f%%), %d rejected by the gate (%.1f%%)",
		total, notFundus, 100*float64(notFundus)/float64(total), rejected, 100*float64(rejected)/float64(total))
	if float64(rejected) > 0.02*float64(total) {
		t.Errorf("%d of %d good-quality photos rejected (> 2%%)", rejected, total)
	}
}
