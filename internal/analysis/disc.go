package analysis

import (
	"context"
	"fmt"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// SegmentDisc runs the disc stages of Analyze alone on one photo: field of
// view, disc and fovea locator, disc/cup segmentation around the located
// disc. Evaluation uses it so that it measures exactly what Analyze
// reports.
func (a *Analyzer) SegmentDisc(ctx context.Context, img *fundus.Image) (disc.Result, *disc.Segmentation, error) {
	fov, err := fundus.DetectFOV(img.Pix)
	if err != nil {
		return disc.Result{}, nil, fmt.Errorf("%s: %w", img.Name, err)
	}
	lm, _, err := a.locate(ctx, img, fov)
	if err != nil {
		return disc.Result{}, nil, fmt.Errorf("%s: %w", img.Name, err)
	}
	seg, err := a.segmentDisc(ctx, img, fov, lm)
	return lm, seg, err
}

// DiscCupModel names the disc/cup model in use, name@version.
func (a *Analyzer) DiscCupModel() string { return a.cup.Model().String() }

// segmentDisc is the disc_cup stage: the disc and cup around the located
// disc, in original pixels.
func (a *Analyzer) segmentDisc(ctx context.Context, img *fundus.Image, fov fundus.FOV, lm disc.Result) (*disc.Segmentation, error) {
	// The locator was trained to leave its disc channel empty on disc-less
	// photos (macula-only fields); the disc/cup model was not, and finds an
	// oval in whatever bright spot it is centred on (an exudate cluster),
	// so the locator has the last word and the disc/cup model does not run.
	if lm.DiscAbsent {
		return a.cup.Skip(fov, lm.Disc.Point, fmt.Sprintf("the locator sees no optic disc in the photo (peak probability %.2f, below %.2f)",
			lm.Disc.Confidence, a.disc.Model().MinDiscConfidence)), nil
	}
	seg, err := a.cup.Segment(ctx, img.Pix, fov, lm.Disc.Point, lm.Eye())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", img.Name, err)
	}
	// What passed every check so far may still be a round cluster of
	// hard exudates: the verifier, trained on exactly those, looks again
	// at the square around it at the disc's own scale.
	if seg.Found {
		p, err := a.verify.Probability(ctx, img.Pix, seg.Measures.Centre, seg.Measures.RadiusPx())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", img.Name, err)
		}
		seg.Verification, seg.Verified = p, true
		if t := a.verify.Model().Threshold; p < t {
			seg.Found = false
			seg.Reason = fmt.Sprintf("what was found does not look like an optic disc (verifier probability %.2f, below %.2f)", p, t)
		}
	}
	return seg, nil
}

// discCalibration is cal, or, when cal is uncalibrated, the
// disc-diameter calibration of a found disc (else cal, saying that no disc
// was found to calibrate from).
func discCalibration(cal fundus.Calibration, seg *disc.Segmentation) fundus.Calibration {
	if cal.Source != fundus.CalibrationUncalibrated {
		return cal
	}
	if seg == nil || !seg.Found {
		cal.Note = "no pixel size or field-of-view angle given, and no optic disc found to take the scale from"
		return cal
	}
	return disc.DiscCalibration(2 * seg.Measures.RadiusPx())
}

// zones are zones B and C of a found disc (centroid, measured radius).
func zones(seg *disc.Segmentation) (b, c disc.Annulus, ok bool) {
	if seg == nil || !seg.Found {
		return b, c, false
	}
	m := seg.Measures
	return disc.ZoneB(m.Centre, m.RadiusPx()), disc.ZoneC(m.Centre, m.RadiusPx()), true
}

// radiusSource names where the last crop's disc radius came from.
func radiusSource(seg *disc.Segmentation) string {
	if seg.Passes > 1 {
		return "first_pass"
	}
	return "fov_prior"
}

// discSection is the report's disc section. Micrometres are given only
// under an independent calibration: under the disc-diameter one they would
// restate the assumed 1.8 mm.
func discSection(seg *disc.Segmentation, cal report.Calibration, w, h int) *report.Disc {
	d := &report.Disc{
		Model:      seg.Model,
		Found:      seg.Found,
		Reason:     seg.Reason,
		Confidence: report.Round(seg.Confidence, 3),
		Verification: func() *float64 {
			if !seg.Verified {
				return nil
			}
			v := report.Round(seg.Verification, 3)
			return &v
		}(),
		Crop: report.DiscCrop{
			Center:           report.NewPoint(seg.Crop.Centre().X, seg.Crop.Centre().Y, w, h),
			RadiusEstimatePx: report.Round(seg.RadiusEstimate, 2),
			RadiusSource:     radiusSource(seg),
			SidePx:           report.Round(seg.Crop.Side, 2),
			InputPx:          seg.Crop.Size,
		},
	}
	if !seg.Found {
		return d
	}
	um := 0.0
	if cal.Source == string(fundus.CalibrationUser) || cal.Source == string(fundus.CalibrationFOVAngle) {
		um = cal.UmPerPx
	}
	length := func(px int) float64 { return report.Round(float64(px)*um, 1) }
	area := func(px int) float64 { return report.Round(float64(px)*um*um/1e6, 3) }
	m := seg.Measures
	centre := report.NewPoint(m.Centre.X, m.Centre.Y, w, h)
	d.Center = &centre
	d.RadiusPx = report.Round(m.RadiusPx(), 2)
	d.HeightPx, d.WidthPx, d.AreaPx = m.Disc.Height, m.Disc.Width, m.Disc.Area
	d.HeightUm, d.WidthUm, d.AreaMm2 = length(m.Disc.Height), length(m.Disc.Width), area(m.Disc.Area)
	d.Cup = &report.Cup{
		HeightPx: m.Cup.Height, WidthPx: m.Cup.Width, AreaPx: m.Cup.Area,
		HeightUm: length(m.Cup.Height), WidthUm: length(m.Cup.Width), AreaMm2: area(m.Cup.Area),
		Confidence: report.Round(seg.CupConfidence, 3),
	}
	if b := m.Cup.Box; !b.Empty() {
		px := [4]float64{float64(b.Min.X), float64(b.Min.Y), float64(b.Max.X), float64(b.Max.Y)}
		norm := [4]float64{report.Round(px[0]/float64(w), 4), report.Round(px[1]/float64(h), 4), report.Round(px[2]/float64(w), 4), report.Round(px[3]/float64(h), 4)}
		d.Cup.Box, d.Cup.BoxPx = &norm, &px
	}
	d.CDR = &report.CDR{Vertical: report.Round(m.VerticalCDR, 3), Horizontal: report.Round(m.HorizontalCDR, 3), Area: report.Round(m.AreaCDR, 3)}
	d.Rim = rimSection(m.Rim)
	if b, c, ok := zones(seg); ok {
		zone := func(z disc.Annulus) report.Zone {
			return report.Zone{Center: centre, InnerPx: report.Round(z.Inner, 2), OuterPx: report.Round(z.Outer, 2)}
		}
		d.Zones = &report.Zones{B: zone(b), C: zone(c)}
	}
	return d
}

func rimSection(r disc.Rim) *report.Rim {
	out := &report.Rim{
		InferiorPx: report.Round(r.Inferior, 1),
		SuperiorPx: report.Round(r.Superior, 1),
		NasalSide:  "unknown",
		ISNT:       "unknown",
	}
	if n, ok := r.Nasal(); ok {
		t, _ := r.Temporal()
		n, t = report.Round(n, 1), report.Round(t, 1)
		out.NasalPx, out.TemporalPx = &n, &t
		out.NasalSide = "left"
		if r.Eye == disc.EyeRight {
			out.NasalSide = "right"
		}
		holds, _, violations := r.ISNT()
		out.ISNT, out.ISNTViolations = "violated", violations
		if holds {
			out.ISNT = "holds"
		}
	}
	return out
}

// discGeometry is the optic disc as the biomarker stage needs it, in
// original pixels.
type discGeometry struct {
	centre disc.Point
	radius float64
}

func discForBiomarkers(seg *disc.Segmentation) *discGeometry {
	if seg == nil || !seg.Found || !(seg.Measures.RadiusPx() > 0) || math.IsInf(seg.Measures.RadiusPx(), 0) {
		return nil
	}
	return &discGeometry{centre: seg.Measures.Centre, radius: seg.Measures.RadiusPx()}
}
