package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

type biomarkerFlags struct {
	mask, fov string
	umPerPx   float64
	format    string
	summary   bool
	// The optic disc, in mask pixels, for zones B and C.
	discX, discY, discR float64
}

func newBiomarkersCmd() *cobra.Command {
	var f biomarkerFlags
	cmd := &cobra.Command{
		Use:   "biomarkers --mask VESSELS.png [--fov FOV.png] | biomarkers MASK...",
		Short: "Vascular biomarkers from your own binary vessel segmentation",
		Long: `Compute the vascular biomarkers from a vessel mask you already have (any
format analyze reads; a pixel is vessel when its brightest channel exceeds
half range). Without --fov the field of view is the whole frame. Several
masks (as arguments) give one CSV row each, or with --summary the median
and quartiles of every measure over them.

--format csv uses AutoMorph's column names for the AutoMorph-compatible
measures (Fractal_dimension = box count on the mask boundary,
Vessel_density = over the whole frame, Average_width = area / centreline
length, Distance_tortuosity, Squared_curvature_tortuosity,
Tortuosity_density) followed by RetinalGPT's own columns; with
--disc-x/--disc-y/--disc-radius the same columns again for zone B (2 to 3
disc radii from the disc centre) and zone C (2 to 5), suffixed _zone_b and
_zone_c as AutoMorph names them. Lengths are in
pixels of the mask, and in µm with --um-per-px. The artery/vein split and
CRAE/CRVE/AVR are not available here yet.`,
		Example: `  retinalgpt biomarkers --mask 01_manual1.gif --fov 01_test_mask.gif
  retinalgpt biomarkers --mask seg.png --format csv --um-per-px 6.5 > features.csv
  retinalgpt biomarkers ../shared/datasets/drive/*/1st_manual/*.gif --summary`,
		Args: checkArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runBiomarkers(cmd, f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.mask, "mask", "", "binary vessel mask (required)")
	fl.StringVar(&f.fov, "fov", "", "field-of-view mask (default: the whole frame)")
	fl.Float64Var(&f.umPerPx, "um-per-px", 0, "micrometres per mask pixel, for µm columns")
	fl.StringVar(&f.format, "format", "text", "output: text, json or csv")
	fl.BoolVar(&f.summary, "summary", false, "print median and quartiles of each measure over all masks")
	fl.Float64Var(&f.discX, "disc-x", 0, "optic disc centre x in mask pixels (with --disc-y and --disc-radius: zone B and C measures)")
	fl.Float64Var(&f.discY, "disc-y", 0, "optic disc centre y in mask pixels")
	fl.Float64Var(&f.discR, "disc-radius", 0, "optic disc radius in mask pixels")
	return cmd
}

func runBiomarkers(cmd *cobra.Command, f biomarkerFlags, args []string) error {
	masks := args
	if f.mask != "" {
		masks = append([]string{f.mask}, args...)
	}
	switch {
	case len(masks) == 0:
		return usageError{errors.New("give a mask: --mask VESSELS.png (or several as arguments)")}
	case f.format != "text" && f.format != "json" && f.format != "csv":
		return usageError{fmt.Errorf("--format %q: want text, json or csv", f.format)}
	case f.umPerPx < 0:
		return usageError{errors.New("--um-per-px must be positive")}
	case f.fov != "" && len(masks) > 1:
		return usageError{errors.New("--fov goes with a single mask")}
	case f.discR < 0 || (f.discR > 0 && len(masks) > 1):
		return usageError{errors.New("--disc-radius must be positive and goes with a single mask")}
	}
	var rows [][]column
	var all []*biomarkers.Measures
	for i, path := range masks {
		if len(masks) > 1 {
			fmt.Fprintf(cmd.ErrOrStderr(), "\r[%d/%d] %s   ", i+1, len(masks), filepath.Base(path))
		}
		mask, fov, err := loadMasks(path, f.fov)
		if err != nil {
			return err
		}
		m, err := biomarkers.Measure(mask, fov)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		all = append(all, m)
		row := biomarkerRow(filepath.Base(path), m, f.umPerPx)
		if f.discR > 0 {
			centre := disc.Point{X: f.discX, Y: f.discY}
			for _, z := range []struct {
				suffix string
				ring   disc.Annulus
			}{{"_zone_b", disc.ZoneB(centre, f.discR)}, {"_zone_c", disc.ZoneC(centre, f.discR)}} {
				zm, err := biomarkers.Measure(mask, zoneMask(mask.Bounds(), fov, z.ring))
				if err != nil {
					return fmt.Errorf("%s%s: %w", path, z.suffix, err)
				}
				for _, c := range biomarkerRow("", zm, f.umPerPx)[1:] {
					row = append(row, column{c.header + z.suffix, c.value})
				}
			}
		}
		rows = append(rows, row)
	}
	if len(masks) > 1 {
		fmt.Fprintln(cmd.ErrOrStderr())
	}
	w := cmd.OutOrStdout()
	if f.summary {
		return writeSummary(w, rows, f.format)
	}
	switch f.format {
	case "json":
		enc := newJSONEncoder(w)
		type entry struct {
			Mask     string               `json:"mask"`
			UmPerPx  float64              `json:"um_per_px,omitempty"`
			Measures *biomarkers.Measures `json:"measures"`
		}
		var out []entry
		for i, m := range all {
			out = append(out, entry{masks[i], f.umPerPx, m})
		}
		if len(out) == 1 {
			return enc.Encode(out[0])
		}
		return enc.Encode(out)
	case "csv":
		return writeCSV(w, rows)
	}
	for i, row := range rows {
		if len(rows) > 1 {
			fmt.Fprintf(w, "%s\n", masks[i])
		}
		for _, c := range row[1:] {
			fmt.Fprintf(w, "  %-38s %s\n", c.header, c.value)
		}
	}
	return nil
}

// loadMasks reads a vessel mask and, if fovPath is set, its FOV mask.
func loadMasks(path, fovPath string) (mask, fov *image.Gray, err error) {
	if mask, err = fundus.LoadMask(path, fundus.Limits{}); err != nil {
		return nil, nil, err
	}
	if fovPath == "" {
		return mask, nil, nil
	}
	if fov, err = fundus.LoadMask(fovPath, fundus.Limits{}); err != nil {
		return nil, nil, err
	}
	if fov.Bounds() != mask.Bounds() {
		return nil, nil, fmt.Errorf("--fov %s is %v, the mask %v", fovPath, fov.Bounds().Size(), mask.Bounds().Size())
	}
	return mask, fov, nil
}

// zoneMask is the ring's pixels (by pixel centre) inside the FOV (nil: all).
func zoneMask(b image.Rectangle, fov *image.Gray, ring disc.Annulus) *image.Gray {
	z := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := z.PixOffset(x, y)
			if (fov == nil || fov.Pix[i] != 0) && ring.Contains(disc.Point{X: float64(x) + 0.5, Y: float64(y) + 0.5}) {
				z.Pix[i] = 255
			}
		}
	}
	return z
}

// writeSummary prints, per numeric column, the median and the quartiles
// over all rows (quartiles by linear interpolation between order
// statistics).
func writeSummary(w io.Writer, rows [][]column, format string) error {
	type stat struct {
		Measure        string
		Median, Q1, Q3 float64
		N              int
	}
	var stats []stat
	for j := 1; j < len(rows[0]); j++ {
		var v []float64
		for _, r := range rows {
			if x, err := strconv.ParseFloat(r[j].value, 64); err == nil {
				v = append(v, x)
			}
		}
		slices.Sort(v)
		stats = append(stats, stat{rows[0][j].header, quantile(v, 0.5), quantile(v, 0.25), quantile(v, 0.75), len(v)})
	}
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.Write([]string{"measure", "n", "median", "q1", "q3"})
		for _, s := range stats {
			g := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
			cw.Write([]string{s.Measure, strconv.Itoa(s.N), g(s.Median), g(s.Q1), g(s.Q3)})
		}
		cw.Flush()
		return cw.Error()
	}
	if format == "json" {
		enc := newJSONEncoder(w)
		return enc.Encode(stats)
	}
	fmt.Fprintf(w, "%-38s %5s %12s %12s %12s\n", "measure", "n", "median", "Q1", "Q3")
	for _, s := range stats {
		fmt.Fprintf(w, "%-38s %5d %12.6g %12.6g %12.6g\n", s.Measure, s.N, s.Median, s.Q1, s.Q3)
	}
	return nil
}

// quantile of sorted values, linear between order statistics; NaN if empty.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// column is one CSV column; AutoMorph's names come first.
type column struct{ header, value string }

func biomarkerRow(name string, m *biomarkers.Measures, umPerPx float64) []column {
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	r4 := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	cols := []column{
		{"Name", name},
		{"Fractal_dimension", r4(m.FractalDimensionMask)},
		{"Vessel_density", r4(m.DensityFrame)},
		{"Average_width", r4(m.AverageWidthPx)},
		{"Distance_tortuosity", r4(m.DistanceTortuosity)},
		{"Squared_curvature_tortuosity", num(m.CurvatureTortuosityPerPx2)},
		{"Tortuosity_density", num(m.TortuosityDensityPerPx)},
		{"fractal_dimension_skeleton", r4(m.FractalDimensionSkeleton)},
		{"vessel_density_fov", r4(m.DensityFOV)},
		{"median_segment_width_px", r4(m.MedianSegmentWidthPx)},
		{"mean_branching_angle_deg", strconv.FormatFloat(m.MeanBranchingAngleDeg, 'f', 1, 64)},
		{"segment_count", strconv.Itoa(m.SegmentCount)},
		{"branch_point_count", strconv.Itoa(m.BranchPoints)},
		{"end_point_count", strconv.Itoa(m.EndPoints)},
		{"centreline_length_px", strconv.FormatFloat(m.CentrelineLengthPx, 'f', 1, 64)},
	}
	if umPerPx > 0 {
		cols = append(cols,
			column{"average_width_um", strconv.FormatFloat(m.AverageWidthPx*umPerPx, 'f', 2, 64)},
			column{"median_segment_width_um", strconv.FormatFloat(m.MedianSegmentWidthPx*umPerPx, 'f', 2, 64)},
			column{"centreline_length_um", strconv.FormatFloat(m.CentrelineLengthPx*umPerPx, 'f', 0, 64)})
	}
	return cols
}

func writeCSV(w io.Writer, rows [][]column) error {
	cw := csv.NewWriter(w)
	var head []string
	for _, c := range rows[0] {
		head = append(head, c.header)
	}
	cw.Write(head)
	for _, row := range rows {
		var vals []string
		for _, c := range row {
			vals = append(vals, c.value)
		}
		cw.Write(vals)
	}
	cw.Flush()
	return cw.Error()
}
