package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/imgproc"
)

// Artery/vein ground-truth classes, from the RITE colour code.
const (
	avBackground = iota
	avArtery
	avVein
	avCrossing
	avUncertain
)

// OpenAVSet reads an artery/vein dataset in the layout of the shared RITE
// copy: ROOT/{training,test}/images (NN_test.png), av (NN_test.png, colour
// labels) and mask (NN_test_mask.gif, optional: without it the FOV is
// detected); split picks the folder, and ROOT may also be a split folder
// itself. Labels and masks are matched to images by name. Sample.Label is
// the colour label file.
func OpenAVSet(root, split string) (*VesselSet, error) {
	if !isDir(root) {
		return nil, fmt.Errorf("dataset root %s: not a folder", root)
	}
	if split == "" {
		split = "test"
	}
	dir := root
	if isDir(filepath.Join(root, split, "images")) {
		dir = filepath.Join(root, split)
	}
	imgDir, labelDir := filepath.Join(dir, "images"), filepath.Join(dir, "av")
	if !isDir(imgDir) || !isDir(labelDir) {
		return nil, fmt.Errorf("A/V dataset at %s: want images/ and av/ folders", dir)
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
	set := &VesselSet{Dataset: "rite", Split: split, Dir: dir}
	for _, img := range images {
		stem := img[:len(img)-len(filepath.Ext(img))]
		label := match(stem, labels)
		if label == "" {
			return nil, fmt.Errorf("A/V dataset: no label in %s for image %s", labelDir, img)
		}
		s := VesselSample{ID: stem, Image: filepath.Join(imgDir, img), Label: filepath.Join(labelDir, label)}
		if m := match(stem, masks, "mask"); m != "" {
			s.Mask = filepath.Join(maskDir, m)
		}
		set.Samples = append(set.Samples, s)
	}
	if len(set.Samples) == 0 {
		return nil, fmt.Errorf("A/V dataset at %s: no images", dir)
	}
	return set, nil
}

// loadAVLabels reads a colour A/V label image as train/av/train.py does:
// each channel set above 127, then black background, red artery, blue
// vein, green crossing, white uncertain; any other colour (RITE has a few
// dozen stray pixels) is an uncertain vessel.
func loadAVLabels(path string, w, h int) ([]uint8, error) {
	img, err := fundus.Load(path, fundus.Limits{})
	if err != nil {
		return nil, err
	}
	if img.Width != w || img.Height != h {
		return nil, fmt.Errorf("%s is %dx%d, its photo %dx%d", path, img.Width, img.Height, w, h)
	}
	var lut [8]uint8 // index: r<<2 | g<<1 | b
	for i := range lut {
		lut[i] = avUncertain
	}
	lut[0b000], lut[0b100], lut[0b001], lut[0b010] = avBackground, avArtery, avVein, avCrossing
	out := make([]uint8, w*h)
	for i := range out {
		p := img.Pix.Pix[4*i : 4*i+3]
		code := 0
		for c := range 3 {
			if p[c] > 127 {
				code |= 4 >> c
			}
		}
		out[i] = lut[code]
	}
	return out, nil
}

// AVFunc runs an artery/vein model on one photo and returns, per
// original-image pixel (row-major), the probabilities that a vessel pixel
// is an artery and that it is a vein.
type AVFunc func(ctx context.Context, img *fundus.Image) (artery, vein []float32, err error)

// AVConsistencyFunc relabels the pixels of a vessel mask so that labels
// agree along the vessel tree; it returns, per pixel, whether it is called
// an artery (only the mask's pixels are read).
type AVConsistencyFunc func(vessel *image.Gray, artery, vein []float32) (isArtery []bool, err error)

// Score is a rate that is NaN when undefined (no pixels to count), which
// JSON writes as null.
type Score float64

// MarshalJSON writes null for NaN and infinities.
func (s Score) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(s))
}

// AVScores are the A/V figures, with artery the positive class: accuracy
// over artery and vein pixels, artery sensitivity (arteries called
// arteries) and vein sensitivity (veins called veins, the artery
// specificity). Each set is counted on all labelled vessel pixels, on the
// centreline pixels only, and both again after the segment-consistency
// step (NaN when none was run).
type AVScores struct {
	Accuracy          Score `json:"accuracy"`
	ArterySensitivity Score `json:"artery_sensitivity"`
	VeinSensitivity   Score `json:"vein_sensitivity"`

	CentrelineAccuracy          Score `json:"centreline_accuracy"`
	CentrelineArterySensitivity Score `json:"centreline_artery_sensitivity"`
	CentrelineVeinSensitivity   Score `json:"centreline_vein_sensitivity"`

	ConsistentAccuracy          Score `json:"consistent_accuracy"`
	ConsistentArterySensitivity Score `json:"consistent_artery_sensitivity"`
	ConsistentVeinSensitivity   Score `json:"consistent_vein_sensitivity"`

	ConsistentCentrelineAccuracy          Score `json:"consistent_centreline_accuracy"`
	ConsistentCentrelineArterySensitivity Score `json:"consistent_centreline_artery_sensitivity"`
	ConsistentCentrelineVeinSensitivity   Score `json:"consistent_centreline_vein_sensitivity"`
}

// avCounts are the four confusion matrices behind AVScores.
type avCounts struct {
	pixel, centre, consPixel, consCentre Binary
}

func (c *avCounts) merge(o avCounts) {
	c.pixel.Merge(o.pixel)
	c.centre.Merge(o.centre)
	c.consPixel.Merge(o.consPixel)
	c.consCentre.Merge(o.consCentre)
}

func (c avCounts) scores() AVScores {
	r := func(b Binary) (acc, a, v Score) {
		return Score(b.Accuracy()), Score(b.Sensitivity()), Score(b.Specificity())
	}
	var s AVScores
	s.Accuracy, s.ArterySensitivity, s.VeinSensitivity = r(c.pixel)
	s.CentrelineAccuracy, s.CentrelineArterySensitivity, s.CentrelineVeinSensitivity = r(c.centre)
	s.ConsistentAccuracy, s.ConsistentArterySensitivity, s.ConsistentVeinSensitivity = r(c.consPixel)
	s.ConsistentCentrelineAccuracy, s.ConsistentCentrelineArterySensitivity, s.ConsistentCentrelineVeinSensitivity = r(c.consCentre)
	return s
}

// AVImage is one image's result.
type AVImage struct {
	ID string `json:"id"`
	AVScores
	ArteryPx     int  `json:"artery_px"`     // labelled artery pixels counted
	VeinPx       int  `json:"vein_px"`       // labelled vein pixels counted
	CentrelinePx int  `json:"centreline_px"` // of those, on the centreline
	MaskGiven    bool `json:"fov_mask_given"`
}

// AVReport is the result of an artery/vein evaluation.
type AVReport struct {
	Dataset string    `json:"dataset"`
	Split   string    `json:"split"`
	Dir     string    `json:"dir"`
	Images  []AVImage `json:"images"`
	// Overall pools every counted pixel of every image; MeanPerImage
	// averages the per-image scores.
	Overall      AVScores `json:"overall"`
	MeanPerImage AVScores `json:"mean_per_image"`
	Seconds      float64  `json:"seconds"`
	MedianImageS float64  `json:"median_image_seconds"`
}

// EvalAV scores an A/V model on every sample, the usual protocol of the
// A/V literature (e.g. on RITE): on the ground-truth vessel pixels inside
// the FOV that are labelled artery or vein (crossings and uncertain
// vessels excluded), a pixel is predicted artery if p_artery > p_vein,
// whether or not the model found the vessel. So these figures measure
// classification alone, not vessel detection. Centreline pixels are the
// skeleton (imgproc.Skeleton) of the whole ground-truth vessel mask
// (artery, vein, crossing and uncertain pixels), restricted to the same
// artery and vein pixels. When consistent is not nil it relabels the
// ground-truth vessel mask's pixels from the same probabilities, and the
// consistent_* figures count its labels on the same pixels. progress, if
// not nil, is called after each image.
func EvalAV(ctx context.Context, set *VesselSet, predict AVFunc, consistent AVConsistencyFunc, progress func(done, total int, id string)) (*AVReport, error) {
	rep := &AVReport{Dataset: set.Dataset, Split: set.Split, Dir: set.Dir}
	var all avCounts
	var durations []float64
	start := time.Now()
	for i, s := range set.Samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := fundus.Load(s.Image, fundus.Limits{})
		if err != nil {
			return nil, err
		}
		w, h := img.Width, img.Height
		truth, err := loadAVLabels(s.Label, w, h)
		if err != nil {
			return nil, err
		}
		fov, err := fovMask(s, img)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		pa, pv, err := predict(ctx, img)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.ID, err)
		}
		durations = append(durations, time.Since(t0).Seconds())
		if len(pa) != w*h || len(pv) != w*h {
			return nil, fmt.Errorf("%s: A/V map has %d and %d pixels, image %d", s.ID, len(pa), len(pv), w*h)
		}
		vessel := image.NewGray(image.Rect(0, 0, w, h))
		for p, c := range truth {
			if c != avBackground {
				vessel.Pix[p] = 255
			}
		}
		centre := imgproc.Skeleton(vessel)
		var cons []bool
		if consistent != nil {
			if cons, err = consistent(vessel, pa, pv); err != nil {
				return nil, fmt.Errorf("%s: %w", s.ID, err)
			}
			if len(cons) != w*h {
				return nil, fmt.Errorf("%s: consistent labels for %d pixels, image %d", s.ID, len(cons), w*h)
			}
		}
		var c avCounts
		res := AVImage{ID: s.ID, MaskGiven: s.Mask != ""}
		for p, in := range fov {
			t := truth[p]
			if !in || (t != avArtery && t != avVein) {
				continue
			}
			isArtery := t == avArtery
			if isArtery {
				res.ArteryPx++
			} else {
				res.VeinPx++
			}
			onCentre := centre.Pix[p] != 0
			pred := pa[p] > pv[p]
			c.pixel.Add(pred, isArtery)
			if onCentre {
				res.CentrelinePx++
				c.centre.Add(pred, isArtery)
			}
			if cons != nil {
				c.consPixel.Add(cons[p], isArtery)
				if onCentre {
					c.consCentre.Add(cons[p], isArtery)
				}
			}
		}
		all.merge(c)
		res.AVScores = c.scores()
		rep.Images = append(rep.Images, res)
		if progress != nil {
			progress(i+1, len(set.Samples), s.ID)
		}
	}
	rep.Overall = all.scores()
	rep.MeanPerImage = meanAVScores(rep.Images)
	rep.Seconds = time.Since(start).Seconds()
	rep.MedianImageS = median(durations)
	return rep, nil
}

// meanAVScores averages each figure over the images where it is defined.
func meanAVScores(imgs []AVImage) AVScores {
	var m AVScores
	fields := func(s *AVScores) []*Score {
		return []*Score{&s.Accuracy, &s.ArterySensitivity, &s.VeinSensitivity,
			&s.CentrelineAccuracy, &s.CentrelineArterySensitivity, &s.CentrelineVeinSensitivity,
			&s.ConsistentAccuracy, &s.ConsistentArterySensitivity, &s.ConsistentVeinSensitivity,
			&s.ConsistentCentrelineAccuracy, &s.ConsistentCentrelineArterySensitivity, &s.ConsistentCentrelineVeinSensitivity}
	}
	out := fields(&m)
	for k := range out {
		sum, n := 0.0, 0
		for i := range imgs {
			if v := float64(*fields(&imgs[i].AVScores)[k]); !math.IsNaN(v) {
				sum += v
				n++
			}
		}
		*out[k] = Score(math.NaN())
		if n > 0 {
			*out[k] = Score(sum / float64(n))
		}
	}
	return m
}
