package server

import (
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// The report.csv row is `retinalgpt biomarkers --format csv`'s layout
// (biomarkers.AutoMorphColumns, OwnColumns and WriteCSV), filled from the
// Report's measures rather than from a mask. The mapping:
//
//   - vessels.measures, .artery, .vein and vessels.zones[B|C] (.measures,
//     .artery, .vein) give the six AutoMorph columns and our own per tree
//     and zone; lengths are in original-image pixels (the CLI's are in
//     mask pixels), µm columns appear when the report's vessel measures
//     are calibrated (calibration.um_per_px).
//   - vessel_density_fov is vessels.density_fov for the whole tree,
//     av.artery_px/vessels.fov_px and av.vein_px/vessels.fov_px for the
//     trees, vessels.zones[].density for a zone; a zone's artery and vein
//     densities are not in the Report and stay empty.
//   - CRAE/CRVE/AVR_*_zone_b are vessels.calibre.six_widest (Knudtson in
//     original pixels, Hubbard in µm), the *_circles_zone_b columns
//     vessels.calibre.multi_circle; the Report has no zone C calibre, so
//     those columns are empty, as is av_crossing_segment_count.
//   - calibre_notes joins vessels.calibre.absent and the estimates'
//     warnings.
//
// Empty means absent, as in the CLI's CSV.

var csvZones = []struct{ name, suffix string }{{"B", "_zone_b"}, {"C", "_zone_c"}}

// toMeasures is a Report's vessel measures in the biomarkers package's
// form; densityFOV NaN means not known (the column is left empty).
func toMeasures(v *report.VesselMeasures, densityFOV float64) *biomarkers.Measures {
	if v == nil {
		n := math.NaN()
		return &biomarkers.Measures{FractalDimensionMask: n, FractalDimensionSkeleton: n, DensityFOV: n, DensityFrame: n,
			AverageWidthPx: n, MedianSegmentWidthPx: n, DistanceTortuosity: n, CurvatureTortuosityPerPx2: n,
			TortuosityDensityPerPx: n, MeanBranchingAngleDeg: n, CentrelineLengthPx: n}
	}
	return &biomarkers.Measures{
		FractalDimensionMask: v.FractalDimensionMask, FractalDimensionSkeleton: v.FractalDimensionSkeleton,
		DensityFOV: densityFOV, DensityFrame: v.DensityFrame, AverageWidthPx: v.AverageWidthPx,
		MedianSegmentWidthPx: v.MedianSegmentWidthPx, DistanceTortuosity: v.DistanceTortuosity,
		CurvatureTortuosityPerPx2: v.SquaredCurvatureTort, TortuosityDensityPerPx: v.TortuosityDensity,
		MeanBranchingAngleDeg: v.MeanBranchingAngleDeg, SegmentCount: v.SegmentCount,
		BranchPoints: v.BranchPoints, EndPoints: v.EndPoints, CentrelineLengthPx: v.CentrelineLengthPx,
	}
}

func ratio(a, b int) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// reportRow lays out one Report as the CLI lays out one mask. It returns
// nil when the Report has no vessel measures.
func reportRow(r *report.Report) []biomarkers.Column {
	v := r.Vessels
	if v == nil || v.Measures == nil {
		return nil
	}
	name := r.Image.File
	if name == "" {
		name = r.ID
	}
	um := 0.0
	if v.Measures.AverageWidthUm > 0 {
		um = r.Calibration.UmPerPx
	}
	av := v.Artery != nil && v.Vein != nil
	artDens, veinDens := math.NaN(), math.NaN()
	if v.AV != nil {
		artDens, veinDens = ratio(v.AV.ArteryPx, v.FOVPx), ratio(v.AV.VeinPx, v.FOVPx)
	}
	type zone struct {
		suffix string
		z      report.VesselZone
	}
	var zones []zone
	for _, cz := range csvZones {
		for _, z := range v.Zones {
			if z.Zone == cz.name && z.Measures != nil {
				zones = append(zones, zone{cz.suffix, z})
			}
		}
	}
	var six, circles *report.CalibreEstimate
	if c := v.Calibre; c != nil && c.Computed {
		six, circles = c.SixWidest, c.MultiCircle
	}
	if six == nil {
		six = &report.CalibreEstimate{}
	}
	if circles == nil {
		circles = &report.CalibreEstimate{}
	}
	opt := func(p *float64) string { return biomarkers.FormatOpt(p, 1) }

	cols := []biomarkers.Column{{Header: "Name", Value: name, Text: true}}
	cols = append(cols, biomarkers.AutoMorphColumns("", "", toMeasures(v.Measures, v.DensityFOV))...)
	if av {
		cols = append(cols, biomarkers.AutoMorphColumns("Artery_", "", toMeasures(v.Artery, artDens))...)
		cols = append(cols, biomarkers.AutoMorphColumns("Vein_", "", toMeasures(v.Vein, veinDens))...)
	}
	for _, z := range zones {
		cols = append(cols, biomarkers.AutoMorphColumns("", z.suffix, toMeasures(z.z.Measures, z.z.Density))...)
		if !av {
			continue
		}
		var k report.Knudtson
		var h report.Hubbard
		if z.suffix == "_zone_b" {
			k, h = six.Knudtson, six.Hubbard
		}
		cols = append(cols, biomarkers.AutoMorphColumns("Artery_", z.suffix, toMeasures(z.z.Artery, math.NaN()))...)
		cols = append(cols,
			biomarkers.Column{Header: "CRAE_Hubbard" + z.suffix, Value: opt(h.CRAEUm)},
			biomarkers.Column{Header: "CRAE_Knudtson" + z.suffix, Value: opt(k.CRAEPx)})
		cols = append(cols, biomarkers.AutoMorphColumns("Vein_", z.suffix, toMeasures(z.z.Vein, math.NaN()))...)
		cols = append(cols,
			biomarkers.Column{Header: "CRVE_Hubbard" + z.suffix, Value: opt(h.CRVEUm)},
			biomarkers.Column{Header: "CRVE_Knudtson" + z.suffix, Value: opt(k.CRVEPx)},
			biomarkers.Column{Header: "AVR_Hubbard" + z.suffix, Value: opt(h.AVR)},
			biomarkers.Column{Header: "AVR_Knudtson" + z.suffix, Value: opt(k.AVR)})
	}
	cols = append(cols, biomarkers.OwnColumns("", "", toMeasures(v.Measures, v.DensityFOV), um)...)
	if av {
		cols = append(cols, biomarkers.OwnColumns("artery_", "", toMeasures(v.Artery, artDens), um)...)
		cols = append(cols, biomarkers.OwnColumns("vein_", "", toMeasures(v.Vein, veinDens), um)...)
		l := v.AV
		if l == nil {
			l = &report.AVLabels{}
		}
		cols = append(cols,
			biomarkers.Column{Header: "av_artery_segment_count", Value: strconv.Itoa(l.ArterySegments)},
			biomarkers.Column{Header: "av_vein_segment_count", Value: strconv.Itoa(l.VeinSegments)},
			biomarkers.Column{Header: "av_crossing_segment_count"},
			biomarkers.Column{Header: "av_unlabelled_segment_count", Value: strconv.Itoa(l.UnlabelledSegments)},
			biomarkers.Column{Header: "av_labelled_length_fraction", Value: biomarkers.FormatR4(l.LabelledLengthFraction)},
			biomarkers.Column{Header: "av_mean_label_confidence", Value: biomarkers.FormatR4(l.MeanConfidence)})
	}
	for _, z := range zones {
		cols = append(cols, biomarkers.OwnColumns("", z.suffix, toMeasures(z.z.Measures, z.z.Density), um)...)
		if !av {
			continue
		}
		cols = append(cols, biomarkers.OwnColumns("artery_", z.suffix, toMeasures(z.z.Artery, math.NaN()), um)...)
		cols = append(cols, biomarkers.OwnColumns("vein_", z.suffix, toMeasures(z.z.Vein, math.NaN()), um)...)
		e := &report.CalibreEstimate{}
		if z.suffix == "_zone_b" {
			e = six
		}
		c := func(h, v string) biomarkers.Column { return biomarkers.Column{Header: h + z.suffix, Value: v} }
		cnt := func(n int) string {
			if z.suffix != "_zone_b" || v.Calibre == nil || !v.Calibre.Computed {
				return ""
			}
			return strconv.Itoa(n)
		}
		cols = append(cols, c("crae_vessel_count", cnt(e.ArteriesUsed)), c("crve_vessel_count", cnt(e.VeinsUsed)))
		if um > 0 {
			cols = append(cols, c("crae_knudtson_um", opt(e.Knudtson.CRAEUm)), c("crve_knudtson_um", opt(e.Knudtson.CRVEUm)))
		}
		if z.suffix != "_zone_b" {
			continue
		}
		mk, mh := circles.Knudtson, circles.Hubbard
		cols = append(cols,
			c("crae_knudtson_circles", opt(mk.CRAEPx)), c("crve_knudtson_circles", opt(mk.CRVEPx)), c("avr_knudtson_circles", opt(mk.AVR)),
			c("crae_hubbard_circles", opt(mh.CRAEUm)), c("crve_hubbard_circles", opt(mh.CRVEUm)), c("avr_hubbard_circles", opt(mh.AVR)),
			c("crae_vessel_count_circles", cnt(circles.ArteriesUsed)), c("crve_vessel_count_circles", cnt(circles.VeinsUsed)))
		if um > 0 {
			cols = append(cols, c("crae_knudtson_circles_um", opt(mk.CRAEUm)), c("crve_knudtson_circles_um", opt(mk.CRVEUm)))
		}
	}
	if av {
		cols = append(cols, biomarkers.Column{Header: "calibre_notes", Value: calibreNotes(v.Calibre), Text: true})
	}
	for i := range cols {
		if cols[i].Value == "NaN" {
			cols[i].Value = ""
		}
	}
	return cols
}

// calibreNotes says in one line why CRAE/CRVE/AVR are absent or weak.
func calibreNotes(c *report.Calibre) string {
	if c == nil {
		return "calibre not computed"
	}
	var notes []string
	add := func(n string) {
		if n != "" && !slices.Contains(notes, n) {
			notes = append(notes, n)
		}
	}
	add(c.Absent)
	for _, e := range []struct {
		what string
		est  *report.CalibreEstimate
	}{{"zone B", c.SixWidest}, {"zone B circles", c.MultiCircle}} {
		if e.est == nil {
			continue
		}
		for _, w := range e.est.Warnings {
			add(e.what + ": " + w)
		}
		if e.est.Knudtson.Absent != "" {
			add(e.what + ": " + e.est.Knudtson.Absent)
		}
		if e.est.Hubbard.Absent != "" {
			add(e.what + ": " + e.est.Hubbard.Absent)
		}
	}
	return strings.Join(notes, "; ")
}

// writeReportCSV writes the header and the one row of r.
func writeReportCSV(w io.Writer, r *report.Report) error {
	row := reportRow(r)
	if row == nil {
		row = []biomarkers.Column{{Header: "Name", Value: r.ID, Text: true}}
	}
	return biomarkers.WriteCSV(w, [][]biomarkers.Column{row})
}
