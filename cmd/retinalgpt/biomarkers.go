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
	"strings"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/biomarkers"
	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

type biomarkerFlags struct {
	mask, fov, av string
	umPerPx       float64
	format        string
	summary       bool
	// The optic disc, in mask pixels, for zones B and C.
	discX, discY, discR float64
}

func newBiomarkersCmd() *cobra.Command {
	var f biomarkerFlags
	cmd := &cobra.Command{
		Use:   "biomarkers --mask VESSELS.png [--fov FOV.png] [--av AV.png] [--disc-x X --disc-y Y --disc-radius R] | biomarkers MASK...",
		Short: "Vascular biomarkers from your own binary vessel segmentation",
		Long: `Compute the vascular biomarkers from a vessel mask you already have (any
format analyze reads; a pixel is vessel when its brightest channel exceeds
half range). Without --fov the field of view is the whole frame. Several
masks (as arguments) give one CSV row each, or with --summary the median
and quartiles of every measure over them.

--format csv puts AutoMorph's column names first, for the
AutoMorph-compatible measures (Fractal_dimension = box count on the mask
boundary, Vessel_density = over the whole frame, Average_width = area /
centreline length, Distance_tortuosity, Squared_curvature_tortuosity,
Tortuosity_density), then RetinalGPT's own columns in snake_case. With
--disc-x/--disc-y/--disc-radius the measures are repeated for zone B (2 to
3 disc radii from the disc centre) and zone C (2 to 5), suffixed _zone_b
and _zone_c as AutoMorph names them. Lengths are in pixels of the mask,
and in µm with --um-per-px.

--av reads an artery/vein map of the mask's size in the RITE colour code
(black background, red artery, blue vein, green crossing, white
uncertain; other colours go to the nearest). Each centreline segment
takes the majority label of its pixels, and every measure is repeated for
the arteries (Artery_..., artery_...) and the veins (Vein_..., vein_...).
With a disc as well, each zone gets CRAE, CRVE and AVR from its six
widest arterioles and venules: CRAE_Knudtson_zone_b in mask pixels,
CRAE_Hubbard_zone_b in µm and only with --um-per-px (its constants are in
µm); zone B also gets the median over five circles from 2 to 3 disc radii
(crae_knudtson_circles_zone_b, ...). Zone B is the standard zone for
CRAE/CRVE; zone C's are there because AutoMorph reports them.
calibre_notes says why a value is absent or came from fewer than six
vessels. --av, like --fov and the disc, goes with a single mask: run the
command once per image to measure several.`,
		Example: `  retinalgpt biomarkers --mask 01_manual1.gif --fov 01_test_mask.gif
  retinalgpt biomarkers --mask seg.png --format csv --um-per-px 6.5 > features.csv
  retinalgpt biomarkers --mask 01_manual1.gif --av 01_test.png --disc-x 103.5 --disc-y 253.5 --disc-radius 38
  retinalgpt biomarkers ../shared/datasets/drive/*/1st_manual/*.gif --summary`,
		Args: checkArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runBiomarkers(cmd, f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.mask, "mask", "", "binary vessel mask (required)")
	fl.StringVar(&f.fov, "fov", "", "field-of-view mask (default: the whole frame)")
	fl.StringVar(&f.av, "av", "", "artery/vein map in the RITE colour code, the mask's size (single mask only)")
	fl.Float64Var(&f.umPerPx, "um-per-px", 0, "micrometres per mask pixel, for µm columns and the Hubbard formulas")
	fl.StringVar(&f.format, "format", "text", "output: text, json or csv")
	fl.BoolVar(&f.summary, "summary", false, "print median and quartiles of each measure over all masks")
	fl.Float64Var(&f.discX, "disc-x", 0, "optic disc centre x in mask pixels (with --disc-y and --disc-radius: zone B and C measures)")
	fl.Float64Var(&f.discY, "disc-y", 0, "optic disc centre y in mask pixels")
	fl.Float64Var(&f.discR, "disc-radius", 0, "optic disc radius in mask pixels")
	return cmd
}

// noDisc is why CRAE/CRVE/AVR are absent without a disc.
const noDisc = "no optic disc given: --disc-x, --disc-y and --disc-radius place zone B"

// zoneJSON is one zone's measures in the JSON output.
type zoneJSON struct {
	Measures *biomarkers.Measures `json:"measures"`
	Artery   *biomarkers.Measures `json:"artery,omitempty"`
	Vein     *biomarkers.Measures `json:"vein,omitempty"`
	// Calibre is CRAE/CRVE/AVR from the vessels in the zone (with --av).
	Calibre *biomarkers.Calibre `json:"calibre,omitempty"`
}

// avLabelsJSON summarises the segment labels in the JSON output.
type avLabelsJSON struct {
	ArterySegments         int     `json:"artery_segment_count"`
	VeinSegments           int     `json:"vein_segment_count"`
	CrossingSegments       int     `json:"crossing_segment_count"`
	UnlabelledSegments     int     `json:"unlabelled_segment_count"`
	LabelledLengthFraction float64 `json:"labelled_length_fraction"`
	MeanConfidence         float64 `json:"mean_label_confidence"`
}

// biomarkerResult is everything measured on one mask.
type biomarkerResult struct {
	Mask          string               `json:"mask"`
	AV            string               `json:"av,omitempty"`
	UmPerPx       float64              `json:"um_per_px,omitempty"`
	Measures      *biomarkers.Measures `json:"measures"`
	Artery        *biomarkers.Measures `json:"artery,omitempty"`
	Vein          *biomarkers.Measures `json:"vein,omitempty"`
	AVLabels      *avLabelsJSON        `json:"av_labels,omitempty"`
	Zones         map[string]*zoneJSON `json:"zones,omitempty"`
	CalibreAbsent string               `json:"calibre_absent,omitempty"`
}

// zoneSuffixes are the zones in column order.
var zoneSuffixes = []string{"_zone_b", "_zone_c"}

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
	case f.av != "" && len(masks) > 1:
		return usageError{errors.New("--av goes with a single mask (run once per image)")}
	case f.discR < 0 || (f.discR > 0 && len(masks) > 1):
		return usageError{errors.New("--disc-radius must be positive and goes with a single mask")}
	}
	var rows [][]column
	var all []*biomarkerResult
	for i, path := range masks {
		if len(masks) > 1 {
			fmt.Fprintf(cmd.ErrOrStderr(), "\r[%d/%d] %s   ", i+1, len(masks), filepath.Base(path))
		}
		res, err := measureMask(path, f)
		if err != nil {
			return err
		}
		all = append(all, res)
		rows = append(rows, biomarkerRow(filepath.Base(path), res))
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
		if len(all) == 1 {
			return enc.Encode(all[0])
		}
		return enc.Encode(all)
	case "csv":
		return writeCSV(w, rows)
	}
	for i, row := range rows {
		if len(rows) > 1 {
			fmt.Fprintf(w, "%s\n", masks[i])
		}
		for _, c := range row[1:] {
			v := c.Value
			if v == "" {
				v = "-"
			}
			fmt.Fprintf(w, "  %-42s %s\n", c.Header, v)
		}
	}
	return nil
}

// measureMask measures one mask with everything the flags ask for.
func measureMask(path string, f biomarkerFlags) (*biomarkerResult, error) {
	mask, fov, err := loadMasks(path, f.fov)
	if err != nil {
		return nil, err
	}
	res := &biomarkerResult{Mask: path, AV: f.av, UmPerPx: f.umPerPx}
	var avm *biomarkers.AVMeasures
	if f.av != "" {
		av, err := loadAV(f.av, mask.Bounds())
		if err != nil {
			return nil, err
		}
		if avm, err = biomarkers.MeasureAV(mask, fov, av, biomarkers.Options{}); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		res.Measures, res.Artery, res.Vein = avm.All, avm.Artery, avm.Vein
		res.AVLabels = &avLabelsJSON{avm.ArterySegments, avm.VeinSegments, avm.CrossingSegments,
			avm.UnlabelledSegments, avm.LabelledLengthFraction, avm.MeanConfidence}
	} else if res.Measures, err = biomarkers.Measure(mask, fov); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.discR <= 0 {
		if avm != nil {
			res.CalibreAbsent = noDisc
		}
		return res, nil
	}
	centre := disc.Point{X: f.discX, Y: f.discY}
	res.Zones = map[string]*zoneJSON{}
	for _, z := range []struct {
		suffix string
		ring   disc.Annulus
	}{{"_zone_b", disc.ZoneB(centre, f.discR)}, {"_zone_c", disc.ZoneC(centre, f.discR)}} {
		zm := zoneMask(mask.Bounds(), fov, z.ring)
		zj := &zoneJSON{}
		if zj.Measures, err = biomarkers.Measure(mask, zm); err != nil {
			return nil, fmt.Errorf("%s%s: %w", path, z.suffix, err)
		}
		if avm != nil {
			// The A/V masks are zero-origin, as zoneMask is for a mask
			// that fundus loaded.
			if zj.Artery, err = biomarkers.Measure(avm.ArteryMask, zm); err != nil {
				return nil, fmt.Errorf("%s%s arteries: %w", path, z.suffix, err)
			}
			if zj.Vein, err = biomarkers.Measure(avm.VeinMask, zm); err != nil {
				return nil, fmt.Errorf("%s%s veins: %w", path, z.suffix, err)
			}
			ring := biomarkers.Ring{X: z.ring.Centre.X, Y: z.ring.Centre.Y, Inner: z.ring.Inner, Outer: z.ring.Outer}
			if zj.Calibre, err = biomarkers.MeasureCalibre(avm, ring, biomarkers.CalibreOptions{UmPerPx: f.umPerPx}); err != nil {
				return nil, fmt.Errorf("%s%s: %w", path, z.suffix, err)
			}
		}
		res.Zones[strings.TrimPrefix(z.suffix, "_")] = zj
	}
	return res, nil
}

// loadAV reads an artery/vein map in the RITE colour code and checks that
// it matches the mask.
func loadAV(path string, b image.Rectangle) (*biomarkers.AVMap, error) {
	img, err := fundus.Load(path, fundus.Limits{})
	if err != nil {
		return nil, fmt.Errorf("--av: %w", err)
	}
	if img.Width != b.Dx() || img.Height != b.Dy() {
		return nil, fmt.Errorf("--av %s is %dx%d, the mask %dx%d", path, img.Width, img.Height, b.Dx(), b.Dy())
	}
	return biomarkers.AVMapFromRITE(img.Pix), nil
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
		if rows[0][j].Text {
			continue
		}
		var v []float64
		for _, r := range rows {
			if x, err := strconv.ParseFloat(r[j].Value, 64); err == nil {
				v = append(v, x)
			}
		}
		slices.Sort(v)
		stats = append(stats, stat{rows[0][j].Header, quantile(v, 0.5), quantile(v, 0.25), quantile(v, 0.75), len(v)})
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

// column is one CSV column (biomarkers.Column).
type column = biomarkers.Column

func num(v float64) string                 { return biomarkers.FormatG(v) }
func r4(v float64) string                  { return biomarkers.FormatR4(v) }
func opt(v *float64, scale float64) string { return biomarkers.FormatOpt(v, scale) }

var (
	autoMorphColumns = biomarkers.AutoMorphColumns
	ownColumns       = biomarkers.OwnColumns
	writeCSV         = biomarkers.WriteCSV
)

// biomarkerRow lays out one result: the name, then every column named
// after AutoMorph in AutoMorph's order (all vessels, then per zone all
// vessels, arteries and CRAE, veins, CRVE and AVR), then RetinalGPT's own
// columns in the same order. Absent values are empty; without a disc there
// are no zone columns at all.
func biomarkerRow(name string, r *biomarkerResult) []column {
	cols := []column{{Header: "Name", Value: name, Text: true}}
	av := r.AV != ""
	type zone struct {
		suffix string
		z      *zoneJSON
	}
	var zones []zone
	for _, s := range zoneSuffixes {
		if z := r.Zones[strings.TrimPrefix(s, "_")]; z != nil {
			zones = append(zones, zone{s, z})
		}
	}
	// AutoMorph's columns.
	cols = append(cols, autoMorphColumns("", "", r.Measures)...)
	if av {
		cols = append(cols, autoMorphColumns("Artery_", "", r.Artery)...)
		cols = append(cols, autoMorphColumns("Vein_", "", r.Vein)...)
	}
	for _, z := range zones {
		cols = append(cols, autoMorphColumns("", z.suffix, z.z.Measures)...)
		if !av {
			continue
		}
		var k, h biomarkers.Equivalents
		if c := z.z.Calibre; c != nil {
			k, h = c.Zone.Knudtson, c.Zone.Hubbard
		}
		cols = append(cols, autoMorphColumns("Artery_", z.suffix, z.z.Artery)...)
		cols = append(cols,
			column{Header: "CRAE_Hubbard" + z.suffix, Value: opt(h.CRAE, 1)},
			column{Header: "CRAE_Knudtson" + z.suffix, Value: opt(k.CRAE, 1)})
		cols = append(cols, autoMorphColumns("Vein_", z.suffix, z.z.Vein)...)
		cols = append(cols,
			column{Header: "CRVE_Hubbard" + z.suffix, Value: opt(h.CRVE, 1)},
			column{Header: "CRVE_Knudtson" + z.suffix, Value: opt(k.CRVE, 1)},
			column{Header: "AVR_Hubbard" + z.suffix, Value: opt(h.AVR, 1)},
			column{Header: "AVR_Knudtson" + z.suffix, Value: opt(k.AVR, 1)})
	}
	// Our own.
	cols = append(cols, ownColumns("", "", r.Measures, r.UmPerPx)...)
	if av {
		cols = append(cols, ownColumns("artery_", "", r.Artery, r.UmPerPx)...)
		cols = append(cols, ownColumns("vein_", "", r.Vein, r.UmPerPx)...)
		l := r.AVLabels
		cols = append(cols,
			column{Header: "av_artery_segment_count", Value: strconv.Itoa(l.ArterySegments)},
			column{Header: "av_vein_segment_count", Value: strconv.Itoa(l.VeinSegments)},
			column{Header: "av_crossing_segment_count", Value: strconv.Itoa(l.CrossingSegments)},
			column{Header: "av_unlabelled_segment_count", Value: strconv.Itoa(l.UnlabelledSegments)},
			column{Header: "av_labelled_length_fraction", Value: r4(l.LabelledLengthFraction)},
			column{Header: "av_mean_label_confidence", Value: r4(l.MeanConfidence)})
	}
	for _, z := range zones {
		cols = append(cols, ownColumns("", z.suffix, z.z.Measures, r.UmPerPx)...)
		if av {
			cols = append(cols, ownColumns("artery_", z.suffix, z.z.Artery, r.UmPerPx)...)
			cols = append(cols, ownColumns("vein_", z.suffix, z.z.Vein, r.UmPerPx)...)
			cols = append(cols, calibreOwnColumns(z.suffix, z.z.Calibre, r.UmPerPx)...)
		}
	}
	if av {
		cols = append(cols, column{Header: "calibre_notes", Value: calibreNotes(r), Text: true})
	}
	return cols
}

// prefixed is p+s, or "" when s is.
func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// calibreOwnColumns are, for one zone, the number of vessels the summary
// formulas used, the Knudtson values in µm, and for zone B the
// multi-circle variant.
func calibreOwnColumns(suffix string, c *biomarkers.Calibre, umPerPx float64) []column {
	z, mc := c.Zone, c.MultiCircle
	cols := []column{
		{Header: "crae_vessel_count" + suffix, Value: strconv.Itoa(z.ArteriesUsed)},
		{Header: "crve_vessel_count" + suffix, Value: strconv.Itoa(z.VeinsUsed)},
	}
	if umPerPx > 0 {
		cols = append(cols,
			column{Header: "crae_knudtson_um" + suffix, Value: opt(z.Knudtson.CRAE, umPerPx)},
			column{Header: "crve_knudtson_um" + suffix, Value: opt(z.Knudtson.CRVE, umPerPx)})
	}
	if suffix != "_zone_b" {
		return cols
	}
	cols = append(cols,
		column{Header: "crae_knudtson_circles" + suffix, Value: opt(mc.Knudtson.CRAE, 1)},
		column{Header: "crve_knudtson_circles" + suffix, Value: opt(mc.Knudtson.CRVE, 1)},
		column{Header: "avr_knudtson_circles" + suffix, Value: opt(mc.Knudtson.AVR, 1)},
		column{Header: "crae_hubbard_circles" + suffix, Value: opt(mc.Hubbard.CRAE, 1)},
		column{Header: "crve_hubbard_circles" + suffix, Value: opt(mc.Hubbard.CRVE, 1)},
		column{Header: "avr_hubbard_circles" + suffix, Value: opt(mc.Hubbard.AVR, 1)},
		column{Header: "crae_vessel_count_circles" + suffix, Value: strconv.Itoa(mc.ArteriesUsed)},
		column{Header: "crve_vessel_count_circles" + suffix, Value: strconv.Itoa(mc.VeinsUsed)})
	if umPerPx > 0 {
		cols = append(cols,
			column{Header: "crae_knudtson_circles_um" + suffix, Value: opt(mc.Knudtson.CRAE, umPerPx)},
			column{Header: "crve_knudtson_circles_um" + suffix, Value: opt(mc.Knudtson.CRVE, umPerPx)})
	}
	return cols
}

// calibreNotes says, in one line, why CRAE/CRVE/AVR values are absent and
// where fewer than six vessels entered them.
func calibreNotes(r *biomarkerResult) string {
	var notes []string
	add := func(n string) {
		if n != "" && !slices.Contains(notes, n) {
			notes = append(notes, n)
		}
	}
	add(r.CalibreAbsent)
	if r.UmPerPx == 0 && len(r.Zones) > 0 {
		add("Hubbard absent: no calibration (give --um-per-px)")
	}
	for _, s := range zoneSuffixes {
		z := r.Zones[strings.TrimPrefix(s, "_")]
		if z == nil || z.Calibre == nil {
			continue
		}
		name := "zone " + strings.ToUpper(s[len(s)-1:])
		ests := []struct {
			what string
			est  biomarkers.CalibreEstimate
		}{{name, z.Calibre.Zone}}
		if s == "_zone_b" {
			ests = append(ests, struct {
				what string
				est  biomarkers.CalibreEstimate
			}{name + " circles", z.Calibre.MultiCircle})
		}
		for _, e := range ests {
			for _, w := range e.est.Warnings {
				add(e.what + ": " + w)
			}
			add(prefixed(e.what+": ", e.est.Knudtson.Absent))
			if r.UmPerPx > 0 {
				add(prefixed(e.what+": ", e.est.Hubbard.Absent))
			}
		}
	}
	return strings.Join(notes, "; ")
}
