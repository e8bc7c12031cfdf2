package dataset

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func ip(v int) *int          { return &v }
func bp(v bool) *bool        { return &v }
func eqInt(a, b *int) bool   { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func eqBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func problemLines(probs []Problem) []int {
	var ls []int
	for _, p := range probs {
		ls = append(ls, p.Line)
	}
	slices.Sort(ls)
	return ls
}

// TestFixtures loads each fixture in testdata/ (written in the dataset's
// published format) and checks counts, the lines of the reported problems
// and a few labels.
func TestFixtures(t *testing.T) {
	type want struct {
		id               string
		dr               *int
		referable, dme   *bool
		normal, glaucoma *bool
		other, myopia    *bool
		split            string
		absent           []string // labels that must be nil
	}
	for _, tc := range []struct {
		name, dir string
		records   int
		lines     []int  // lines of the problems, sorted
		contains  string // a problem message must contain this
		checks    []want
	}{
		{name: "aptos2019", dir: "aptos", records: 5, lines: []int{1, 4, 5, 6, 7, 8},
			contains: `unknown column "extra"`,
			checks: []want{
				{id: "000c1434d8d7", dr: ip(2), referable: bp(true), split: "train"},
				{id: "0024cdab0c1e", absent: []string{"dr", "referable"}, split: "train"},
				{id: "0005cfc8afb6", absent: []string{"dr"}, split: "test"},
			}},
		{name: "eyepacs", dir: "eyepacs", records: 5, lines: []int{5},
			checks: []want{{id: "13_left", dr: ip(3), referable: bp(true), split: "train"}, {id: "13_right", absent: []string{"dr"}, split: "train"}, {id: "1_left", dr: ip(1), referable: bp(false), split: "test"}}},
		{name: "messidor2", dir: "messidor2", records: 4, lines: []int{5},
			contains: "gradable image without adjudicated_dr_grade",
			checks: []want{
				{id: "20051020_43832_0100_PP", dr: ip(2), dme: bp(true), referable: bp(true)},
				{id: "IM002385", absent: []string{"dr", "dme", "referable"}},
			}},
		{name: "odir5k", dir: "odir5k", records: 10, lines: nil,
			checks: []want{
				{id: "0_left", normal: bp(false), glaucoma: bp(false), other: bp(false), split: "train"},
				{id: "0_right", normal: bp(true), other: bp(false), split: "train"},
				{id: "2_left", dr: ip(2), referable: bp(true), other: bp(true), split: "train"},
				{id: "4_left", absent: []string{"glaucoma"}, normal: bp(false), split: "train"},
				{id: "4_right", normal: bp(true), glaucoma: bp(false), split: "train"},
				{id: "5_right", myopia: bp(true), normal: bp(false), split: "train"},
			}},
		{name: "rfmid", dir: "rfmid", records: 5, lines: []int{1, 5},
			contains: `unknown column "NEW"`,
			checks: []want{
				{id: "train/1", normal: bp(false), other: bp(true), split: "train"},
				{id: "train/3", normal: bp(true), other: bp(false), split: "train"},
				{id: "train/4", absent: []string{"normal"}, split: "train"},
				{id: "val/1", myopia: bp(true), other: bp(false), split: "val"},
			}},
		{name: "mmac", dir: "mmac", records: 3, lines: []int{4},
			checks: []want{{id: "mmac_task_1_train_0002", myopia: bp(true), split: "train"}, {id: "mmac_task_1_train_0003", absent: []string{"myopia"}, split: "train"}}},
		{name: "idrid_grading", dir: "idrid_grading", records: 2, lines: []int{4, 5, 6},
			checks: []want{{id: "IDRiD_001", dr: ip(3), dme: bp(true), referable: bp(true), split: "train"}, {id: "IDRiD_002", dr: ip(0), dme: bp(false), referable: bp(false), split: "train"}}},
		{name: "eye_diseases_4class", dir: "fourclass", records: 5, lines: []int{6},
			contains: "ODIR-5K image without diagnostic keywords",
			checks: []want{
				{id: "diabetic_retinopathy/10003_left", dr: ip(0), referable: bp(false)},
				{id: "diabetic_retinopathy/10007_right", dr: ip(3), referable: bp(true)},
				{id: "glaucoma/_1_123", glaucoma: bp(true)},
				{id: "normal/9_left", normal: bp(true)},
			}},
		{name: "drishti_gs1", dir: "drishti", records: 3, lines: []int{4},
			checks: []want{{id: "drishtiGS_002", glaucoma: bp(true), split: "train"}, {id: "drishtiGS_008", glaucoma: bp(false), split: "train"}, {id: "drishtiGS_009", absent: []string{"glaucoma"}, split: "train"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, probs, err := Load(tc.name, filepath.Join("testdata", tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.records {
				t.Errorf("%d records, want %d", len(recs), tc.records)
			}
			if got := problemLines(probs); !slices.Equal(got, tc.lines) {
				t.Errorf("problem lines %v, want %v; problems: %v", got, tc.lines, probs)
			}
			for _, p := range probs {
				if !strings.HasPrefix(p.File, filepath.Join("testdata", tc.dir)) {
					t.Errorf("problem without its file: %v", p)
				}
			}
			if tc.contains != "" && !slices.ContainsFunc(probs, func(p Problem) bool { return strings.Contains(p.Message, tc.contains) }) {
				t.Errorf("no problem mentions %q: %v", tc.contains, probs)
			}
			m := byID(recs)
			for _, w := range tc.checks {
				r, ok := m[w.id]
				if !ok {
					t.Errorf("no record %q", w.id)
					continue
				}
				l := r.Labels
				bad := r.Split != w.split
				for _, c := range []struct {
					name      string
					got, want any
				}{{"dr", l.DRGrade, w.dr}, {"referable", l.ReferableDR, w.referable}, {"dme", l.DME, w.dme},
					{"normal", l.Normal, w.normal}, {"glaucoma", l.Glaucoma, w.glaucoma}, {"other", l.Other, w.other},
					{"myopia", l.Myopia, w.myopia}} {
					switch g := c.got.(type) {
					case *int:
						wi := c.want.(*int)
						bad = bad || (wi != nil && !eqInt(g, wi)) || (slices.Contains(w.absent, c.name) && g != nil)
					case *bool:
						wb := c.want.(*bool)
						bad = bad || (wb != nil && !eqBool(g, wb)) || (slices.Contains(w.absent, c.name) && g != nil)
					}
				}
				if bad {
					js, _ := json.Marshal(r)
					t.Errorf("%s: got %s", w.id, js)
				}
				if r.Dataset != tc.name || r.Image == "" {
					t.Errorf("%s: dataset %q image %q", w.id, r.Dataset, r.Image)
				}
			}
		})
	}
}

func TestFixtureDetails(t *testing.T) {
	recs, _, err := Load("idrid_grading", filepath.Join("testdata", "idrid_grading"))
	if err != nil {
		t.Fatal(err)
	}
	r := byID(recs)["IDRiD_001"]
	if r.Disc == nil || r.Disc.X != 1400 || r.Fovea == nil || r.Fovea.Y != 750 {
		t.Errorf("centres: disc %v fovea %v", r.Disc, r.Fovea)
	}
	if len(r.Boxes) != 3 || r.Boxes[1].Label != "haemorrhages" || r.Boxes[2].Label != "cotton_wool" {
		t.Errorf("boxes %+v", r.Boxes)
	}
	if r.Source["dr_grade"] != "3" {
		t.Errorf("source %v", r.Source)
	}
	if r2 := byID(recs)["IDRiD_002"]; r2.Disc != nil || r2.Fovea != nil {
		t.Errorf("empty centres should be nil: %v %v", r2.Disc, r2.Fovea)
	}

	recs, _, err = Load("rfmid", filepath.Join("testdata", "rfmid"))
	if err != nil {
		t.Fatal(err)
	}
	if f := byID(recs)["train/1"].Labels.Findings; !slices.Equal(f, []string{"DR", "MH"}) {
		t.Errorf("rfmid findings %v", f)
	}
	if im := byID(recs)["val/1"].Image; im != filepath.Join("testdata", "rfmid", "Validation", "1.png") {
		t.Errorf("rfmid image %s", im)
	}

	recs, _, err = Load("mmac", filepath.Join("testdata", "mmac"))
	if err != nil {
		t.Fatal(err)
	}
	if g := byID(recs)["mmac_task_1_train_0002"].Labels.MyopicMaculopathy; g == nil || *g != 3 {
		t.Errorf("mmac grade %v", g)
	}
}

func TestLoadErrors(t *testing.T) {
	_, _, err := Load("aptos2019", filepath.Join("testdata", "aptos_nocol"))
	if !errors.Is(err, ErrMissingColumn) || !strings.Contains(err.Error(), "id_code") || !strings.Contains(err.Error(), "train.csv") {
		t.Errorf("missing column: %v", err)
	}
	if _, _, err := Load("nope", "x"); !errors.Is(err, ErrUnknownDataset) {
		t.Errorf("unknown dataset: %v", err)
	}
	if _, _, err := Load("drive", filepath.Join("testdata", "absent")); err == nil {
		t.Error("absent root: no error")
	}
}

func TestODIRKeywords(t *testing.T) {
	for _, tc := range []struct {
		text             string
		dr               *int
		normal, cataract *bool
	}{
		{"normal fundus", nil, bp(true), bp(false)},
		{"cataract，moderate non proliferative retinopathy", ip(2), bp(false), bp(true)},
		{"mild nonproliferative retinopathy, lens dust", ip(1), bp(false), bp(false)},
		{"proliferative diabetic retinopathy", ip(4), bp(false), bp(false)},
		{"suspected cataract", nil, bp(false), nil},
	} {
		l, ok := odirLabels(tc.text)
		if !ok || !eqInt(l.DRGrade, tc.dr) || !eqBool(l.Normal, tc.normal) || !eqBool(l.Cataract, tc.cataract) {
			js, _ := json.Marshal(l)
			t.Errorf("%q: %s", tc.text, js)
		}
	}
	if _, ok := odirLabels(" "); ok {
		t.Error("empty keywords gave labels")
	}
}
