package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

type biomarkerFlags struct {
	mask, fov string
	umPerPx   float64
	format    string
}

func newBiomarkersCmd() *cobra.Command {
	var f biomarkerFlags
	cmd := &cobra.Command{
		Use:   "biomarkers --mask VESSELS.png [--fov FOV.png]",
		Short: "Vascular biomarkers from your own binary vessel segmentation",
		Long: `Compute the vascular biomarkers from a vessel mask you already have (any
format analyze reads; a pixel is vessel when its brightest channel exceeds
half range). Without --fov the field of view is the whole frame.

--format csv uses AutoMorph's column names for the AutoMorph-compatible
measures (Fractal_dimension = box count on the mask boundary,
Vessel_density = over the whole frame, Average_width = area / centreline
length, Distance_tortuosity, Squared_curvature_tortuosity,
Tortuosity_density) followed by RetinalGPT's own columns. Lengths are in
pixels of the mask, and in µm with --um-per-px. Artery/vein split and
zones B/C are not available here yet.`,
		Example: `  retinalgpt biomarkers --mask 01_manual1.gif --fov 01_test_mask.gif
  retinalgpt biomarkers --mask seg.png --format csv --um-per-px 6.5 > features.csv`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runBiomarkers(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.mask, "mask", "", "binary vessel mask (required)")
	fl.StringVar(&f.fov, "fov", "", "field-of-view mask (default: the whole frame)")
	fl.Float64Var(&f.umPerPx, "um-per-px", 0, "micrometres per mask pixel, for µm columns")
	fl.StringVar(&f.format, "format", "text", "output: text, json or csv")
	return cmd
}

func runBiomarkers(cmd *cobra.Command, f biomarkerFlags) error {
	if f.mask == "" {
		return usageError{errors.New("--mask is required")}
	}
	if f.format != "text" && f.format != "json" && f.format != "csv" {
		return usageError{fmt.Errorf("--format %q: want text, json or csv", f.format)}
	}
	if f.umPerPx < 0 {
		return usageError{errors.New("--um-per-px must be positive")}
	}
	mask, err := loadMask(f.mask)
	if err != nil {
		return err
	}
	var fov *image.Gray
	if f.fov != "" {
		if fov, err = loadMask(f.fov); err != nil {
			return err
		}
		if fov.Bounds() != mask.Bounds() {
			return fmt.Errorf("--fov %s is %v, the mask %v", f.fov, fov.Bounds().Size(), mask.Bounds().Size())
		}
	}
	m, err := biomarkers.Measure(mask, fov)
	if err != nil {
		return fmt.Errorf("%s: %w", f.mask, err)
	}
	w := cmd.OutOrStdout()
	row := biomarkerRow(filepath.Base(f.mask), m, f.umPerPx)
	switch f.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		out := map[string]any{"mask": f.mask, "measures": m}
		if f.umPerPx > 0 {
			out["um_per_px"] = f.umPerPx
		}
		return enc.Encode(out)
	case "csv":
		return writeCSV(w, row)
	}
	for _, c := range row {
		if c.header != "Name" {
			fmt.Fprintf(w, "%-38s %s\n", c.header, c.value)
		}
	}
	return nil
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

func writeCSV(w io.Writer, row []column) error {
	cw := csv.NewWriter(w)
	var head, vals []string
	for _, c := range row {
		head = append(head, c.header)
		vals = append(vals, c.value)
	}
	cw.Write(head)
	cw.Write(vals)
	cw.Flush()
	return cw.Error()
}

// loadMask reads a binary image: set where the brightest channel > 127.
func loadMask(path string) (*image.Gray, error) {
	img, err := fundus.Load(path, fundus.Limits{})
	if err != nil {
		return nil, err
	}
	g := image.NewGray(image.Rect(0, 0, img.Width, img.Height))
	for i := range g.Pix {
		p := img.Pix.Pix[4*i : 4*i+3]
		if max(p[0], p[1], p[2]) > 127 {
			g.Pix[i] = 255
		}
	}
	return g, nil
}
