package dataset

import (
	"path/filepath"
	"strings"
)

func init() {
	register("aptos2019", loadAPTOS)
	register("eyepacs", loadEyePACS)
	register("messidor2", loadMessidor2)
	register("mmac", loadMMAC)
}

// labelFile is one label CSV of a dataset and where its images lie.
type labelFile struct {
	csv, images, split, ext string
	optionalFile            bool
}

// loadFiles reads each existing label file with fn; a required one missing
// is an error.
func loadFiles(root string, files []labelFile, cols columns, fn func(r row, lf labelFile) *Record) ([]Record, []Problem, error) {
	var recs []Record
	var probs []Problem
	dups := seen{}
	for _, lf := range files {
		path := filepath.Join(root, lf.csv)
		if lf.optionalFile && exists(path) == "" {
			continue
		}
		t, err := readTable(path, cols)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range t.rows {
			rec := fn(r, lf)
			if rec == nil || !dups.add(r, rec.ID) {
				continue
			}
			recs = append(recs, *rec)
		}
		probs = append(probs, t.problems...)
	}
	return recs, probs, nil
}

// APTOS 2019 Blindness Detection (Kaggle): train.csv (id_code, diagnosis
// 0-4, the ICDR scale) with images train_images/<id_code>.png; test.csv
// (id_code only) with test_images/, read when present, without labels.
func loadAPTOS(root string) ([]Record, []Problem, error) {
	files := []labelFile{
		{csv: "train.csv", images: "train_images", split: SplitTrain, ext: ".png"},
		{csv: "test.csv", images: "test_images", split: SplitTest, ext: ".png", optionalFile: true},
	}
	return loadFiles(root, files, columns{required: []string{"id_code"}, optional: []string{"diagnosis"}}, func(r row, lf labelFile) *Record {
		id := r.get("id_code")
		if id == "" {
			r.problem("empty id_code; row skipped")
			return nil
		}
		rec := &Record{ID: id, Dataset: "aptos2019", Image: filepath.Join(root, lf.images, id+lf.ext), Split: lf.split, Source: r.source()}
		if lf.split == SplitTrain {
			g := r.grade("diagnosis", 0, 4)
			if g == nil && r.get("diagnosis") == "" {
				r.problem("training image without a diagnosis")
			}
			setDR(&rec.Labels, g)
		}
		return rec
	})
}

// EyePACS (Kaggle Diabetic Retinopathy Detection): trainLabels.csv (image,
// level 0-4, ICDR) with train/<image>.jpeg; retinopathy_solution.csv
// (image, level, Usage Public|Private) with test/<image>.jpeg when present.
// Group is the patient number, Eye L/R from the _left/_right suffix.
func loadEyePACS(root string) ([]Record, []Problem, error) {
	files := []labelFile{
		{csv: "trainLabels.csv", images: "train", split: SplitTrain, ext: ".jpeg"},
		{csv: "retinopathy_solution.csv", images: "test", split: SplitTest, ext: ".jpeg", optionalFile: true},
	}
	return loadFiles(root, files, columns{required: []string{"image", "level"}, optional: []string{"Usage"}}, func(r row, lf labelFile) *Record {
		id := r.get("image")
		if id == "" {
			r.problem("empty image; row skipped")
			return nil
		}
		rec := &Record{ID: id, Dataset: "eyepacs", Image: filepath.Join(root, lf.images, id+lf.ext), Split: lf.split, Source: r.source()}
		rec.Group, rec.Eye = eyeOf(id)
		setDR(&rec.Labels, r.grade("level", 0, 4))
		return rec
	})
}

// Messidor-2 (Krause et al. 2018 adjudicated grades, Kaggle/Google
// release): messidor_data.csv (image_id with extension,
// adjudicated_dr_grade 0-4 ICDR, adjudicated_dme 0/1, adjudicated_gradable
// 0/1); images in IMAGES/. Ungradable images have empty grades.
func loadMessidor2(root string) ([]Record, []Problem, error) {
	files := []labelFile{{csv: "messidor_data.csv", images: "IMAGES"}}
	cols := columns{required: []string{"image_id", "adjudicated_dr_grade", "adjudicated_dme", "adjudicated_gradable"}}
	return loadFiles(root, files, cols, func(r row, lf labelFile) *Record {
		img := r.get("image_id")
		if img == "" {
			r.problem("empty image_id; row skipped")
			return nil
		}
		rec := &Record{ID: strings.TrimSuffix(img, filepath.Ext(img)), Dataset: "messidor2", Image: filepath.Join(root, lf.images, img), Source: r.source()}
		rec.Labels.Gradable = r.flag("adjudicated_gradable")
		rec.Labels.DME = r.flag("adjudicated_dme")
		g := r.grade("adjudicated_dr_grade", 0, 4)
		if g == nil && r.get("adjudicated_dr_grade") == "" && (rec.Labels.Gradable == nil || *rec.Labels.Gradable) {
			r.problem("gradable image without adjudicated_dr_grade")
		}
		setDR(&rec.Labels, g)
		return rec
	})
}

// MMAC 2023 task 1 (myopic maculopathy classification). ASSUMED layout,
// not checked against a copy: "2. Groundtruths/1. MMAC2023_Myopic_Maculopathy_Classification_Training_Labels.csv"
// (image, myopic_maculopathy_grade 0-4 META-PM, age, sex, height, weight)
// with images in "1. Images/1. Training Set/"; a plain labels.csv with
// images/ beside it is read the same way.
func loadMMAC(root string) ([]Record, []Problem, error) {
	csv := "2. Groundtruths/1. MMAC2023_Myopic_Maculopathy_Classification_Training_Labels.csv"
	imgs := "1. Images/1. Training Set"
	if exists(filepath.Join(root, csv)) == "" && exists(filepath.Join(root, "labels.csv")) != "" {
		csv, imgs = "labels.csv", "images"
	}
	files := []labelFile{{csv: csv, images: imgs, split: SplitTrain}}
	cols := columns{required: []string{"image", "myopic_maculopathy_grade"}, optional: []string{"age", "sex", "height", "weight"}}
	return loadFiles(root, files, cols, func(r row, lf labelFile) *Record {
		img := r.get("image")
		if img == "" {
			r.problem("empty image; row skipped")
			return nil
		}
		rec := &Record{ID: strings.TrimSuffix(img, filepath.Ext(img)), Dataset: "mmac", Image: filepath.Join(root, lf.images, img), Split: lf.split, Source: r.source()}
		if g := r.grade("myopic_maculopathy_grade", 0, 4); g != nil {
			rec.Labels.MyopicMaculopathy = g
			// META-PM: category 2 or worse is pathologic myopia.
			rec.Labels.Myopia = ptr(*g >= 2)
		}
		return rec
	})
}
