package eval

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

func TestDice(t *testing.T) {
	ref := image.NewGray(image.Rect(0, 0, 10, 10))
	for x := 2; x < 6; x++ {
		ref.SetGray(x, 5, color.Gray{255})
	}
	pred := image.NewGray(image.Rect(4, 3, 12, 8)) // a sub-rectangle, partly beyond the photo
	for x := 4; x < 12; x++ {
		pred.SetGray(x, 5, color.Gray{255})
	}
	// |A| = 8, |B| = 4, |A∩B| = 2 (x = 4, 5).
	if d := dice(pred, ref); math.Abs(d-2*2.0/12) > 1e-12 {
		t.Errorf("dice = %v, want %v", d, 4.0/12)
	}
	if d := dice(nil, ref); d != 0 {
		t.Errorf("empty prediction: dice %v", d)
	}
	if d := dice(nil, image.NewGray(ref.Rect)); d != 1 {
		t.Errorf("both empty: dice %v", d)
	}
}

// writeDiscSet writes a tiny dataset in the Drishti-GS1 layout: n grey
// photos, each with a disc of radius 10 and a cup of radius 2+2i drawn in
// soft maps (the experts disagree at the edge: value 64 there, below the
// 2-of-4 threshold), labelled glaucoma when i is odd.
func writeDiscSet(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"images", "softmaps"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	save := func(path string, img image.Image) {
		f, err := os.Create(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
	}
	soft := func(r float64) *image.Gray {
		m := image.NewGray(image.Rect(0, 0, 64, 48))
		for y := range 48 {
			for x := range 64 {
				switch d := math.Hypot(float64(x)+0.5-32, float64(y)+0.5-24); {
				case d <= r:
					m.SetGray(x, y, color.Gray{255})
				case d <= r+1:
					m.SetGray(x, y, color.Gray{64})
				}
			}
		}
		return m
	}
	csv := []string{"image,label,notching,cdr_expert_values,cdr_mean,disc_center_x,disc_center_y,od_softmap,cup_softmap"}
	for i := range n {
		id := fmt.Sprintf("img_%d", i)
		photo := image.NewNRGBA(image.Rect(0, 0, 64, 48))
		for j := range photo.Pix {
			photo.Pix[j] = 128
		}
		save("images/"+id+".png", photo)
		save("softmaps/"+id+"_OD.png", soft(10))
		save("softmaps/"+id+"_cup.png", soft(2+2*float64(i)))
		label := "normal"
		if i%2 == 1 {
			label = "glaucoma"
		}
		csv = append(csv, fmt.Sprintf("%s.png,%s,,0.5 0.5 0.5 0.5,%.2f,32.0,24.0,softmaps/%s_OD.png,softmaps/%s_cup.png",
			id, label, 0.25+0.2*float64(i), id, id))
	}
	if err := os.WriteFile(filepath.Join(root, "labels.csv"), []byte(strings.Join(csv, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestEvalDisc(t *testing.T) {
	root := writeDiscSet(t, 4)
	set, err := OpenDiscSet("drishti", root)
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 4 || !set[1].Glaucoma || set[0].Glaucoma || set[2].CDRMean != 0.65 || set[0].Centre != (disc.Point{X: 32, Y: 24}) {
		t.Fatalf("set %+v", set)
	}
	// A stand-in pipeline: the reference masks themselves (found) for
	// every photo but the last, which it reports "not found"; the locator
	// 3 px off.
	calls := 0
	fn := func(_ context.Context, img *fundus.Image) (disc.Result, *disc.Segmentation, error) {
		s := set[calls]
		calls++
		lm := disc.Result{Disc: disc.Landmark{Point: disc.Point{X: 35, Y: 24}}}
		if calls == len(set) {
			return lm, &disc.Segmentation{Reason: "low confidence"}, nil
		}
		d, _ := loadRef(s.ODSoftmap, img)
		c, _ := loadRef(s.CupSoftmap, img)
		return lm, &disc.Segmentation{Found: true, Disc: d, Cup: c, Measures: disc.Measure(d, c, disc.EyeUnknown)}, nil
	}
	rep, err := EvalDisc(context.Background(), "drishti", root, set, fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.N != 4 || rep.NotFound != 1 || len(rep.Images) != 4 {
		t.Fatalf("report %+v", rep)
	}
	if rep.DiscDice != 0.75 || *rep.DiscDiceFound != 1 || *rep.CupDiceFound != 1 || rep.Images[3].DiscDice != 0 || rep.Images[3].VCDR != nil {
		t.Errorf("dice %v (found %v), cup %v, last %+v", rep.DiscDice, *rep.DiscDiceFound, *rep.CupDiceFound, rep.Images[3])
	}
	// Cup radii 2, 4, 6 of a radius-10 disc: 20 rows; cups 4, 8, 12 rows.
	for i, want := range []float64{0.2, 0.4, 0.6} {
		im := rep.Images[i]
		if im.VCDR == nil || im.VCDRReference == nil || math.Abs(*im.VCDR-want) > 1e-12 || math.Abs(*im.VCDRReference-want) > 1e-12 {
			t.Errorf("%s: vCDR %v reference %v, want %v", im.ID, im.VCDR, im.VCDRReference, want)
		}
	}
	// Experts' means 0.25, 0.45, 0.65: errors 0.05 each, bias -0.05.
	if math.Abs(*rep.VCDRMAE-0.05) > 1e-9 || math.Abs(*rep.VCDRBias+0.05) > 1e-9 {
		t.Errorf("vCDR MAE %v bias %v, want 0.05 and -0.05", *rep.VCDRMAE, *rep.VCDRBias)
	}
	// Found: normal 0.2, glaucoma 0.4, normal 0.6: AUC 0.5.
	if rep.GlaucomaAUC == nil || *rep.GlaucomaAUC != 0.5 {
		t.Errorf("glaucoma AUC %v, want 0.5", rep.GlaucomaAUC)
	}
	// The locator is 3 px off: 0.3 of the reference radius (~10 px).
	if *rep.LocatorMedianPx != 3 || *rep.LocatorWithinR != 1 || math.Abs(*rep.Images[0].LocatorErrorR-0.3) > 0.02 {
		t.Errorf("locator median %v within %v, r-units %v", *rep.LocatorMedianPx, *rep.LocatorWithinR, *rep.Images[0].LocatorErrorR)
	}
}

func TestOpenDiscSetErrors(t *testing.T) {
	root := writeDiscSet(t, 1)
	if _, err := OpenDiscSet("refuge", root); err == nil {
		t.Error("unknown dataset accepted")
	}
	if _, err := OpenDiscSet("drishti", t.TempDir()); err == nil {
		t.Error("missing labels.csv accepted")
	}
	for _, tc := range []struct{ name, from, to string }{
		{"bad label", ",normal,", ",suspect,"},
		{"bad cdr", ",0.25,", ",x,"},
		{"missing column", "cup_softmap", "cup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(root, "labels.csv")
			b, _ := os.ReadFile(p)
			bad := filepath.Join(t.TempDir(), "labels.csv")
			os.WriteFile(bad, []byte(strings.Replace(string(b), tc.from, tc.to, 1)), 0o644)
			if _, err := OpenDiscSet("drishti", filepath.Dir(bad)); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestEvalDiscIDRiDLayout(t *testing.T) {
	// The Drishti fixture's photos and disc maps, laid out as IDRiD's
	// segmentation set: images/ID.png, OD/ID_OD.png; no cup, no labels.
	src := writeDiscSet(t, 3)
	drishti, err := OpenDiscSet("drishti", src)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, d := range []string{"images", "OD"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cp := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range drishti {
		cp(s.Image, filepath.Join(root, "images", s.ID+".png"))
		cp(s.ODSoftmap, filepath.Join(root, "OD", s.ID+"_OD.png"))
	}
	set, err := OpenDiscSet("idrid", root)
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 3 || set[0].CupSoftmap != "" || set[0].Labelled {
		t.Fatalf("set %+v", set)
	}
	calls := 0
	fn := func(_ context.Context, img *fundus.Image) (disc.Result, *disc.Segmentation, error) {
		s := set[calls]
		calls++
		if calls == len(set) {
			return disc.Result{}, &disc.Segmentation{Reason: "low confidence"}, nil
		}
		d, _ := loadRef(s.ODSoftmap, img)
		return disc.Result{}, &disc.Segmentation{Found: true, Disc: d, Measures: disc.Measure(d, nil, disc.EyeUnknown)}, nil
	}
	rep, err := EvalDisc(context.Background(), "idrid", root, set, fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(rep.DiscDice-2.0/3) > 1e-12 || rep.DiscDiceFound == nil || *rep.DiscDiceFound != 1 || rep.NotFound != 1 {
		t.Errorf("disc Dice %v (found %v), not found %d", rep.DiscDice, rep.DiscDiceFound, rep.NotFound)
	}
	if rep.CupDice != nil || rep.CupDiceFound != nil || rep.VCDRMAE != nil || rep.ReferenceVCDRMAE != nil || rep.GlaucomaAUC != nil || rep.Images[0].CupDice != nil {
		t.Errorf("cup or CDR figures without a cup reference: %+v", rep)
	}
	// A photo without its disc mask is an error, naming the file.
	if err := os.Remove(filepath.Join(root, "OD", set[1].ID+"_OD.png")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDiscSet("idrid", root); err == nil || !strings.Contains(err.Error(), set[1].ID) {
		t.Errorf("missing mask: error %v", err)
	}
}
