package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// VesselSample is one photo with its manual vessel annotation and, when the
// dataset has one, its field-of-view mask.
type VesselSample struct {
	ID    string
	Image string
	Label string
	Mask  string // empty: the FOV is computed from the photo
}

// VesselSet is a list of samples read from a dataset folder.
type VesselSet struct {
	Dataset, Split, Dir string
	Samples             []VesselSample
}

var imageExts = []string{".tif", ".tiff", ".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".gif"}

// OpenVesselSet reads a vessel dataset in the layout of the shared copies:
//
//	drive: ROOT/{training,test}/images, 1st_manual, mask (split picks the folder;
//	       ROOT may also be a split folder itself)
//	chase: ROOT/images, ROOT/manual (*_1stHO.png); split "test" is children
//	       11-14, "training" children 01-10, "all" every image
//
// Any folder with images/ and 1st_manual/ or manual/ (mask/ optional) works
// as either; labels are matched to images by name.
func OpenVesselSet(dataset, root, split string) (*VesselSet, error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("dataset root %s: not a folder", root)
	}
	dir := root
	switch dataset {
	case "drive":
		if split == "" {
			split = "test"
		}
		if isDir(filepath.Join(root, split, "images")) {
			dir = filepath.Join(root, split)
		}
	case "chase":
		if split == "" {
			split = "test"
		}
	default:
		return nil, fmt.Errorf("unknown vessel dataset %q (want drive or chase)", dataset)
	}
	imgDir := filepath.Join(dir, "images")
	labelDir := firstDir(filepath.Join(dir, "1st_manual"), filepath.Join(dir, "manual"), filepath.Join(dir, "labels"))
	if !isDir(imgDir) || labelDir == "" {
		return nil, fmt.Errorf("dataset %s at %s: want images/ and 1st_manual/ (or manual/) folders", dataset, dir)
	}
	maskDir := firstDir(filepath.Join(dir, "mask"))

	images, err := listFiles(imgDir, imageExts)
	if err != nil {
		return nil, err
	}
	labels, err := listFiles(labelDir, imageExts)
	if err != nil {
		return nil, err
	}
	var masks []string
	if maskDir != "" {
		if masks, err = listFiles(maskDir, imageExts); err != nil {
			return nil, err
		}
	}
	set := &VesselSet{Dataset: dataset, Split: split, Dir: dir}
	for _, img := range images {
		stem := strings.TrimSuffix(img, filepath.Ext(img))
		if dataset == "chase" && !chaseInSplit(stem, split) {
			continue
		}
		label := match(stem, labels, "1st", "manual1")
		if label == "" {
			return nil, fmt.Errorf("dataset %s: no label in %s for image %s", dataset, labelDir, img)
		}
		s := VesselSample{ID: stem, Image: filepath.Join(imgDir, img), Label: filepath.Join(labelDir, label)}
		if m := match(stem, masks, "mask"); m != "" {
			s.Mask = filepath.Join(maskDir, m)
		}
		set.Samples = append(set.Samples, s)
	}
	if len(set.Samples) == 0 {
		return nil, fmt.Errorf("dataset %s at %s: no images for split %q", dataset, dir, split)
	}
	return set, nil
}

// chaseInSplit keeps both eyes of a child together: children 01-10 train,
// 11-14 test (the split train/vessels/train.py uses).
func chaseInSplit(stem, split string) bool {
	var child int
	if _, err := fmt.Sscanf(strings.TrimPrefix(stem, "Image_"), "%02d", &child); err != nil {
		return split == "all"
	}
	switch split {
	case "test":
		return child >= 11
	case "training", "train":
		return child <= 10
	default:
		return true
	}
}

// match finds the file belonging to an image stem: one named stem_* or
// stem.*, else one sharing the stem's first token ("01" of "01_test"),
// preferring names that contain one of prefer (the first observer).
func match(stem string, files []string, prefer ...string) string {
	var cands []string
	for _, f := range files {
		if strings.HasPrefix(f, stem+"_") || strings.HasPrefix(f, stem+".") {
			cands = append(cands, f)
		}
	}
	if len(cands) == 0 {
		id, _, _ := strings.Cut(stem, "_")
		for _, f := range files {
			if strings.HasPrefix(f, id+"_") || strings.HasPrefix(f, id+".") {
				cands = append(cands, f)
			}
		}
	}
	for _, p := range prefer {
		for _, c := range cands {
			if strings.Contains(c, p) {
				return c
			}
		}
	}
	if len(cands) > 0 {
		return cands[0]
	}
	return ""
}

func listFiles(dir string, exts []string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(exts, strings.ToLower(filepath.Ext(e.Name()))) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func firstDir(paths ...string) string {
	for _, p := range paths {
		if isDir(p) {
			return p
		}
	}
	return ""
}
