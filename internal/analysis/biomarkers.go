package analysis

import (
	"fmt"
	"image"
	"slices"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
)

// biomarkerInput is what the biomarker stage measures: the vessel map on
// the analysis frame, its artery/vein labels, the calibration, and, when
// the disc was found, the optic disc (original pixels) whose zones B and C
// it also measures in.
type biomarkerInput struct {
	vessels *vessels.Map
	mask    *image.Gray       // vessels.Mask(), made once
	av      *biomarkers.AVMap // nil: no artery/vein split, no calibre
	frame   *fundus.Normalized
	cal     report.Calibration // the report's; its UmPerPx converts to µm
	disc    *discGeometry      // nil: no zone measures
	noDisc  string             // why disc is nil, for the calibre block
	// width and height of the original photo, for report points
	width, height int
}

// vesselResult is the biomarker stage's output, in the report's units,
// with the artery and vein trees (analysis frame) behind it.
type vesselResult struct {
	whole, artery, vein *report.VesselMeasures
	labels              *biomarkers.AVMeasures // nil without A/V
	zones               []report.VesselZone
	calibre             *report.Calibre
}

// vesselMeasures computes the biomarkers on the analysis-frame vessel map,
// over the whole FOV and, with a disc, inside zones B and C, for all
// vessels and, with A/V labels, for the artery and the vein tree, and
// CRAE/CRVE/AVR in zone B; it converts them to original pixels (and µm
// when calibrated).
func vesselMeasures(in biomarkerInput) (*vesselResult, error) {
	mask := in.mask
	if mask == nil {
		mask = in.vessels.Mask()
	}
	profile := image.NewGray(mask.Rect)
	for i, p := range in.vessels.Prob {
		profile.Pix[i] = uint8(p*255 + 0.5)
	}
	t := in.frame.Transform
	um := in.cal.UmPerPx
	opt := biomarkers.Options{Profile: profile}
	out := &vesselResult{}
	var whole *biomarkers.Measures
	var optA, optV biomarkers.Options
	if in.av != nil {
		avm, err := biomarkers.MeasureAV(mask, in.frame.Mask, in.av, opt)
		if err != nil {
			return nil, fmt.Errorf("vessel biomarkers: %w", err)
		}
		out.labels, whole = avm, avm.All
		out.artery, out.vein = toReport(avm.Artery, t.Scale, um), toReport(avm.Vein, t.Scale, um)
		optA, optV = opt, opt
		optA.Profile = biomarkers.TreeProfile(profile, avm.ArteryMask, avm.VeinMask)
		optV.Profile = biomarkers.TreeProfile(profile, avm.VeinMask, avm.ArteryMask)
	} else {
		var err error
		if whole, err = biomarkers.MeasureWith(mask, in.frame.Mask, opt); err != nil {
			return nil, fmt.Errorf("vessel biomarkers: %w", err)
		}
	}
	out.whole = toReport(whole, t.Scale, um)
	if in.disc == nil {
		if out.labels != nil {
			reason := in.noDisc
			if reason == "" {
				reason = "optic disc not found"
			}
			out.calibre = &report.Calibre{Absent: reason + ": zone B, where CRAE and CRVE are measured, is placed around it"}
		}
		return out, nil
	}
	// The zones, mapped onto the analysis frame, restrict the FOV mask, as
	// `retinalgpt biomarkers --disc-radius` does on a mask file.
	cx, cy := t.ToAnalysis(in.disc.centre.X, in.disc.centre.Y)
	centre, r := disc.Point{X: cx, Y: cy}, in.disc.radius/t.Scale
	zoneB := disc.ZoneB(centre, r)
	for _, z := range []struct {
		name string
		ring disc.Annulus
	}{{"B", zoneB}, {"C", disc.ZoneC(centre, r)}} {
		ring := z.ring.Mask(mask.Rect)
		inside := 0
		for i, v := range in.frame.Mask.Pix {
			if v == 0 {
				ring.Pix[i] = 0
			} else if ring.Pix[i] != 0 {
				inside++
			}
		}
		if inside == 0 {
			continue // the zone lies outside the FOV: nothing to measure there
		}
		zm, err := biomarkers.MeasureWith(mask, ring, opt)
		if err != nil {
			return nil, fmt.Errorf("vessel biomarkers in zone %s: %w", z.name, err)
		}
		vz := report.VesselZone{
			Zone:     z.name,
			InnerPx:  report.Round(z.ring.Inner*t.Scale, 2),
			OuterPx:  report.Round(z.ring.Outer*t.Scale, 2),
			Density:  report.Round(zm.DensityFOV, 4),
			Measures: toReport(zm, t.Scale, um),
		}
		if avm := out.labels; avm != nil {
			za, err := biomarkers.MeasureWith(avm.ArteryMask, ring, optA)
			if err != nil {
				return nil, fmt.Errorf("artery biomarkers in zone %s: %w", z.name, err)
			}
			zv, err := biomarkers.MeasureWith(avm.VeinMask, ring, optV)
			if err != nil {
				return nil, fmt.Errorf("vein biomarkers in zone %s: %w", z.name, err)
			}
			vz.Artery, vz.Vein = toReport(za, t.Scale, um), toReport(zv, t.Scale, um)
		}
		out.zones = append(out.zones, vz)
	}
	if out.labels != nil {
		c, err := calibreSection(out.labels, zoneB, t, in.cal, in.width, in.height)
		if err != nil {
			return nil, err
		}
		out.calibre = c
	}
	return out, nil
}

// calibreSection measures CRAE, CRVE and AVR on the artery and vein trees
// in zone B (analysis frame; t maps it to the original) and converts them:
// Knudtson's calibres to original pixels and, when calibrated, µm (its
// formulas are linear in the widths, so converting after is exact);
// Hubbard's, whose constants are in µm, are computed from widths in µm and
// are absent without a calibration. AVRs are unitless.
func calibreSection(avm *biomarkers.AVMeasures, zb disc.Annulus, t fundus.Transform, cal report.Calibration, w, h int) (*report.Calibre, error) {
	ring := biomarkers.Ring{X: zb.Centre.X, Y: zb.Centre.Y, Inner: zb.Inner, Outer: zb.Outer}
	c, err := biomarkers.MeasureCalibre(avm, ring, biomarkers.CalibreOptions{UmPerPx: cal.UmPerPx * t.Scale})
	if err != nil {
		return nil, fmt.Errorf("vessel calibres in zone B: %w", err)
	}
	ox, oy := t.ToOriginal(zb.Centre.X, zb.Centre.Y)
	calib := cal
	out := &report.Calibre{
		Computed: true,
		Zone: &report.Zone{Center: report.NewPoint(ox, oy, w, h),
			InnerPx: report.Round(zb.Inner*t.Scale, 2), OuterPx: report.Round(zb.Outer*t.Scale, 2)},
		Calibration: &calib,
		Circles:     len(c.Circles),
	}
	out.SixWidest = estimateSection(c.Zone, len(c.Zone.Arteries), len(c.Zone.Veins), t.Scale, cal.UmPerPx)
	var na, nv []float64
	for _, cc := range c.Circles {
		na, nv = append(na, float64(len(cc.Arteries))), append(nv, float64(len(cc.Veins)))
	}
	out.MultiCircle = estimateSection(c.MultiCircle, medianCount(na), medianCount(nv), t.Scale, cal.UmPerPx)
	return out, nil
}

// medianCount is the median of counts, rounded down.
func medianCount(v []float64) int {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + m) / 2
	}
	return int(m)
}

// estimateSection converts one CRAE/CRVE/AVR estimate measured on the
// analysis frame (s original px per analysis px; umPerPx per original px,
// 0 when uncalibrated).
func estimateSection(e biomarkers.CalibreEstimate, foundA, foundV int, s, umPerPx float64) *report.CalibreEstimate {
	scaled := func(v *float64, k float64, n int) *float64 {
		if v == nil || k <= 0 {
			return nil
		}
		x := report.Round(*v*k, n)
		return &x
	}
	k, hb := e.Knudtson, e.Hubbard
	return &report.CalibreEstimate{
		ArteriesFound: foundA, VeinsFound: foundV,
		ArteriesUsed: e.ArteriesUsed, VeinsUsed: e.VeinsUsed,
		Knudtson: report.Knudtson{
			CRAEPx: scaled(k.CRAE, s, 2), CRVEPx: scaled(k.CRVE, s, 2),
			CRAEUm: scaled(k.CRAE, s*umPerPx, 1), CRVEUm: scaled(k.CRVE, s*umPerPx, 1),
			AVR: scaled(k.AVR, 1, 3), Absent: k.Absent,
		},
		Hubbard: report.Hubbard{
			CRAEUm: scaled(hb.CRAE, 1, 1), CRVEUm: scaled(hb.CRVE, 1, 1),
			AVR: scaled(hb.AVR, 1, 3), Absent: hb.Absent,
		},
		Warnings: e.Warnings,
	}
}

// toReport converts biomarkers measured on the analysis frame (s original
// px per analysis px) to the report's original pixels and µm.
func toReport(m *biomarkers.Measures, s, umPerPx float64) *report.VesselMeasures {
	um := func(px float64) float64 {
		if umPerPx <= 0 {
			return 0
		}
		return report.Round(px*umPerPx, 1)
	}
	return &report.VesselMeasures{
		MeasuredAt:               "analysis_frame",
		FractalDimensionMask:     report.Round(m.FractalDimensionMask, 4),
		FractalDimensionSkeleton: report.Round(m.FractalDimensionSkeleton, 4),
		DensityFrame:             report.Round(m.DensityFrame, 4),
		AverageWidthPx:           report.Round(m.AverageWidthPx*s, 2),
		AverageWidthUm:           um(m.AverageWidthPx * s),
		MedianSegmentWidthPx:     report.Round(m.MedianSegmentWidthPx*s, 2),
		MedianSegmentWidthUm:     um(m.MedianSegmentWidthPx * s),
		DistanceTortuosity:       report.Round(m.DistanceTortuosity, 4),
		SquaredCurvatureTort:     report.Round(m.CurvatureTortuosityPerPx2/(s*s), 8),
		TortuosityDensity:        report.Round(m.TortuosityDensityPerPx/s, 6),
		MeanBranchingAngleDeg:    report.Round(m.MeanBranchingAngleDeg, 1),
		SegmentCount:             m.SegmentCount,
		BranchPoints:             m.BranchPoints,
		EndPoints:                m.EndPoints,
		CentrelineLengthPx:       report.Round(m.CentrelineLengthPx*s, 1),
		CentrelineLengthUm:       um(m.CentrelineLengthPx * s),
	}
}
