package biomarkers

import (
	"encoding/csv"
	"io"
	"strconv"
)

// Column is one CSV column of a biomarker row: AutoMorph's names come
// first, then RetinalGPT's own in snake_case. Text marks a column of words
// (a name, notes), which summaries leave out. An absent value is "".
type Column struct {
	Header, Value string
	Text          bool
}

// WriteCSV writes rows (each with the same columns as the first) with one
// header line: the layout of `retinalgpt biomarkers --format csv` and of
// the server's report.csv.
func WriteCSV(w io.Writer, rows [][]Column) error {
	cw := csv.NewWriter(w)
	var head []string
	for _, c := range rows[0] {
		head = append(head, c.Header)
	}
	cw.Write(head)
	for _, row := range rows {
		var vals []string
		for _, c := range row {
			vals = append(vals, c.Value)
		}
		cw.Write(vals)
	}
	cw.Flush()
	return cw.Error()
}

// FormatG is v with 6 significant digits; FormatR4 with 4 decimals.
func FormatG(v float64) string  { return strconv.FormatFloat(v, 'g', 6, 64) }
func FormatR4(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// FormatOpt formats an optional value, scaled, with 4 decimals; "" when
// absent.
func FormatOpt(v *float64, scale float64) string {
	if v == nil {
		return ""
	}
	return FormatR4(*v * scale)
}

// AutoMorphColumns are AutoMorph's six image measures, named as AutoMorph
// names them: prefix "", "Artery_" or "Vein_", suffix "" or
// "_zone_b"/"_zone_c".
func AutoMorphColumns(prefix, suffix string, m *Measures) []Column {
	c := func(name, v string) Column { return Column{Header: prefix + name + suffix, Value: v} }
	return []Column{
		c("Fractal_dimension", FormatR4(m.FractalDimensionMask)),
		c("Vessel_density", FormatR4(m.DensityFrame)),
		c("Average_width", FormatR4(m.AverageWidthPx)),
		c("Distance_tortuosity", FormatR4(m.DistanceTortuosity)),
		c("Squared_curvature_tortuosity", FormatG(m.CurvatureTortuosityPerPx2)),
		c("Tortuosity_density", FormatG(m.TortuosityDensityPerPx)),
	}
}

// OwnColumns are RetinalGPT's measures: prefix "", "artery_" or "vein_";
// the µm columns only when umPerPx > 0.
func OwnColumns(prefix, suffix string, m *Measures, umPerPx float64) []Column {
	c := func(name, v string) Column { return Column{Header: prefix + name + suffix, Value: v} }
	cols := []Column{
		c("fractal_dimension_skeleton", FormatR4(m.FractalDimensionSkeleton)),
		c("vessel_density_fov", FormatR4(m.DensityFOV)),
		c("median_segment_width_px", FormatR4(m.MedianSegmentWidthPx)),
		c("mean_branching_angle_deg", strconv.FormatFloat(m.MeanBranchingAngleDeg, 'f', 1, 64)),
		c("segment_count", strconv.Itoa(m.SegmentCount)),
		c("branch_point_count", strconv.Itoa(m.BranchPoints)),
		c("end_point_count", strconv.Itoa(m.EndPoints)),
		c("centreline_length_px", strconv.FormatFloat(m.CentrelineLengthPx, 'f', 1, 64)),
	}
	if umPerPx > 0 {
		cols = append(cols,
			c("average_width_um", strconv.FormatFloat(m.AverageWidthPx*umPerPx, 'f', 2, 64)),
			c("median_segment_width_um", strconv.FormatFloat(m.MedianSegmentWidthPx*umPerPx, 'f', 2, 64)),
			c("centreline_length_um", strconv.FormatFloat(m.CentrelineLengthPx*umPerPx, 'f', 0, 64)))
	}
	return cols
}
