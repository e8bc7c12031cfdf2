package instruct

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// labelColumns are the common-vocabulary labels, in features.csv order.
var labelColumns = []string{"dr_grade", "dr", "referable_dr", "dme_risk", "dme", "glaucoma", "cataract", "normal", "amd",
	"hypertension", "myopia", "other", "myopic_maculopathy", "quality", "gradable", "cdr", "findings"}

func labelCells(l dataset.Labels) []string {
	i := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	b := func(p *bool) string {
		if p == nil {
			return ""
		}
		if *p {
			return "1"
		}
		return "0"
	}
	cdr := ""
	if l.CDR != nil {
		cdr = strconv.FormatFloat(*l.CDR, 'f', -1, 64)
	}
	return []string{i(l.DRGrade), b(l.DR), b(l.ReferableDR), i(l.DMERisk), b(l.DME), b(l.Glaucoma), b(l.Cataract), b(l.Normal), b(l.AMD),
		b(l.Hypertension), b(l.Myopia), b(l.Other), i(l.MyopicMaculopathy), i(l.Quality), b(l.Gradable), cdr, strings.Join(l.Findings, ";")}
}

// autoMorph are AutoMorph's six measures with their column names, as
// `retinalgpt biomarkers --format csv` writes them.
var autoMorph = []struct {
	name string
	get  func(*report.VesselMeasures) string
}{
	{"Fractal_dimension", func(m *report.VesselMeasures) string { return r4(m.FractalDimensionMask) }},
	{"Vessel_density", func(m *report.VesselMeasures) string { return r4(m.DensityFrame) }},
	{"Average_width", func(m *report.VesselMeasures) string { return r4(m.AverageWidthPx) }},
	{"Distance_tortuosity", func(m *report.VesselMeasures) string { return r4(m.DistanceTortuosity) }},
	{"Squared_curvature_tortuosity", func(m *report.VesselMeasures) string { return g6(m.SquaredCurvatureTort) }},
	{"Tortuosity_density", func(m *report.VesselMeasures) string { return g6(m.TortuosityDensity) }},
}

func r4(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
func g6(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
func opt(p *float64, prec int) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', prec, 64)
}

// FeatureHeader is features.csv's header: dataset, image, split (as
// published), set (assigned: train/val/test), id, sha256, phash, the
// labels, then AutoMorph-named columns (all vessels, Artery_, Vein_, then
// the same with _zone_b and _zone_c, CRAE/CRVE/AVR Knudtson in zone B),
// then RetinalGPT's own (quality, disc, calibration, lesion counts).
func FeatureHeader() []string {
	h := []string{"dataset", "image", "split", "set", "id", "sha256", "phash"}
	h = append(h, labelColumns...)
	for _, z := range []string{"", "_zone_b", "_zone_c"} {
		for _, p := range []string{"", "Artery_", "Vein_"} {
			for _, c := range autoMorph {
				h = append(h, p+c.name+z)
			}
		}
	}
	h = append(h, "CRAE_Knudtson_zone_b", "CRVE_Knudtson_zone_b", "AVR_Knudtson_zone_b", "CRAE_Hubbard_zone_b", "CRVE_Hubbard_zone_b", "AVR_Hubbard_zone_b",
		"quality_grade", "is_fundus", "laterality", "field", "disc_found", "cdr_vertical", "cdr_horizontal", "cdr_area", "disc_radius_px",
		"um_per_px", "calibration_source", "vessel_density_fov", "fractal_dimension_skeleton", "lesion_count")
	return h
}

// Columns of FeatureHeader that the build fills or reads.
const (
	colSet    = 3
	colLabels = 7
)

// featureRow lays out one analysed record under FeatureHeader; the set
// cell is left empty until the splits are known.
func featureRow(e *Entry, rep *report.Report) []string {
	ph := ""
	if len(e.PHash) > 0 {
		ph = e.PHash[0]
	}
	row := []string{e.Dataset, e.Image, e.OfficialSplit, "", e.ID, e.SHA256, ph}
	row = append(row, labelCells(e.Labels)...)
	var v *report.Vessels = rep.Vessels
	measures := func(m *report.VesselMeasures) {
		for _, c := range autoMorph {
			if m == nil {
				row = append(row, "")
			} else {
				row = append(row, c.get(m))
			}
		}
	}
	zone := func(name string) *report.VesselZone {
		if v == nil {
			return nil
		}
		for i := range v.Zones {
			if v.Zones[i].Zone == name {
				return &v.Zones[i]
			}
		}
		return nil
	}
	if v != nil {
		measures(v.Measures)
		measures(v.Artery)
		measures(v.Vein)
	} else {
		measures(nil)
		measures(nil)
		measures(nil)
	}
	for _, z := range []string{"B", "C"} {
		if vz := zone(z); vz != nil {
			measures(vz.Measures)
			measures(vz.Artery)
			measures(vz.Vein)
		} else {
			measures(nil)
			measures(nil)
			measures(nil)
		}
	}
	var k report.Knudtson
	var hb report.Hubbard
	if v != nil && v.Calibre != nil && v.Calibre.Computed && v.Calibre.SixWidest != nil {
		k, hb = v.Calibre.SixWidest.Knudtson, v.Calibre.SixWidest.Hubbard
	}
	row = append(row, opt(k.CRAEPx, 2), opt(k.CRVEPx, 2), opt(k.AVR, 4), opt(hb.CRAEUm, 1), opt(hb.CRVEUm, 1), opt(hb.AVR, 4))
	grade, fundus := "", ""
	if q := rep.Quality; q != nil {
		grade, fundus = q.Grade, strconv.FormatBool(q.Modality.IsFundus)
	}
	lat, field := "", ""
	if a := rep.Anatomy; a != nil {
		lat, field = a.Laterality, a.Field
	}
	found, cv, ch, ca, rad := "", "", "", "", ""
	if d := rep.Disc; d != nil {
		found = strconv.FormatBool(d.Found)
		if d.CDR != nil {
			cv, ch, ca = r4(d.CDR.Vertical), r4(d.CDR.Horizontal), r4(d.CDR.Area)
		}
		if d.Found {
			rad = strconv.FormatFloat(d.RadiusPx, 'f', 1, 64)
		}
	}
	dens, fds := "", ""
	if v != nil {
		dens = r4(v.DensityFOV)
		if v.Measures != nil {
			fds = r4(v.Measures.FractalDimensionSkeleton)
		}
	}
	lc := ""
	if rep.Lesions != nil {
		n := 0
		for _, t := range rep.Lesions.Types {
			n += t.Count
		}
		lc = strconv.Itoa(n)
	}
	row = append(row, grade, fundus, lat, field, found, cv, ch, ca, rad,
		g6(rep.Calibration.UmPerPx), rep.Calibration.Source, dens, fds, lc)
	return row
}

func encodeCSV(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
