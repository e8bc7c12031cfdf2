package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

func TestPrintDisc(t *testing.T) {
	n, tm := 20.5, 12.0
	found := &report.Disc{
		Model: "disccup@v", Found: true, Confidence: 0.93, HeightPx: 130, WidthPx: 120, AreaPx: 12300, RadiusPx: 62.5,
		Cup: &report.Cup{HeightPx: 65, WidthPx: 50, AreaPx: 2600},
		CDR: &report.CDR{Vertical: 0.5, Horizontal: 0.4167, Area: 0.2114},
		Rim: &report.Rim{InferiorPx: 30, SuperiorPx: 28, NasalPx: &n, TemporalPx: &tm, NasalSide: "right", ISNT: "holds"},
		Zones: &report.Zones{
			B: report.Zone{Center: report.Point{X: 700, Y: 380}, InnerPx: 125, OuterPx: 187.5},
			C: report.Zone{Center: report.Point{X: 700, Y: 380}, InnerPx: 125, OuterPx: 312.5},
		},
	}
	var buf bytes.Buffer
	printDisc(&buf, found)
	for _, want := range []string{"130 x 120 px", "vertical 0.50, horizontal 0.42, area 0.21", "I 30.0, S 28.0, N 20.5, T 12.0 px; ISNT rule holds", "B 125-188 px, C 125-312 px"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "µm") {
		t.Errorf("micrometres printed without them in the report:\n%s", buf.String())
	}
	buf.Reset()
	printDisc(&buf, &report.Disc{Model: "disccup@v", Reason: "low confidence"})
	if got := buf.String(); !strings.Contains(got, "not found: low confidence") || strings.Contains(got, "cup-to-disc") {
		t.Errorf("not-found summary:\n%s", got)
	}
}

// The sample's summary and report carry the disc stage, found or not.
func TestAnalyzeSampleDisc(t *testing.T) {
	requireORT(t)
	stdout, stderr, code := run(t, "analyze", "--no-files", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "cup-to-disc") && !strings.Contains(stdout, "disc and cup   not found") {
		t.Errorf("summary has no disc/cup finding:\n%s", stdout)
	}
	stdout, _, code = run(t, "analyze", "--no-files", "--json", "--threads", "2")
	r, err := report.Decode(strings.NewReader(stdout))
	if code != 0 || err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	if r.Disc == nil || (r.Disc.Found && (r.Disc.CDR == nil || r.Calibration.Source != "disc_diameter")) {
		t.Errorf("disc section %+v, calibration %+v", r.Disc, r.Calibration)
	}
}

func TestPrintTreesAndCalibre(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	v := &report.Vessels{
		Artery: &report.VesselMeasures{AverageWidthPx: 5.1, AverageWidthUm: 72, MedianSegmentWidthPx: 4, SegmentCount: 80, CentrelineLengthPx: 3000},
		Vein:   &report.VesselMeasures{AverageWidthPx: 6.4, SegmentCount: 70, CentrelineLengthPx: 2800},
		AV:     &report.AVLabels{Model: "av@v", ArterySegments: 80, VeinSegments: 70, UnlabelledSegments: 2, LabelledLengthFraction: 0.98, MeanConfidence: 0.91, ArteryPx: 100, VeinPx: 140},
	}
	var buf bytes.Buffer
	printTrees(&buf, v)
	for _, want := range []string{"arteries       average width 5.10 px (72 µm)", "veins          average width 6.40 px,", "80 artery and 70 vein segments (2 undecided), 98% of the centreline labelled"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
	c := &report.Calibre{Computed: true, Circles: 5, Calibration: &report.Calibration{UmPerPx: 14.17, Source: "disc_diameter"},
		SixWidest: &report.CalibreEstimate{ArteriesFound: 8, VeinsFound: 7, ArteriesUsed: 6, VeinsUsed: 6,
			Knudtson: report.Knudtson{CRAEPx: f(10.5), CRVEPx: f(14.2), CRAEUm: f(148.8), CRVEUm: f(201.2), AVR: f(0.74)},
			Hubbard:  report.Hubbard{CRAEUm: f(160), CRVEUm: f(215), AVR: f(0.744)}},
		MultiCircle: &report.CalibreEstimate{ArteriesFound: 7, VeinsFound: 6, ArteriesUsed: 5, VeinsUsed: 6,
			Knudtson: report.Knudtson{CRAEPx: f(10.1), CRVEPx: f(14.0), AVR: f(0.72)},
			Hubbard:  report.Hubbard{Absent: "CRAE: no arteriole on any circle"}, Warnings: []string{"as few as 5 arterioles on a circle (6 wanted)"}},
	}
	buf.Reset()
	printCalibre(&buf, c)
	for _, want := range []string{
		"CRAE/CRVE/AVR  Knudtson CRAE 10.5 px (149 µm), CRVE 14.2 px (201 µm), AVR 0.74; Hubbard CRAE 160 µm, CRVE 215 µm, AVR 0.74; zone B, 6 of 8 arterioles and 6 of 7 venules (six widest)",
		"multi-circle Knudtson CRAE 10.1 px, CRVE 14.0 px, AVR 0.72; Hubbard CRAE -, CRVE -, AVR -; median over 5 circles",
		"absent: CRAE: no arteriole on any circle", "note: as few as 5 arterioles", "(disc_diameter): the optic disc taken as 1.8 mm across",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	printCalibre(&buf, &report.Calibre{Absent: "optic disc not found (low confidence): zone B ..."})
	if got := buf.String(); !strings.Contains(got, "CRAE/CRVE/AVR  not computed: optic disc not found (low confidence)") {
		t.Errorf("absent calibre:\n%s", got)
	}
}

// The lesion lines: one per type with its count and boxes, the type the
// model cannot detect said so, and the caveat; none without the section.
func TestPrintLesions(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	l := &report.Lesions{Model: "lesions@v", Experimental: true, Caveat: "Experimental: Microaneurysms are not detected by this model.",
		Types: []report.LesionType{
			{Type: "MA", Name: "microaneurysms", CVAUPR: f(0.005), Detected: false},
			{Type: "HE", Name: "haemorrhages", CVAUPR: f(0.069), Detected: true, Count: 2, MinFoveaDistanceDD: f(1.2),
				Quadrants: report.QuadrantCounts{InferiorTemporal: 2}, Boxes: []report.LesionBox{{}}},
			{Type: "EX", Name: "hard exudates", CVAUPR: f(0.61), Detected: true, Count: 70, Quadrants: report.QuadrantCounts{SuperiorTemporal: 70},
				Boxes: make([]report.LesionBox, 10)},
		}}
	var buf bytes.Buffer
	printSummary(&buf, &report.Report{Lesions: l}, nil)
	for _, want := range []string{
		"lesion MA (microaneurysms)      NOT DETECTED by this model (cross-validated AUPR 0.005)",
		"lesion HE (haemorrhages)        2 objects, 1 boxes; quadrants ST 0, SN 0, IT 2, IN 0, unknown 0, nearest 1.20 disc diameters from the fovea; cv AUPR 0.069",
		"lesion EX (hard exudates)       70 objects, 10 boxes",
		"lesion caveat  Experimental: Microaneurysms are not detected",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	printSummary(&buf, &report.Report{NotAssessed: []report.NotAssessed{{Section: "lesions", Reason: "not requested"}}}, nil)
	if strings.Contains(buf.String(), "lesion") {
		t.Errorf("lesion lines without the stage:\n%s", buf.String())
	}
}

// --lesions runs the stage: the report has the section, the summary its
// lines; the overlay is written with the lesion layer.
func TestAnalyzeLesionsFlag(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	stdout, stderr, code := run(t, "analyze", "--lesions", "--out", dir, "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"lesion EX (hard exudates)", "NOT DETECTED by this model", "lesion caveat", "lesions "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	fh, err := os.Open(filepath.Join(dir, "idrid_055_report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := report.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	if r.Lesions == nil || r.Lesions.Types[2].Count < 1 || len(r.NotAssessed) != 0 {
		t.Errorf("lesions %+v, not_assessed %+v", r.Lesions, r.NotAssessed)
	}
	if _, err := os.Stat(filepath.Join(dir, "idrid_055_overlay.png")); err != nil {
		t.Error(err)
	}
	for _, sub := range []string{"ask", "chat"} {
		out, _, _ := run(t, sub, "--help")
		if !strings.Contains(out, "--lesions") || !strings.Contains(out, "EXPERIMENTAL") {
			t.Errorf("%s --help lacks --lesions:\n%s", sub, out)
		}
	}
}

func TestOutputStems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		want  map[string]string
		err   string
	}{
		{"distinct names", []string{"a/x.jpg", "b/y.png"}, map[string]string{"a/x.jpg": "x", "b/y.png": "y"}, ""},
		{"same name in two folders", []string{"d/cataract/1001.jpg", "d/glaucoma/1001.jpg", "d/glaucoma/7.jpg"},
			map[string]string{"d/cataract/1001.jpg": "cataract_1001", "d/glaucoma/1001.jpg": "glaucoma_1001", "d/glaucoma/7.jpg": "7"}, ""},
		{"same folder name deeper", []string{"p/a/img/1.jpg", "p/b/img/1.jpg"},
			map[string]string{"p/a/img/1.jpg": "a_img_1", "p/b/img/1.jpg": "b_img_1"}, ""},
		{"two extensions", []string{"a/1.jpg", "a/1.png"}, nil, ""},
		{"the sample", nil, map[string]string{}, ""},
		{"the same file twice", []string{"a/1.jpg", "./a/1.jpg"}, nil, "more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := outputStems(tc.paths)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, p := range tc.paths {
				if seen[got[p]] {
					t.Errorf("stem %q given twice: %v", got[p], got)
				}
				seen[got[p]] = true
			}
			for p, w := range tc.want {
				if got[p] != w {
					t.Errorf("%s: stem %q, want %q", p, got[p], w)
				}
			}
		})
	}
}
