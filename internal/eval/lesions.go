package eval

// lesions.go scores a diabetic-retinopathy lesion model against a folder
// in the layout of the shared IDRiD lesion segmentation copy
// (ROOT/images/, one binary mask per lesion type in ROOT/MA, HE, EX, SE
// named ID_TYPE.*; a missing mask means no lesion of that type), the way
// train/lesions/train.py scores its cross-validation: on the model's
// working grid, ground-truth masks max-pooled onto it (every grid pixel
// that any marked original pixel overlaps is marked: the training
// script's 2x2 max-pooling on IDRiD originals), over the FOV pixels of all
// images pooled. And it scores lesion boxes against a boxes file in the
// layout of the shared IDRiD grading copy's boxes.csv.
//
// The model comes in as a function returning plain slices (LesionMapsFunc,
// BoxFunc), so this file imports no model package.

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/imgproc"
)

// LesionTypes are the lesion codes, in the order of every [4] array here:
// microaneurysms, haemorrhages, hard exudates, soft exudates.
var LesionTypes = [4]string{"MA", "HE", "EX", "SE"}

// LesionSample is a photo and its lesion masks (an empty path: no lesion
// of that type).
type LesionSample struct {
	ID    string
	Image string
	Masks [4]string
}

// OpenLesionSet lists ROOT/images/ and finds each photo's masks in
// ROOT/MA, ROOT/HE, ROOT/EX and ROOT/SE, named ID_TYPE with any image
// extension (IDRiD: IDRiD_01_MA.png). Type folders may be missing: a
// folder of photos alone (a healthy set) scores false lesions only.
func OpenLesionSet(root string) ([]LesionSample, error) {
	imgDir := filepath.Join(root, "images")
	entries, err := os.ReadDir(imgDir)
	if err != nil {
		return nil, fmt.Errorf("lesion dataset %s: %w", root, err)
	}
	var out []LesionSample
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || !slices.Contains(imageExts, ext) {
			continue
		}
		s := LesionSample{ID: strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())), Image: filepath.Join(imgDir, e.Name())}
		for t, code := range LesionTypes {
			for _, x := range imageExts {
				p := filepath.Join(root, code, s.ID+"_"+code+x)
				if _, err := os.Stat(p); err == nil {
					s.Masks[t] = p
					break
				}
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lesion dataset %s: no photos in images/", root)
	}
	return out, nil
}

// LesionMaps is a model's output for one photo on its working grid.
type LesionMaps struct {
	Width, Height int          // the grid
	Prob          [4][]float32 // per type (LesionTypes order), row-major on the grid, 0..1
	InFOV         []bool       // grid pixels inside the field of view
	Thresholds    [4]float64   // per type, the model's operating threshold
	Scale         float64      // original pixels per grid pixel
	OffsetX       float64      // original = grid*Scale + Offset
	OffsetY       float64      //
}

// LesionMapsFunc runs a lesion model on one photo.
type LesionMapsFunc func(ctx context.Context, img *fundus.Image) (*LesionMaps, error)

// LesionTypeScores are one lesion type's figures.
type LesionTypeScores struct {
	// AUPR is the average precision over the FOV pixels of all images
	// pooled; nil when no image has a pixel of this type.
	AUPR *float64 `json:"aupr"`
	// ObjectSensitivity is the share of ground-truth objects (8-connected
	// components of the pooled mask) touched by a predicted pixel (at the
	// threshold, inside the FOV); nil without ground-truth objects.
	ObjectSensitivity *float64 `json:"object_sensitivity"`
	// FPPerImage is the number of predicted objects touching no
	// ground-truth pixel, per image.
	FPPerImage  float64  `json:"fp_objects_per_image"`
	PixelDice   *float64 `json:"pixel_dice"`
	Threshold   float64  `json:"threshold"`
	GTObjects   int      `json:"gt_objects"`
	HitObjects  int      `json:"hit_objects"`
	FPObjects   int      `json:"fp_objects"`
	PredObjects int      `json:"predicted_objects"`
	PositivePx  int64    `json:"positive_px"` // ground-truth FOV pixels, grid resolution

	hist       apHistogram
	tp, fp, fn int64
}

// PerLesionType holds one value per lesion type, named in JSON.
type PerLesionType[T any] struct {
	MA T `json:"ma"`
	HE T `json:"he"`
	EX T `json:"ex"`
	SE T `json:"se"`
}

func (l *PerLesionType[T]) at(t int) *T {
	return [4]*T{&l.MA, &l.HE, &l.EX, &l.SE}[t]
}

// LesionImageCounts are one photo's object counts for one type.
type LesionImageCounts struct {
	GT   int `json:"gt_objects"`
	Hit  int `json:"hit_objects"`
	FP   int `json:"fp_objects"`
	Pred int `json:"predicted_objects"`
}

// LesionImage is one photo's result.
type LesionImage struct {
	ID     string                           `json:"image"`
	Grid   string                           `json:"grid"` // WxH of the working grid
	Counts PerLesionType[LesionImageCounts] `json:"counts"`
}

// LesionReport is the result of a lesion evaluation.
type LesionReport struct {
	Root       string                           `json:"root"`
	N          int                              `json:"n"`
	Resolution string                           `json:"resolution"`
	Types      PerLesionType[*LesionTypeScores] `json:"types"`
	Images     []LesionImage                    `json:"images"`
	Seconds    float64                          `json:"seconds"`
	// MedianImageS is the model's median time per photo.
	MedianImageS float64 `json:"median_image_seconds"`
}

// LesionResolution says where the pixel figures are computed.
const LesionResolution = "the model's working grid (FOV about 1706 px wide: IDRiD originals halved), ground-truth masks max-pooled onto it; FOV pixels of all images pooled"

// EvalLesions runs maps on every sample and scores it.
func EvalLesions(ctx context.Context, root string, samples []LesionSample, maps LesionMapsFunc, progress func(done, total int, id string)) (*LesionReport, error) {
	rep := &LesionReport{Root: root, N: len(samples), Resolution: LesionResolution}
	for t := range LesionTypes {
		*rep.Types.at(t) = &LesionTypeScores{hist: newAPHistogram()}
	}
	var durations []float64
	start := time.Now()
	for i, s := range samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := fundus.Load(s.Image, fundus.Limits{})
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		m, err := maps(ctx, img)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.ID, err)
		}
		durations = append(durations, time.Since(t0).Seconds())
		n := m.Width * m.Height
		if len(m.InFOV) != n || !(m.Scale > 0) {
			return nil, fmt.Errorf("%s: maps of %dx%d with %d FOV pixels, scale %v", s.ID, m.Width, m.Height, len(m.InFOV), m.Scale)
		}
		im := LesionImage{ID: s.ID, Grid: fmt.Sprintf("%dx%d", m.Width, m.Height)}
		for t := range LesionTypes {
			if len(m.Prob[t]) != n {
				return nil, fmt.Errorf("%s: %s map has %d pixels, grid %d", s.ID, LesionTypes[t], len(m.Prob[t]), n)
			}
			truth := make([]bool, n)
			if s.Masks[t] != "" {
				mask, err := loadBinary(s.Masks[t], img.Width, img.Height)
				if err != nil {
					return nil, err
				}
				poolOntoGrid(mask, img.Width, img.Height, m, truth)
			}
			c := scoreLesionType(*rep.Types.at(t), m.Prob[t], truth, m.InFOV, m.Width, m.Height, m.Thresholds[t])
			*im.Counts.at(t) = c
		}
		rep.Images = append(rep.Images, im)
		if progress != nil {
			progress(i+1, len(samples), s.ID)
		}
	}
	for t := range LesionTypes {
		sc := *rep.Types.at(t)
		if ap, ok := sc.hist.averagePrecision(); ok {
			sc.AUPR = &ap
		}
		if sc.GTObjects > 0 {
			v := float64(sc.HitObjects) / float64(sc.GTObjects)
			sc.ObjectSensitivity = &v
		}
		sc.FPPerImage = float64(sc.FPObjects) / float64(len(samples))
		if d := 2*sc.tp + sc.fp + sc.fn; d > 0 {
			v := float64(2*sc.tp) / float64(d)
			sc.PixelDice = &v
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.MedianImageS = median(durations)
	return rep, nil
}

// poolOntoGrid marks every grid pixel that a set original pixel overlaps
// (a max-pool when the grid is coarser, a nearest-cover when finer).
func poolOntoGrid(mask []bool, w, h int, m *LesionMaps, out []bool) {
	span := func(i int, off float64, n int) (int, int) {
		a := (float64(i) - off) / m.Scale
		b := (float64(i+1) - off) / m.Scale
		lo, hi := int(math.Floor(a+1e-9)), int(math.Ceil(b-1e-9))
		return max(lo, 0), min(hi, n)
	}
	for y := range h {
		y0, y1 := span(y, m.OffsetY, m.Height)
		if y0 >= y1 {
			continue
		}
		for x := range w {
			if !mask[y*w+x] {
				continue
			}
			x0, x1 := span(x, m.OffsetX, m.Width)
			for gy := y0; gy < y1; gy++ {
				for gx := x0; gx < x1; gx++ {
					out[gy*m.Width+gx] = true
				}
			}
		}
	}
}

// scoreLesionType adds one image's pixels and objects to sc, as
// train/lesions/train.py's score(): ground-truth components over the whole
// pooled mask, predictions inside the FOV.
func scoreLesionType(sc *LesionTypeScores, prob []float32, truth, inFOV []bool, w, h int, thr float64) LesionImageCounts {
	sc.Threshold = thr
	pred := make([]bool, len(prob))
	for i, p := range prob {
		if !inFOV[i] {
			continue
		}
		sc.hist.add(p, truth[i])
		pred[i] = float64(p) >= thr
		switch {
		case pred[i] && truth[i]:
			sc.tp++
		case pred[i]:
			sc.fp++
		case truth[i]:
			sc.fn++
		}
		if truth[i] {
			sc.PositivePx++
		}
	}
	gl, ng := imgproc.Label(grayOf(truth, w, h), true)
	pl, np := imgproc.Label(grayOf(pred, w, h), true)
	hit := make([]bool, ng+1)
	touched := make([]bool, np+1)
	for i := range pred {
		if pred[i] && truth[i] {
			hit[gl[i]] = true
			touched[pl[i]] = true
		}
	}
	c := LesionImageCounts{GT: ng, Pred: np}
	for _, v := range hit[1:] {
		if v {
			c.Hit++
		}
	}
	c.FP = np
	for _, v := range touched[1:] {
		if v {
			c.FP--
		}
	}
	sc.GTObjects += c.GT
	sc.HitObjects += c.Hit
	sc.FPObjects += c.FP
	sc.PredObjects += c.Pred
	return c
}

// apHistogram counts positives and negatives per probability bin: the
// float32's bits shifted right by apShift, which is monotonic for
// non-negative floats and keeps 11 bits of mantissa (bins 0.05 % wide
// relative to the value, over the whole range down to 1e-38). Pooling
// millions of pixels per image this way needs 4 MB per type where a
// sorted list would need hundreds.
type apHistogram struct{ pos, neg []int64 }

const apShift = 12

func newAPHistogram() apHistogram {
	n := math.Float32bits(1)>>apShift + 1
	return apHistogram{pos: make([]int64, n), neg: make([]int64, n)}
}

func (h *apHistogram) add(p float32, truth bool) {
	p = min(max(p, 0), 1)
	b := math.Float32bits(p) >> apShift
	if truth {
		h.pos[b]++
	} else {
		h.neg[b]++
	}
}

// averagePrecision is the step-wise average precision (as sklearn's and
// the training script's): thresholds at every bin, highest first, summing
// recall gain times precision. ok is false without positives.
func (h apHistogram) averagePrecision() (ap float64, ok bool) {
	var npos int64
	for _, v := range h.pos {
		npos += v
	}
	if npos == 0 {
		return 0, false
	}
	var tp, fp int64
	for b := len(h.pos) - 1; b >= 0; b-- {
		if h.pos[b] == 0 && h.neg[b] == 0 {
			continue
		}
		tp += h.pos[b]
		fp += h.neg[b]
		ap += float64(h.pos[b]) / float64(npos) * float64(tp) / float64(tp+fp)
	}
	return ap, true
}

func grayOf(m []bool, w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range m {
		if v {
			g.Pix[i] = 255
		}
	}
	return g
}

// BoxSample is one photo with its reference lesion boxes, in its pixels.
type BoxSample struct {
	ID    string
	Image string
	Boxes [4][][4]float64 // per type (LesionTypes order): x_min, y_min, x_max, y_max
}

// boxLabels maps a boxes file's labels to lesion types.
var boxLabels = map[string]int{
	"microaneurysm": 0, "microaneurysms": 0, "ma": 0,
	"haemorrhage": 1, "haemorrhages": 1, "hemorrhage": 1, "hemorrhages": 1, "he": 1,
	"hard_exudate": 2, "hard_exudates": 2, "ex": 2,
	"soft_exudate": 3, "soft_exudates": 3, "cotton_wool_spot": 3, "cotton_wool_spots": 3, "se": 3,
}

// OpenBoxSet reads a boxes file in the layout of the shared IDRiD grading
// copy's boxes.csv (columns image, label, x_min, y_min, x_max, y_max, in
// the photo's pixels; labels haemorrhage and hard_exudates, also
// microaneurysm and soft_exudates; other labels such as optic_disc are
// ignored) with the photos in imagesDir. Only photos with at least one
// lesion box are returned, sorted by name.
func OpenBoxSet(path, imagesDir string) ([]BoxSample, error) {
	rows, err := readCSV(path, "image", "label", "x_min", "y_min", "x_max", "y_max")
	if err != nil {
		return nil, fmt.Errorf("lesion boxes: %w", err)
	}
	byImage := map[string]*BoxSample{}
	for _, row := range rows {
		line := row.Line
		t, ok := boxLabels[strings.ToLower(row.Get("label"))]
		if !ok {
			continue
		}
		var b [4]float64
		for i, c := range []string{"x_min", "y_min", "x_max", "y_max"} {
			if b[i], err = strconv.ParseFloat(row.Get(c), 64); err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", path, line, c, err)
			}
		}
		if b[2] <= b[0] || b[3] <= b[1] {
			return nil, fmt.Errorf("%s:%d: empty box %v", path, line, b)
		}
		name := row.Get("image")
		s := byImage[name]
		if s == nil {
			s = &BoxSample{ID: strings.TrimSuffix(name, filepath.Ext(name)), Image: filepath.Join(imagesDir, name)}
			byImage[name] = s
		}
		s.Boxes[t] = append(s.Boxes[t], b)
	}
	if len(byImage) == 0 {
		return nil, fmt.Errorf("%s: no lesion boxes", path)
	}
	out := make([]BoxSample, 0, len(byImage))
	for _, s := range byImage {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b BoxSample) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// BoxFunc returns a model's lesion boxes for one photo, per type, in its
// pixels.
type BoxFunc func(ctx context.Context, img *fundus.Image) ([4][][4]float64, error)

// BoxTypeScores are one lesion type's box figures.
type BoxTypeScores struct {
	// Recall is the share of reference boxes that some predicted box of
	// the same type overlaps with IoU >= the report's IoU (several
	// reference boxes may be matched by one prediction: the references
	// group lesions inconsistently and overlap each other).
	Recall   *float64 `json:"recall"`
	RefBoxes int      `json:"reference_boxes"`
	Matched  int      `json:"matched"`
	// Precision is the share of predicted boxes with IoU >= the report's
	// IoU against some reference box. The references do not box every
	// lesion, so this is a lower bound.
	Precision   *float64 `json:"precision"`
	PredBoxes   int      `json:"predicted_boxes"`
	PredMatched int      `json:"predicted_matched"`
	// MeanBestIoU averages, over reference boxes, the best IoU of any
	// predicted box.
	MeanBestIoU *float64 `json:"mean_best_iou"`

	sumBest float64
}

// BoxReport is the result of a box evaluation.
type BoxReport struct {
	File      string                        `json:"file"`
	ImagesDir string                        `json:"images_dir"`
	N         int                           `json:"n"`
	IoU       float64                       `json:"iou"`
	Types     PerLesionType[*BoxTypeScores] `json:"types"` // nil for types without reference boxes
	Seconds   float64                       `json:"seconds"`
	// MedianImageS is the model's median time per photo.
	MedianImageS float64 `json:"median_image_seconds"`
}

// EvalBoxes runs boxes on every sample and matches its boxes to the
// reference at IoU >= iou.
func EvalBoxes(ctx context.Context, file, imagesDir string, samples []BoxSample, boxes BoxFunc, iou float64, progress func(done, total int, id string)) (*BoxReport, error) {
	rep := &BoxReport{File: file, ImagesDir: imagesDir, N: len(samples), IoU: iou}
	for _, s := range samples {
		for t := range LesionTypes {
			if len(s.Boxes[t]) > 0 && *rep.Types.at(t) == nil {
				*rep.Types.at(t) = &BoxTypeScores{}
			}
		}
	}
	var durations []float64
	start := time.Now()
	for i, s := range samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := fundus.Load(s.Image, fundus.Limits{})
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		pred, err := boxes(ctx, img)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.ID, err)
		}
		durations = append(durations, time.Since(t0).Seconds())
		for t := range LesionTypes {
			sc := *rep.Types.at(t)
			if sc == nil {
				continue
			}
			matchBoxes(sc, s.Boxes[t], pred[t], iou)
		}
		if progress != nil {
			progress(i+1, len(samples), s.ID)
		}
	}
	for t := range LesionTypes {
		sc := *rep.Types.at(t)
		if sc == nil {
			continue
		}
		if sc.RefBoxes > 0 {
			r, m := float64(sc.Matched)/float64(sc.RefBoxes), sc.sumBest/float64(sc.RefBoxes)
			sc.Recall, sc.MeanBestIoU = &r, &m
		}
		if sc.PredBoxes > 0 {
			p := float64(sc.PredMatched) / float64(sc.PredBoxes)
			sc.Precision = &p
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.MedianImageS = median(durations)
	return rep, nil
}

func matchBoxes(sc *BoxTypeScores, ref, pred [][4]float64, iou float64) {
	sc.RefBoxes += len(ref)
	sc.PredBoxes += len(pred)
	for _, r := range ref {
		best := 0.0
		for _, p := range pred {
			best = max(best, IoU(r, p))
		}
		sc.sumBest += best
		if best >= iou {
			sc.Matched++
		}
	}
	for _, p := range pred {
		if slices.ContainsFunc(ref, func(r [4]float64) bool { return IoU(r, p) >= iou }) {
			sc.PredMatched++
		}
	}
}

// IoU is the intersection over union of two [x_min, y_min, x_max, y_max]
// boxes (0 when both are empty).
func IoU(a, b [4]float64) float64 {
	in := max(min(a[2], b[2])-max(a[0], b[0]), 0) * max(min(a[3], b[3])-max(a[1], b[1]), 0)
	u := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - in
	if u <= 0 {
		return 0
	}
	return in / u
}
