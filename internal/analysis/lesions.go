package analysis

import (
	"context"
	"fmt"
	"image"
	"math"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/lesions"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/models"
)

// MaxLesionObjects is how many objects per lesion type the report lists
// (the largest by probability mass; the count covers all of them). The
// weak lesion model finds up to a few hundred false exudates on a photo,
// which would make reports megabytes long.
const MaxLesionObjects = 50

// notDetectedAUPR: a lesion type whose cross-validated AUPR is below this
// is one the model does not detect at all (microaneurysms: 0.005), and its
// count of objects means nothing.
const notDetectedAUPR = 0.02

// NotAssessedLesions is the report's reason when the lesion stage was
// not requested.
const NotAssessedLesions = "not requested: the lesion stage is opt-in, experimental and slow; run analyze, ask or chat with --lesions"

// lesionDetector loads the lesion model once per Analyzer, on first use.
func (a *Analyzer) lesionDetector() (*lesions.Detector, error) {
	a.lesionOnce.Do(func() {
		m, err := lesions.ParseModel(models.LesionsFiles())
		if err != nil {
			a.lesionErr = err
			return
		}
		a.lesions, a.lesionErr = lesions.New(a.rt, m)
	})
	return a.lesions, a.lesionErr
}

// detectLesions is the lesions stage: the lesion model on the photo, with
// the disc (centre and measured radius when found, else the located
// centre), the fovea, the laterality and the calibration, and the report's
// lesions section.
func (a *Analyzer) detectLesions(ctx context.Context, res *Result) error {
	det, err := a.lesionDetector()
	if err != nil {
		return fmt.Errorf("lesion stage: %w", err)
	}
	img, rep := res.Image, res.Report
	opt := lesions.Options{UmPerPx: rep.Calibration.UmPerPx, Boxes: lesions.BoxOptions{Max: lesions.DefaultMaxBoxes}}
	lm := res.Landmarks
	discPt := lesions.Point{X: lm.Disc.X, Y: lm.Disc.Y}
	if g := discForBiomarkers(res.Disc); g != nil {
		discPt = lesions.Point{X: g.centre.X, Y: g.centre.Y}
		opt.DiscRadiusPx = g.radius
	}
	fovea := lesions.Point{X: lm.Fovea.X, Y: lm.Fovea.Y}
	if !lm.DiscAbsent {
		opt.Disc = &discPt
	}
	if fovea != discPt {
		opt.Fovea = &fovea
	}
	opt.Eye = lm.Eye().String()
	r, err := det.Detect(ctx, img.Pix, res.Normalized.FOV, opt)
	if err != nil {
		return fmt.Errorf("%s: %w", img.Name, err)
	}
	res.Lesions = r
	m := det.Model()
	rep.Models = append(rep.Models, report.Model{Name: m.Name, Version: m.Version, SHA256: m.SHA256})
	rep.Lesions = lesionSection(r, m, opt, img.Width, img.Height)
	return nil
}

// lesionSection turns a lesions.Result into the report's section.
func lesionSection(r *lesions.Result, m lesions.Model, opt lesions.Options, w, h int) *report.Lesions {
	sec := &report.Lesions{
		Model:             m.String(),
		Experimental:      true,
		Caveat:            lesionCaveat(m),
		GridScalePx:       report.Round(r.Grid.Transform.Scale, 6),
		GridWidthPx:       r.Grid.Width,
		GridHeightPx:      r.Grid.Height,
		QuadrantBasis:     "none",
		DiscDiameterPx:    report.Round(2*opt.DiscRadiusPx, 2),
		MaxObjectsPerType: MaxLesionObjects,
		MaxBoxesPerType:   lesions.DefaultMaxBoxes,
	}
	switch {
	case opt.Fovea != nil && opt.Disc != nil:
		sec.QuadrantBasis = "disc_fovea_axis"
	case opt.Fovea != nil && (opt.Eye == "right" || opt.Eye == "left"):
		sec.QuadrantBasis = "laterality"
	}
	if opt.DiscRadiusPx <= 0 {
		sec.Notes = append(sec.Notes, "optic disc not found: no distances in disc diameters")
	}
	if opt.UmPerPx <= 0 {
		sec.Notes = append(sec.Notes, "uncalibrated: areas in pixels only")
	}
	dd := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		x := report.Round(*v, 2)
		return &x
	}
	round4 := func(b lesions.Rect, decimals int) [4]float64 {
		return [4]float64{report.Round(b[0], decimals), report.Round(b[1], decimals), report.Round(b[2], decimals), report.Round(b[3], decimals)}
	}
	um2 := opt.UmPerPx * opt.UmPerPx
	for _, k := range lesions.Kinds {
		t := report.LesionType{Type: k.String(), Name: k.Name(), Threshold: m.Threshold(k), Detected: true, Count: r.Counts[k],
			Boxes: []report.LesionBox{}, Objects: []report.LesionObject{}}
		if m.CV != nil {
			if s, ok := m.CV.Classes[k.String()]; ok {
				t.CVAUPR = roundPtr(s.AUPR, 3)
				t.CVObjectSensitivity = roundPtr(s.ObjectSensitivity, 2)
				fp := report.Round(s.FPPerImage, 1)
				t.CVFalseObjectsPerImage = &fp
				t.Detected = s.AUPR == nil || *s.AUPR >= notDetectedAUPR
			}
		}
		q := r.QuadrantCounts[k]
		t.Quadrants = report.QuadrantCounts{
			SuperiorTemporal: q[lesions.SuperiorTemporal], SuperiorNasal: q[lesions.SuperiorNasal],
			InferiorTemporal: q[lesions.InferiorTemporal], InferiorNasal: q[lesions.InferiorNasal], Unknown: q[lesions.QuadrantUnknown],
		}
		var area float64
		for i, l := range r.OfKind(k) {
			area += l.AreaPx
			if l.FoveaDistanceDD != nil && (t.MinFoveaDistanceDD == nil || *l.FoveaDistanceDD < *t.MinFoveaDistanceDD) {
				t.MinFoveaDistanceDD = dd(l.FoveaDistanceDD)
			}
			if i >= MaxLesionObjects {
				t.ObjectsOmitted++
				continue
			}
			cx, cy := l.Centroid.X, l.Centroid.Y
			o := report.LesionObject{
				AreaPx: report.Round(l.AreaPx, 1), Centroid: report.NewPoint(cx, cy, w, h),
				Box: round4(lesions.Normalize(l.Box, w, h), 4), BoxPx: round4(l.Box, 2),
				MeanProbability: report.Round(l.MeanProb, 3), MaxProbability: report.Round(l.MaxProb, 3),
				FoveaDistanceDD: dd(l.FoveaDistanceDD), DiscDistanceDD: dd(l.DiscDistanceDD), Quadrant: l.Quadrant.String(),
			}
			if um2 > 0 {
				o.AreaUm2 = report.Round(l.AreaPx*um2, 0)
			}
			t.Objects = append(t.Objects, o)
		}
		t.AreaPx = report.Round(area, 1)
		if um2 > 0 {
			t.AreaUm2 = report.Round(area*um2, 0)
		}
		for _, b := range r.Boxes[k] {
			t.Boxes = append(t.Boxes, report.LesionBox{Box: round4(b.Norm, 4), BoxPx: round4(b.Px, 2), AreaPx: report.Round(b.AreaPx, 1),
				Objects: b.Objects, MeanProbability: report.Round(b.MeanProb, 3), MaxProbability: report.Round(b.MaxProb, 3)})
		}
		sec.Types = append(sec.Types, t)
	}
	return sec
}

func roundPtr(v *float64, n int) *float64 {
	if v == nil {
		return nil
	}
	x := report.Round(*v, n)
	return &x
}

// lesionCaveat says, from the model's own cross-validated figures, how far
// its findings can be trusted.
func lesionCaveat(m lesions.Model) string {
	var b strings.Builder
	b.WriteString("Experimental: lesions come from a weak model (" + m.String() + ", see models/lesions.md), not validated for clinical use.")
	if m.CV == nil {
		b.WriteString(" The model records no cross-validated figures.")
		return b.String()
	}
	var undetected, auprs []string
	for _, k := range lesions.Kinds {
		s, ok := m.CV.Classes[k.String()]
		if !ok || s.AUPR == nil {
			continue
		}
		auprs = append(auprs, fmt.Sprintf("%s %.3f", k, *s.AUPR))
		if *s.AUPR < notDetectedAUPR {
			undetected = append(undetected, k.Name())
		}
	}
	if len(undetected) > 0 {
		fmt.Fprintf(&b, " %s are not detected by this model: their count and boxes say nothing either way (a count of 0 does not mean there are none).", capitalizeFirst(strings.Join(undetected, " and ")))
	}
	if len(auprs) > 0 {
		fmt.Fprintf(&b, " Cross-validated AUPR per type (%d folds, %d held-out IDRiD photos): %s.", m.CV.Folds, m.CV.HeldOutImages, strings.Join(auprs, ", "))
	}
	var fp []string
	for _, k := range []lesions.Kind{lesions.EX, lesions.HE, lesions.SE} {
		if s, ok := m.CV.Classes[k.String()]; ok && s.FPPerImage >= 10 {
			fp = append(fp, fmt.Sprintf("%s %.0f", k, s.FPPerImage))
		}
	}
	if len(fp) > 0 {
		fmt.Fprintf(&b, " Expect many false objects (per photo in cross-validation: %s).", strings.Join(fp, ", "))
	}
	return b.String()
}

func capitalizeFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// LesionMask is lesion type k of r at its threshold inside the FOV, at the
// original photo's resolution (255 = lesion): each working-grid pixel
// marks every original pixel it overlaps. For the overlay.
func LesionMask(r *lesions.Result, k lesions.Kind) *image.Gray {
	out := image.NewGray(image.Rect(0, 0, r.Width, r.Height))
	g := r.Grid
	t := float32(r.Thresholds[k])
	prob := r.Prob[k]
	for j := range g.Height {
		for i := range g.Width {
			idx := j*g.Width + i
			if prob[idx] < t || !r.InFOV[idx] {
				continue
			}
			x0, y0 := g.Transform.ToOriginal(float64(i), float64(j))
			x1, y1 := g.Transform.ToOriginal(float64(i+1), float64(j+1))
			for y := max(int(math.Floor(y0)), 0); y < min(int(math.Ceil(y1)), r.Height); y++ {
				row := out.Pix[y*out.Stride:]
				for x := max(int(math.Floor(x0)), 0); x < min(int(math.Ceil(x1)), r.Width); x++ {
					row[x] = 255
				}
			}
		}
	}
	return out
}
