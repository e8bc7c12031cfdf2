package dataset

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func init() {
	register("eye_diseases_4class", loadFourClass)
	register("odir5k", loadODIR)
}

// odirKeywordSep splits ODIR's keyword lists: the published files use the
// full-width comma "，" and sometimes an ASCII comma or semicolon.
var odirKeywordSep = regexp.MustCompile(`[，,;；]`)

// odirAnnotations are ODIR keywords that describe the photograph, not the eye.
var odirAnnotations = map[string]bool{
	"lens dust": true, "low image quality": true, "image offset": true,
	"optic disk photographically invisible": true, "no fundus image": true,
	"anterior segment image": true,
}

// odirDRGrades maps ODIR's graded DR keywords to ICDR grades.
var odirDRGrades = map[string]int{
	"mild nonproliferative retinopathy":      1,
	"moderate non proliferative retinopathy": 2,
	"moderate nonproliferative retinopathy":  2,
	"severe nonproliferative retinopathy":    3,
	"severe non proliferative retinopathy":   3,
	"proliferative diabetic retinopathy":     4,
	"proliferative retinopathy":              4,
}

// odirLabels turns one eye's ODIR diagnostic keywords into labels, the way
// ODIR's eight classes are defined: every category the list does not name
// is false. "suspected …"/"suspicious …" keywords leave their category nil
// (unless another keyword settles it). The keywords themselves go to Findings.
func odirLabels(text string) (Labels, bool) {
	var l Labels
	var finds []string
	cat := map[string]bool{}
	suspect := map[string]bool{}
	for _, k := range odirKeywordSep.Split(text, -1) {
		k = strings.ToLower(strings.Join(strings.Fields(k), " "))
		if k == "" {
			continue
		}
		finds = append(finds, k)
		if odirAnnotations[k] {
			continue
		}
		c := odirCategory(k)
		if strings.HasPrefix(k, "suspected ") || strings.HasPrefix(k, "suspicious ") {
			suspect[c] = true
			continue
		}
		cat[c] = true
		if g, ok := odirDRGrades[k]; ok {
			if l.DRGrade == nil || g > *l.DRGrade {
				l.DRGrade = ptr(g)
			}
		}
	}
	if len(finds) == 0 {
		return l, false
	}
	set := func(name string) *bool {
		if cat[name] {
			return ptr(true)
		}
		if suspect[name] {
			return nil
		}
		return ptr(false)
	}
	l.Normal = set("normal")
	l.DR, l.Glaucoma, l.Cataract = set("dr"), set("glaucoma"), set("cataract")
	l.AMD, l.Hypertension, l.Myopia, l.Other = set("amd"), set("hypertension"), set("myopia"), set("other")
	if l.DRGrade != nil {
		l.ReferableDR = ptr(*l.DRGrade >= 2)
	}
	sort.Strings(finds)
	l.Findings = finds
	return l, true
}

func odirCategory(k string) string {
	switch {
	case k == "normal fundus":
		return "normal"
	case strings.Contains(k, "hypertensive"):
		return "hypertension"
	case strings.Contains(k, "diabetic retinopathy") || strings.Contains(k, "proliferative retinopathy") || strings.Contains(k, "nonproliferative"):
		return "dr"
	case strings.Contains(k, "glaucoma"):
		return "glaucoma"
	case strings.Contains(k, "cataract"):
		return "cataract"
	case strings.Contains(k, "age-related macular degeneration") || strings.Contains(k, "age related macular degeneration"):
		return "amd"
	case strings.Contains(k, "myopi"):
		return "myopia"
	}
	return "other"
}

var eyeSuffix = regexp.MustCompile(`(?i)^(.*)_(left|right)$`)

// eyeOf splits "123_left" into group "123" and eye "L".
func eyeOf(stem string) (group, eye string) {
	m := eyeSuffix.FindStringSubmatch(stem)
	if m == nil {
		return "", ""
	}
	return m[1], strings.ToUpper(m[2][:1])
}

// The four-class set (shared copy): labels.csv (image, folder_label,
// source_by_filename, odir_diagnostic_keywords,
// eyepacs_trainLabels_level_if_eyepacs_name, eyeq_quality). The folder is
// not trusted for DR: EyePACS rows take the EyePACS grade, ODIR-5K rows
// the ODIR keywords; only rows of other sources take the folder label.
func loadFourClass(root string) ([]Record, []Problem, error) {
	t, err := readTable(filepath.Join(root, "labels.csv"), columns{
		required: []string{"image", "folder_label", "source_by_filename"},
		optional: []string{"odir_diagnostic_keywords", "eyepacs_trainLabels_level_if_eyepacs_name", "eyeq_quality"},
	})
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	dups := seen{}
	for _, r := range t.rows {
		img, ok := dups.image(r)
		if !ok {
			continue
		}
		id := strings.TrimPrefix(filepath.ToSlash(img), "images/")
		id = strings.TrimSuffix(id, filepath.Ext(id))
		rec := Record{ID: id, Dataset: "eye_diseases_4class", Image: filepath.Join(root, img), Source: r.source()}
		src := r.get("source_by_filename")
		group, eye := eyeOf(filepath.Base(strings.TrimSuffix(img, filepath.Ext(img))))
		switch src {
		case "eyepacs":
			rec.Group, rec.Eye = "eyepacs:"+group, eye
			g := r.grade("eyepacs_trainLabels_level_if_eyepacs_name", 0, 4)
			if g == nil && r.get("eyepacs_trainLabels_level_if_eyepacs_name") == "" {
				r.problem("EyePACS image without an EyePACS grade")
			}
			setDR(&rec.Labels, g)
		case "odir5k":
			rec.Group, rec.Eye = "odir5k:"+group, eye
			l, ok := odirLabels(r.get("odir_diagnostic_keywords"))
			if !ok {
				r.problem("ODIR-5K image without diagnostic keywords; folder label used")
				folderLabel(&rec.Labels, r)
			} else {
				rec.Labels = l
			}
		default:
			if src != "kaggle_cataract_dataset" && src != "unknown_augmented" {
				r.problem("unknown source %q; folder label used", src)
			}
			folderLabel(&rec.Labels, r)
		}
		rec.Labels.Quality = r.grade("eyeq_quality", 0, 2)
		recs = append(recs, rec)
	}
	return recs, t.problems, nil
}

// folderLabel sets the one label a folder name states.
func folderLabel(l *Labels, r row) {
	switch f := r.get("folder_label"); f {
	case "cataract":
		l.Cataract = ptr(true)
	case "glaucoma":
		l.Glaucoma = ptr(true)
	case "normal":
		l.Normal = ptr(true)
	case "diabetic_retinopathy":
		l.DR = ptr(true)
	default:
		r.problem("unknown folder label %q; no label", f)
	}
}

// odirColumns are the columns of ODIR-5K's annotation table (CSV export of
// the xlsx; the Kaggle full_df.csv adds labels, target, filename, filepath).
var odirColumns = []string{"ID", "Left-Fundus", "Right-Fundus", "Left-Diagnostic Keywords", "Right-Diagnostic Keywords"}
var odirOptional = []string{"Patient Age", "Patient Sex", "N", "D", "G", "C", "A", "H", "M", "O", "labels", "target", "filename", "filepath"}

// ODIR-5K: a CSV export of the annotation table, one row per patient
// (two records, left and right eye), or Kaggle's full_df.csv, one row per
// image named in column filename. Per-eye labels come from that eye's
// diagnostic keywords; the patient-level N…O flags stay in Source.
func loadODIR(root string) ([]Record, []Problem, error) {
	path := firstExisting(root, "ODIR-5K_Training_Annotations.csv", "data.csv", "full_df.csv", "ODIR_full_df.csv")
	t, err := readTable(path, columns{required: odirColumns, optional: odirOptional})
	if err != nil {
		return nil, nil, err
	}
	imgDir := firstExisting(root, "Training Images", "ODIR-5K_Training_Dataset", "preprocessed_images")
	_, perImage := t.cols["filename"]
	var recs []Record
	dups := seen{}
	for _, r := range t.rows {
		eyes := []string{"Left", "Right"}
		if perImage {
			switch r.get("filename") {
			case r.get("Left-Fundus"):
				eyes = []string{"Left"}
			case r.get("Right-Fundus"):
				eyes = []string{"Right"}
			default:
				r.problem("filename %q is neither Left-Fundus nor Right-Fundus; row skipped", r.get("filename"))
				continue
			}
		}
		for _, e := range eyes {
			img := r.get(e + "-Fundus")
			if img == "" {
				r.problem("empty %s-Fundus", e)
				continue
			}
			if !dups.add(r, img) {
				continue
			}
			rec := Record{
				ID: strings.TrimSuffix(img, filepath.Ext(img)), Dataset: "odir5k", Image: filepath.Join(imgDir, img),
				Split: SplitTrain, Group: r.get("ID"), Eye: e[:1], Source: r.source(),
			}
			l, ok := odirLabels(r.get(e + "-Diagnostic Keywords"))
			if !ok {
				r.problem("empty %s-Diagnostic Keywords; no labels", e)
			}
			rec.Labels = l
			recs = append(recs, rec)
		}
	}
	return recs, t.problems, nil
}

// firstExisting returns the first of root/names that exists, else root/names[0].
func firstExisting(root string, names ...string) string {
	for _, n := range names {
		if p := exists(filepath.Join(root, n)); p != "" {
			return p
		}
	}
	return filepath.Join(root, names[0])
}
