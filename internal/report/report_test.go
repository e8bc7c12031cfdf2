package report

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// jsonPaths lists every JSON field path of t, e.g. "fov.center.x_norm".
func jsonPaths(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		*out = append(*out, p)
		jsonPaths(f.Type, p, out)
	}
}

// The schema document must name every field the JSON can carry.
func TestSchemaDocumentCoversEveryField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/report.md")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	jsonPaths(reflect.TypeOf(Report{}), "", &paths)
	if len(paths) < 20 {
		t.Fatalf("found only %d fields; reflection walk is broken", len(paths))
	}
	for _, p := range paths {
		if !bytes.Contains(doc, []byte("`"+p+"`")) {
			t.Errorf("docs/report.md does not document `%s`", p)
		}
	}
	if !bytes.Contains(doc, []byte(SchemaVersion)) {
		t.Errorf("docs/report.md does not mention schema version %s", SchemaVersion)
	}
}

func TestRoundTrip(t *testing.T) {
	r := &Report{
		SchemaVersion: SchemaVersion,
		ID:            "abc",
		CreatedAt:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Image:         Image{File: "x.jpg", Width: 100, Height: 50},
		FOV:           FOV{Center: NewPoint(50, 25, 100, 50), RadiusPx: 24, Clipped: []string{"top"}},
		Vessels: &Vessels{VesselPx: 10, FOVPx: 100, DensityFOV: 0.1,
			Artery: &VesselMeasures{SegmentCount: 2, AverageWidthPx: 4.5}, Vein: &VesselMeasures{SegmentCount: 1},
			AV: &AVLabels{Model: "av@v", InputPx: 576, ArterySegments: 2, VeinSegments: 1, LabelledLengthFraction: 0.97, MeanConfidence: 0.9, ArteryPx: 4, VeinPx: 6},
			Zones: []VesselZone{{Zone: "B", InnerPx: 20, OuterPx: 30, Density: 0.05, Measures: &VesselMeasures{SegmentCount: 3},
				Artery: &VesselMeasures{SegmentCount: 1}, Vein: &VesselMeasures{SegmentCount: 2}}},
			Calibre: &Calibre{Computed: true, Zone: &Zone{InnerPx: 20, OuterPx: 30}, Calibration: &Calibration{UmPerPx: 14.2, Source: "disc_diameter"}, Circles: 5,
				SixWidest: &CalibreEstimate{ArteriesFound: 7, VeinsFound: 5, ArteriesUsed: 6, VeinsUsed: 5,
					Knudtson: Knudtson{CRAEPx: new(10.5), CRVEPx: new(14.0), CRAEUm: new(149.1), CRVEUm: new(198.8), AVR: new(0.75)},
					Hubbard:  Hubbard{Absent: "no calibration"}, Warnings: []string{"CRVE from 5 venules (6 wanted)"}}}},
		Disc: &Disc{Model: "disccup@v", Found: true, Confidence: 0.9, Center: &Point{X: 60, Y: 20}, RadiusPx: 10,
			HeightPx: 21, WidthPx: 19, AreaPx: 310, Cup: &Cup{HeightPx: 10}, CDR: &CDR{Vertical: 0.476},
			Rim:   &Rim{InferiorPx: 5, NasalPx: new(4.5), NasalSide: "right", ISNT: "violated", ISNTViolations: []string{"nasal < temporal"}},
			Zones: &Zones{B: Zone{InnerPx: 20, OuterPx: 30}, C: Zone{InnerPx: 20, OuterPx: 50}}},
		Lesions: &Lesions{Model: "lesions@v", Experimental: true, Caveat: "weak", GridScalePx: 0.5, GridWidthPx: 200, GridHeightPx: 100,
			QuadrantBasis: "disc_fovea_axis", DiscDiameterPx: 20, MaxObjectsPerType: 50, MaxBoxesPerType: 10,
			Types: []LesionType{{Type: "EX", Name: "hard exudates", Threshold: 0.5, CVAUPR: new(0.61), Detected: true, Count: 2, AreaPx: 12.5,
				MinFoveaDistanceDD: new(0.8), Quadrants: QuadrantCounts{InferiorTemporal: 2},
				Boxes:   []LesionBox{{Box: [4]float64{0.1, 0.2, 0.15, 0.3}, BoxPx: [4]float64{10, 10, 15, 15}, AreaPx: 12.5, Objects: 2, MeanProbability: 0.7, MaxProbability: 0.9}},
				Objects: []LesionObject{{AreaPx: 10, Centroid: NewPoint(12, 12, 100, 50), Quadrant: "inferior_temporal", FoveaDistanceDD: new(0.8)}}, ObjectsOmitted: 1}}},
		Quality: &Quality{Gate: "on", Grade: "usable", Probabilities: QualityProbabilities{Good: 0.3, Usable: 0.6, Reject: 0.1}, RejectScore: 0.1,
			Reasons:  []string{"optic disc not found"},
			Modality: QualityModality{IsFundus: true, Score: 0.97, Criteria: []QualityCriterion{{Name: "field_share", Value: new(0.7), HigherIsBetter: true, UsableLimit: new(0.25), RejectLimit: new(0.25), Grade: "good"}}},
			Criteria: []QualityCriterion{{Name: "optic_disc_visible", Value: new(0.0), HigherIsBetter: true, UsableLimit: new(1.0), Grade: "usable", Reason: "optic disc not found"},
				{Name: "noise", HigherIsBetter: false, Grade: "good", Skipped: true}}},
		NotAssessed: []NotAssessed{{Section: "lesions", Reason: "test"}},
	}
	var buf bytes.Buffer
	if err := r.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip changed the report:\n got %+v\nwant %+v", got, r)
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":       "hello",
		"future major":   `{"schema_version":"2.0.0"}`,
		"missing schema": `{}`,
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPointAndRound(t *testing.T) {
	tests := []struct {
		x, y         float64
		w, h         int
		wantX, wantY float64
	}{
		{1072, 712, 2144, 1424, 0.5, 0.5},
		{0, 1424, 2144, 1424, 0, 1},
		{1, 1, 3, 3, 0.3333, 0.3333},
	}
	for _, tc := range tests {
		p := NewPoint(tc.x, tc.y, tc.w, tc.h)
		if p.XNorm != tc.wantX || p.YNorm != tc.wantY {
			t.Errorf("NewPoint(%v,%v) norm = (%v,%v), want (%v,%v)", tc.x, tc.y, p.XNorm, p.YNorm, tc.wantX, tc.wantY)
		}
	}
	if got := Round(-1.23456, 3); got != -1.235 {
		t.Errorf("Round(-1.23456,3) = %v", got)
	}
}
