package dataset

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDatasets is ../shared/datasets relative to the repository root.
var sharedDatasets = filepath.Join("..", "..", "..", "shared", "datasets")

func loadShared(t *testing.T, name, sub string) ([]Record, []Problem) {
	t.Helper()
	root := filepath.Join(sharedDatasets, sub)
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared dataset %s not present (%v); skipping", root, err)
	}
	recs, probs, err := Load(name, root)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range probs {
		if i < 10 {
			t.Logf("problem: %v", p)
		}
	}
	return recs, probs
}

func byID(recs []Record) map[string]Record {
	m := map[string]Record{}
	for _, r := range recs {
		m[r.ID] = r
	}
	return m
}

func TestSharedCounts(t *testing.T) {
	for _, tc := range []struct {
		name, sub string
		want      int
		problems  int
	}{
		{"drive", "drive", 40, 0},
		{"chase_db1", "chase_db1", 28, 0},
		{"rite", "rite", 40, 0},
		{"idrid_grading", "idrid/grading", 413, 0},
		{"idrid_segmentation", "idrid/segmentation", 19, 0},
		{"drishti_gs1", "drishti_gs1", 50, 0},
		{"eye_diseases_4class", "eye_diseases_4class", 4217, 0},
		{"odir5k", "eye_diseases_4class", 6392, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, probs := loadShared(t, tc.name, tc.sub)
			if len(recs) != tc.want {
				t.Errorf("%d records, want %d", len(recs), tc.want)
			}
			if len(probs) != tc.problems {
				t.Errorf("%d problems, want %d", len(probs), tc.problems)
			}
			ids := map[string]bool{}
			for _, r := range recs {
				if ids[r.ID] {
					t.Errorf("duplicate ID %s", r.ID)
				}
				ids[r.ID] = true
				if r.Dataset != tc.name {
					t.Errorf("%s: dataset %q", r.ID, r.Dataset)
				}
			}
		})
	}
}

func TestSharedSpotChecks(t *testing.T) {
	t.Run("drive", func(t *testing.T) {
		recs, _ := loadShared(t, "drive", "drive")
		r := byID(recs)["01_test"]
		if r.Split != SplitTest || r.Masks.Vessel == "" || r.Masks.Vessel2 == "" || r.Masks.FOV == "" {
			t.Errorf("01_test: %+v", r)
		}
		if r := byID(recs)["21_training"]; r.Split != SplitTrain || r.Masks.Vessel2 != "" || r.Masks.Vessel == "" {
			t.Errorf("21_training: %+v", r)
		}
	})
	t.Run("chase_db1", func(t *testing.T) {
		recs, _ := loadShared(t, "chase_db1", "chase_db1")
		r := byID(recs)["Image_01L"]
		if r.Group != "Image_01" || r.Eye != "L" || !strings.HasSuffix(r.Masks.Vessel, "Image_01L_1stHO.png") {
			t.Errorf("Image_01L: %+v", r)
		}
	})
	t.Run("rite", func(t *testing.T) {
		recs, _ := loadShared(t, "rite", "rite")
		if r := byID(recs)["05_test"]; !strings.HasSuffix(r.Masks.AV, filepath.Join("av", "05_test.png")) || r.Masks.FOV == "" {
			t.Errorf("05_test: %+v", r)
		}
	})
	t.Run("idrid_grading", func(t *testing.T) {
		recs, _ := loadShared(t, "idrid_grading", "idrid/grading")
		r := byID(recs)["IDRiD_005"]
		l := r.Labels
		if l.DRGrade == nil || *l.DRGrade != 4 || l.DMERisk == nil || *l.DMERisk != 0 || !*l.ReferableDR ||
			r.Disc == nil || r.Disc.X != 518.5 || r.Fovea == nil || r.Fovea.Y != 702 {
			t.Errorf("IDRiD_005: %+v", r)
		}
		if len(r.Boxes) == 0 || r.Boxes[0].Label != "optic_disc" || r.Boxes[0].XMin != 387.5 {
			t.Errorf("IDRiD_005 boxes: %+v", r.Boxes)
		}
		boxes := 0
		for _, r := range recs {
			boxes += len(r.Boxes)
		}
		if boxes != 3082 {
			t.Errorf("%d boxes, want 3082", boxes)
		}
	})
	t.Run("idrid_segmentation", func(t *testing.T) {
		recs, _ := loadShared(t, "idrid_segmentation", "idrid/segmentation")
		if r := byID(recs)["IDRiD_01"]; len(r.Masks.Lesions) != 4 || r.Masks.Disc == "" || r.Masks.Lesions["hard_exudates"] == "" {
			t.Errorf("IDRiD_01: %+v", r.Masks)
		}
	})
	t.Run("drishti_gs1", func(t *testing.T) {
		recs, _ := loadShared(t, "drishti_gs1", "drishti_gs1")
		glaucoma := 0
		for _, r := range recs {
			if r.Labels.Glaucoma != nil && *r.Labels.Glaucoma {
				glaucoma++
			}
		}
		r := byID(recs)["drishtiGS_002"]
		if glaucoma != 32 || r.Labels.CDR == nil || *r.Labels.CDR != 0.7675 || r.Disc == nil || r.Disc.X != 496 || r.Masks.Cup == "" {
			t.Errorf("glaucoma %d; drishtiGS_002 %+v", glaucoma, r)
		}
	})
	t.Run("eye_diseases_4class", func(t *testing.T) {
		recs, _ := loadShared(t, "eye_diseases_4class", "eye_diseases_4class")
		grades := map[int]int{}
		quality := 0
		for _, r := range recs {
			if r.Labels.DRGrade != nil && strings.HasPrefix(r.ID, "diabetic_retinopathy/") {
				grades[*r.Labels.DRGrade]++
			}
			if r.Labels.Quality != nil {
				quality++
			}
		}
		if want := map[int]int{0: 816, 1: 65, 2: 167, 3: 30, 4: 20}; !maps.Equal(grades, want) {
			t.Errorf("EyePACS grades %v, want %v", grades, want)
		}
		if quality != 382 {
			t.Errorf("%d EyeQ grades, want 382", quality)
		}
		r := byID(recs)["cataract/1083_left"]
		if l := r.Labels; !*l.Cataract || l.DRGrade == nil || *l.DRGrade != 2 || r.Group != "odir5k:1083" {
			t.Errorf("cataract/1083_left: %+v", r)
		}
	})
}
