package eval

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// exactAP is the training script's average_precision: scores sorted
// descending, ties grouped, sum of recall gain times precision.
func exactAP(p []float32, t []bool) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return 0
	})
	npos := 0
	for _, v := range t {
		if v {
			npos++
		}
	}
	var ap float64
	tp, fp := 0, 0
	for i := 0; i < len(idx); {
		j := i
		gain := 0
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			if t[idx[j]] {
				tp++
				gain++
			} else {
				fp++
			}
			j++
		}
		ap += float64(gain) / float64(npos) * float64(tp) / float64(tp+fp)
		i = j
	}
	return ap
}

func TestAveragePrecision(t *testing.T) {
	// A hand-checked case: scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1
	// (neg): AP = 0.5 x 1 + 0.5 x 2/3.
	h := newAPHistogram()
	for i, p := range []float32{0.9, 0.8, 0.7, 0.1} {
		h.add(p, i%2 == 0)
	}
	if ap, ok := h.averagePrecision(); !ok || math.Abs(ap-(0.5+1.0/3)) > 1e-12 {
		t.Errorf("AP %v, want %v", ap, 0.5+1.0/3)
	}
	if _, ok := newAPHistogram().averagePrecision(); ok {
		t.Error("AP without positives")
	}
	// Against the exact computation on many scores, spread as a model's
	// are (mostly near 0): binning changes it by less than 1e-3.
	r := rand.New(rand.NewPCG(3, 4))
	n := 200000
	p := make([]float32, n)
	tr := make([]bool, n)
	h = newAPHistogram()
	for i := range n {
		tr[i] = r.Float64() < 0.02
		z := r.NormFloat64()*2 - 6
		if tr[i] {
			z += 5
		}
		p[i] = float32(1 / (1 + math.Exp(-z)))
		h.add(p[i], tr[i])
	}
	got, _ := h.averagePrecision()
	want := exactAP(p, tr)
	if math.Abs(got-want) > 1e-3 {
		t.Errorf("histogram AP %.5f, exact %.5f", got, want)
	}
}

func TestPoolOntoGrid(t *testing.T) {
	// A 6x4 mask onto a grid of half the size: 2x2 max-pooling.
	mask := make([]bool, 6*4)
	mask[1*6+3] = true // (3, 1) → grid (1, 0)
	mask[3*6+0] = true // (0, 3) → grid (0, 1)
	m := &LesionMaps{Width: 3, Height: 2, Scale: 2}
	out := make([]bool, 6)
	poolOntoGrid(mask, 6, 4, m, out)
	if want := []bool{false, true, false, true, false, false}; !slices.Equal(out, want) {
		t.Errorf("k=2: %v, want %v", out, want)
	}
	// A grid twice as fine, offset by one original pixel: pixel (3, 1)
	// covers grid [4, 6) x [2, 4).
	m = &LesionMaps{Width: 12, Height: 8, Scale: 0.5, OffsetX: 1}
	out = make([]bool, 12*8)
	poolOntoGrid(mask[:6*2], 6, 2, m, out)
	var set []int
	for i, v := range out {
		if v {
			set = append(set, i)
		}
	}
	if want := []int{28, 29, 40, 41}; !slices.Equal(set, want) {
		t.Errorf("scale 0.5: %v, want %v", set, want)
	}
}

func TestScoreLesionType(t *testing.T) {
	// 8x3 grid. Truth: objects at columns 0-1 and 5 (row 1). Prediction:
	// (1,1) (hits the first), (3,1) and (7,0)-(7,1) (two false objects);
	// column 5 missed.
	w, h := 8, 3
	truth := make([]bool, w*h)
	prob := make([]float32, w*h)
	fov := make([]bool, w*h)
	for i := range fov {
		fov[i] = true
	}
	truth[1*w+0], truth[1*w+1], truth[1*w+5] = true, true, true
	prob[1*w+1], prob[1*w+3], prob[0*w+7], prob[1*w+7] = 0.9, 0.6, 0.7, 0.8
	prob[2*w+2] = 0.9 // outside the FOV: ignored
	fov[2*w+2] = false
	sc := &LesionTypeScores{hist: newAPHistogram()}
	c := scoreLesionType(sc, prob, truth, fov, w, h, 0.5)
	if c != (LesionImageCounts{GT: 2, Hit: 1, FP: 2, Pred: 3}) {
		t.Errorf("counts %+v", c)
	}
	if sc.tp != 1 || sc.fp != 3 || sc.fn != 2 || sc.PositivePx != 3 {
		t.Errorf("pixels tp %d fp %d fn %d pos %d", sc.tp, sc.fp, sc.fn, sc.PositivePx)
	}
}

func writeMask(t *testing.T, path string, w, h int, set ...image.Point) {
	t.Helper()
	g := image.NewGray(image.Rect(0, 0, w, h))
	for _, p := range set {
		g.SetGray(p.X, p.Y, color.Gray{255})
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, g); err != nil {
		t.Fatal(err)
	}
}

// The whole evaluation on two tiny photos with a model that is right about
// one photo and wrong about the other.
func TestEvalLesions(t *testing.T) {
	root := t.TempDir()
	writeMask(t, filepath.Join(root, "images", "a.png"), 8, 8)
	writeMask(t, filepath.Join(root, "images", "b.png"), 8, 8)
	writeMask(t, filepath.Join(root, "EX", "a_EX.png"), 8, 8, image.Pt(2, 2), image.Pt(3, 2))
	writeMask(t, filepath.Join(root, "HE", "b_HE.png"), 8, 8, image.Pt(6, 6))
	samples, err := OpenLesionSet(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 || samples[0].ID != "a" || samples[0].Masks[2] == "" || samples[0].Masks[1] != "" || samples[1].Masks[1] == "" {
		t.Fatalf("samples %+v", samples)
	}
	// The model sees a 4x4 grid (scale 2): EX at grid (1,1) in a, HE at
	// grid (0,0) in b (the truth is at grid (3,3)).
	maps := func(_ context.Context, img *fundus.Image) (*LesionMaps, error) {
		m := &LesionMaps{Width: 4, Height: 4, Scale: 2, InFOV: make([]bool, 16), Thresholds: [4]float64{0.5, 0.5, 0.5, 0.5}}
		for i := range m.InFOV {
			m.InFOV[i] = true
		}
		for t := range m.Prob {
			m.Prob[t] = make([]float32, 16)
		}
		if filepath.Base(img.Name) == "a.png" {
			m.Prob[2][1*4+1] = 0.9
		} else {
			m.Prob[1][0] = 0.8
			m.Prob[1][15] = 0.3 // the truth, below threshold
		}
		return m, nil
	}
	rep, err := EvalLesions(context.Background(), root, samples, maps, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex, he, ma := rep.Types.EX, rep.Types.HE, rep.Types.MA
	if ex.AUPR == nil || *ex.AUPR != 1 || *ex.ObjectSensitivity != 1 || ex.FPPerImage != 0 || *ex.PixelDice != 1 {
		t.Errorf("EX %s", show(ex))
	}
	// HE: one positive grid pixel, ranked second of 32 (0.8 negative
	// first): AP 1/2; its object missed; one false object in two photos.
	if he.AUPR == nil || *he.AUPR != 0.5 || *he.ObjectSensitivity != 0 || he.FPPerImage != 0.5 || he.GTObjects != 1 {
		t.Errorf("HE %s", show(he))
	}
	if ma.AUPR != nil || ma.ObjectSensitivity != nil || ma.FPPerImage != 0 {
		t.Errorf("MA %s", show(ma))
	}
	if rep.N != 2 || len(rep.Images) != 2 || rep.Images[1].Counts.HE != (LesionImageCounts{GT: 1, FP: 1, Pred: 1}) {
		t.Errorf("report: %d, %+v", rep.N, rep.Images)
	}
	if _, err := OpenLesionSet(t.TempDir()); err == nil {
		t.Error("no images/: no error")
	}
}

func show(s *LesionTypeScores) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestOpenBoxSet(t *testing.T) {
	dir := t.TempDir()
	csv := "image,label,x_min,y_min,x_max,y_max\n" +
		"b.jpg,optic_disc,1,1,5,5\n" +
		"b.jpg,haemorrhage,10,10,20,20\n" +
		"a.jpg,hard_exudates,1.5,2,3,4\n" +
		"a.jpg,hard_exudates,5,5,6,6\n" +
		"c.jpg,optic_disc,1,1,5,5\n"
	path := filepath.Join(dir, "boxes.csv")
	os.WriteFile(path, []byte(csv), 0o644)
	got, err := OpenBoxSet(path, "imgs")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a" || got[0].Image != filepath.Join("imgs", "a.jpg") || len(got[0].Boxes[2]) != 2 ||
		got[0].Boxes[2][0] != [4]float64{1.5, 2, 3, 4} || len(got[1].Boxes[1]) != 1 || len(got[1].Boxes[2]) != 0 {
		t.Fatalf("boxes %+v", got)
	}
	for name, bad := range map[string]string{
		"no column": "image,label,x_min,y_min,x_max\na.jpg,haemorrhage,1,2,3\n",
		"bad value": "image,label,x_min,y_min,x_max,y_max\na.jpg,haemorrhage,1,x,3,4\n",
		"empty box": "image,label,x_min,y_min,x_max,y_max\na.jpg,haemorrhage,3,2,3,4\n",
		"no lesion": "image,label,x_min,y_min,x_max,y_max\na.jpg,optic_disc,1,2,3,4\n",
	} {
		os.WriteFile(path, []byte(bad), 0o644)
		if _, err := OpenBoxSet(path, dir); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMatchBoxes(t *testing.T) {
	ref := [][4]float64{{0, 0, 10, 10}, {0, 0, 12, 10}, {50, 50, 60, 60}}
	pred := [][4]float64{{1, 0, 11, 10}, {100, 100, 110, 110}}
	sc := &BoxTypeScores{}
	matchBoxes(sc, ref, pred, 0.3)
	// One prediction matches two overlapping references; the third
	// reference and the second prediction are unmatched.
	if sc.RefBoxes != 3 || sc.Matched != 2 || sc.PredBoxes != 2 || sc.PredMatched != 1 {
		t.Errorf("%+v", sc)
	}
	if v := IoU([4]float64{0, 0, 10, 10}, [4]float64{5, 0, 15, 10}); math.Abs(v-1.0/3) > 1e-12 {
		t.Errorf("IoU %v", v)
	}
	if IoU([4]float64{}, [4]float64{}) != 0 {
		t.Error("IoU of empty boxes")
	}
}
