package dataset

import (
	"path/filepath"
	"strings"
)

func init() {
	register("idrid_grading", loadIDRiDGrading)
	register("drishti_gs1", loadDrishti)
}

// IDRiD disease grading (shared copy): labels.csv (image, dr_grade 0-4
// ICDR, dme_risk 0-2, od_x, od_y, fovea_x, fovea_y) and boxes.csv (image,
// label, x_min, y_min, x_max, y_max), images in images/. Official training split.
func loadIDRiDGrading(root string) ([]Record, []Problem, error) {
	t, err := readTable(filepath.Join(root, "labels.csv"), columns{
		required: []string{"image", "dr_grade", "dme_risk"},
		optional: []string{"od_x", "od_y", "fovea_x", "fovea_y"},
	})
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	index := map[string]int{}
	dups := seen{}
	for _, r := range t.rows {
		img, ok := dups.image(r)
		if !ok {
			continue
		}
		rec := Record{
			ID: strings.TrimSuffix(img, filepath.Ext(img)), Dataset: "idrid_grading",
			Image: filepath.Join(root, "images", img), Split: SplitTrain, Source: r.source(),
			Disc: r.point("od_x", "od_y"), Fovea: r.point("fovea_x", "fovea_y"),
		}
		if d := r.grade("dme_risk", 0, 2); d != nil {
			rec.Labels.DMERisk = d
			rec.Labels.DME = ptr(*d >= 1)
		}
		setDR(&rec.Labels, r.grade("dr_grade", 0, 4))
		index[img] = len(recs)
		recs = append(recs, rec)
	}
	probs := t.problems

	bpath := filepath.Join(root, "boxes.csv")
	if exists(bpath) == "" {
		return recs, probs, nil
	}
	b, err := readTable(bpath, columns{required: []string{"image", "label", "x_min", "y_min", "x_max", "y_max"}})
	if err != nil {
		return nil, nil, err
	}
	for _, r := range b.rows {
		i, ok := index[r.get("image")]
		if !ok {
			r.problem("box for image %q, which labels.csv does not list; row skipped", r.get("image"))
			continue
		}
		label, known := idridBoxLabels[r.get("label")]
		if !known {
			r.problem("unknown box label %q; kept as published", r.get("label"))
			label = r.get("label")
		}
		x0, y0, x1, y1 := r.number("x_min"), r.number("y_min"), r.number("x_max"), r.number("y_max")
		if x0 == nil || y0 == nil || x1 == nil || y1 == nil {
			r.problem("box without four coordinates; row skipped")
			continue
		}
		if *x1 < *x0 || *y1 < *y0 {
			r.problem("box with max < min; row skipped")
			continue
		}
		recs[i].Boxes = append(recs[i].Boxes, Box{Label: label, XMin: *x0, YMin: *y0, XMax: *x1, YMax: *y1})
	}
	return recs, append(probs, b.problems...), nil
}

// idridBoxLabels maps boxes.csv labels to the common lesion names.
var idridBoxLabels = map[string]string{
	"optic_disc":     "optic_disc",
	"hard_exudates":  "hard_exudates",
	"haemorrhage":    "haemorrhages",
	"haemorrhages":   "haemorrhages",
	"soft_exudates":  "soft_exudates",
	"microaneurysms": "microaneurysms",
}

// Drishti-GS1 (shared copy): labels.csv (image, label glaucoma|normal,
// notching, cdr_expert_values, cdr_mean, disc_center_x, disc_center_y,
// od_softmap, cup_softmap), images in images/. Training split.
func loadDrishti(root string) ([]Record, []Problem, error) {
	t, err := readTable(filepath.Join(root, "labels.csv"), columns{
		required: []string{"image", "label"},
		optional: []string{"notching", "cdr_expert_values", "cdr_mean", "disc_center_x", "disc_center_y", "od_softmap", "cup_softmap"},
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
		rec := Record{
			ID: strings.TrimSuffix(img, filepath.Ext(img)), Dataset: "drishti_gs1",
			Image: filepath.Join(root, "images", img), Split: SplitTrain, Source: r.source(),
			Disc: r.point("disc_center_x", "disc_center_y"),
		}
		switch l := strings.ToLower(r.get("label")); l {
		case "glaucoma", "glaucomatous":
			rec.Labels.Glaucoma = ptr(true)
		case "normal":
			rec.Labels.Glaucoma = ptr(false)
		default:
			r.problem("label %q is neither glaucoma nor normal; label left out", r.get("label"))
		}
		rec.Labels.CDR = r.number("cdr_mean")
		if p := r.get("od_softmap"); p != "" {
			rec.Masks.Disc = filepath.Join(root, p)
		}
		if p := r.get("cup_softmap"); p != "" {
			rec.Masks.Cup = filepath.Join(root, p)
		}
		recs = append(recs, rec)
	}
	return recs, t.problems, nil
}
