package dataset

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func init() {
	register("drive", loadDRIVE)
	register("chase_db1", loadCHASE)
	register("rite", loadRITE)
	register("idrid_segmentation", loadIDRiDSegmentation)
}

// listDir returns the sorted file names in dir; a missing dir is an error.
func listDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// exists returns path if the file exists, "" otherwise.
func exists(path string) string {
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}

// need returns path if it exists, else "" and a problem naming it.
func need(path, what string, probs *[]Problem) string {
	if p := exists(path); p != "" {
		return p
	}
	*probs = append(*probs, Problem{File: path, Message: what + " missing"})
	return ""
}

var driveName = regexp.MustCompile(`^(\d\d)_(training|test)\.(tif|png)$`)

// DRIVE: {training,test}/images/NN_{training,test}.tif, 1st_manual/NN_manual1.gif,
// 2nd_manual/NN_manual2.gif (test only), mask/NN_{split}_mask.gif.
func loadDRIVE(root string) ([]Record, []Problem, error) {
	return loadDRIVELike(root, "drive", func(dir, nn, split string, rec *Record, probs *[]Problem) {
		rec.Masks.Vessel = need(filepath.Join(dir, "1st_manual", nn+"_manual1.gif"), "first-observer vessel mask", probs)
		if split == "test" {
			rec.Masks.Vessel2 = need(filepath.Join(dir, "2nd_manual", nn+"_manual2.gif"), "second-observer vessel mask", probs)
		}
	})
}

// RITE: {training,test}/images/NN_{split}.png, av/NN_{split}.png, mask/NN_{split}_mask.gif.
func loadRITE(root string) ([]Record, []Problem, error) {
	return loadDRIVELike(root, "rite", func(dir, nn, split string, rec *Record, probs *[]Problem) {
		rec.Masks.AV = need(filepath.Join(dir, "av", nn+"_"+split+".png"), "artery/vein label", probs)
	})
}

func loadDRIVELike(root, name string, masks func(dir, nn, split string, rec *Record, probs *[]Problem)) ([]Record, []Problem, error) {
	var recs []Record
	var probs []Problem
	for _, split := range []string{"training", "test"} {
		dir := filepath.Join(root, split)
		imgs, err := listDir(filepath.Join(dir, "images"))
		if err != nil {
			return nil, nil, err
		}
		for _, f := range imgs {
			m := driveName.FindStringSubmatch(f)
			if m == nil || m[2] != split {
				probs = append(probs, Problem{File: filepath.Join(dir, "images", f), Message: "file name not in the published pattern NN_" + split + ".tif; skipped"})
				continue
			}
			nn := m[1]
			rec := Record{
				ID: nn + "_" + split, Dataset: name, Image: filepath.Join(dir, "images", f),
				Split: map[string]string{"training": SplitTrain, "test": SplitTest}[split],
			}
			rec.Masks.FOV = need(filepath.Join(dir, "mask", nn+"_"+split+"_mask.gif"), "FOV mask", &probs)
			masks(dir, nn, split, &rec, &probs)
			recs = append(recs, rec)
		}
	}
	return recs, probs, nil
}

var chaseName = regexp.MustCompile(`^Image_(\d\d)([LR])\.jpg$`)

// CHASE_DB1: images/Image_NN{L,R}.jpg, manual/Image_NN{L,R}_{1st,2nd}HO.png.
// No official split; Group is the child (Image_NN) so both eyes stay together.
func loadCHASE(root string) ([]Record, []Problem, error) {
	imgs, err := listDir(filepath.Join(root, "images"))
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	var probs []Problem
	for _, f := range imgs {
		m := chaseName.FindStringSubmatch(f)
		if m == nil {
			probs = append(probs, Problem{File: filepath.Join(root, "images", f), Message: "file name not in the published pattern Image_NN{L,R}.jpg; skipped"})
			continue
		}
		id := strings.TrimSuffix(f, ".jpg")
		rec := Record{ID: id, Dataset: "chase_db1", Image: filepath.Join(root, "images", f), Group: "Image_" + m[1], Eye: m[2]}
		rec.Masks.Vessel = need(filepath.Join(root, "manual", id+"_1stHO.png"), "first-observer vessel mask", &probs)
		rec.Masks.Vessel2 = exists(filepath.Join(root, "manual", id+"_2ndHO.png"))
		recs = append(recs, rec)
	}
	return recs, probs, nil
}

var idridSegName = regexp.MustCompile(`^IDRiD_(\d\d)\.jpg$`)

// idridLesions maps IDRiD's mask codes to the common lesion names.
var idridLesions = map[string]string{
	"MA": "microaneurysms",
	"HE": "haemorrhages",
	"EX": "hard_exudates",
	"SE": "soft_exudates",
}

// IDRiD segmentation (the shared copy's layout): images/IDRiD_NN.jpg and
// {MA,HE,EX,SE,OD}/IDRiD_NN_{code}.png. All are from the official training
// split. A lesion mask absent for an image is left out (IDRiD publishes no
// SE mask for images without soft exudates), not reported.
func loadIDRiDSegmentation(root string) ([]Record, []Problem, error) {
	imgs, err := listDir(filepath.Join(root, "images"))
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	var probs []Problem
	for _, f := range imgs {
		if !idridSegName.MatchString(f) {
			probs = append(probs, Problem{File: filepath.Join(root, "images", f), Message: "file name not in the published pattern IDRiD_NN.jpg; skipped"})
			continue
		}
		id := strings.TrimSuffix(f, ".jpg")
		rec := Record{ID: id, Dataset: "idrid_segmentation", Image: filepath.Join(root, "images", f), Split: SplitTrain}
		for code, name := range idridLesions {
			if p := exists(filepath.Join(root, code, id+"_"+code+".png")); p != "" {
				if rec.Masks.Lesions == nil {
					rec.Masks.Lesions = map[string]string{}
				}
				rec.Masks.Lesions[name] = p
			}
		}
		rec.Masks.Disc = need(filepath.Join(root, "OD", id+"_OD.png"), "optic disc mask", &probs)
		recs = append(recs, rec)
	}
	return recs, probs, nil
}
