package eval

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// VesselFunc segments one photo and returns a vessel probability per
// original-image pixel (row-major) and the threshold the product uses.
type VesselFunc func(ctx context.Context, img *fundus.Image) (prob []float32, threshold float64, err error)

// Scores are the figures reported per image and overall.
type Scores struct {
	AUC         float64 `json:"auc"`
	F1          float64 `json:"f1"`
	Accuracy    float64 `json:"accuracy"`
	Sensitivity float64 `json:"sensitivity"`
	Specificity float64 `json:"specificity"`
}

func scores(auc float64, b Binary) Scores {
	return Scores{AUC: auc, F1: b.F1(), Accuracy: b.Accuracy(), Sensitivity: b.Sensitivity(), Specificity: b.Specificity()}
}

// VesselImage is one image's result.
type VesselImage struct {
	ID string `json:"id"`
	Scores
	FOVPx     int  `json:"fov_px"`
	MaskGiven bool `json:"fov_mask_given"` // false: the FOV was computed
}

// VesselReport is the result of a vessel evaluation.
type VesselReport struct {
	Dataset   string        `json:"dataset"`
	Split     string        `json:"split"`
	Dir       string        `json:"dir"`
	Threshold float64       `json:"threshold"`
	Images    []VesselImage `json:"images"`
	// Overall pools every FOV pixel of every image (the usual way DRIVE
	// results are published); MeanPerImage averages the per-image scores.
	Overall      Scores  `json:"overall"`
	MeanPerImage Scores  `json:"mean_per_image"`
	Seconds      float64 `json:"seconds"`
	MedianImageS float64 `json:"median_image_seconds"`
}

// EvalVessels runs seg on every sample and scores it inside the FOV.
// progress, if not nil, is called after each image.
func EvalVessels(ctx context.Context, set *VesselSet, seg VesselFunc, progress func(done, total int, id string)) (*VesselReport, error) {
	rep := &VesselReport{Dataset: set.Dataset, Split: set.Split, Dir: set.Dir}
	var pooled []Scored
	var all Binary
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
		truth, err := loadBinary(s.Label, img.Width, img.Height)
		if err != nil {
			return nil, err
		}
		fov, err := fovMask(s, img)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		prob, thr, err := seg(ctx, img)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.ID, err)
		}
		durations = append(durations, time.Since(t0).Seconds())
		if len(prob) != img.Width*img.Height {
			return nil, fmt.Errorf("%s: segmentation has %d pixels, image %d", s.ID, len(prob), img.Width*img.Height)
		}
		rep.Threshold = thr
		var b Binary
		sc := make([]Scored, 0, len(prob)/2)
		for p, in := range fov {
			if !in {
				continue
			}
			b.Add(float64(prob[p]) >= thr, truth[p])
			sc = append(sc, Scored{prob[p], truth[p]})
		}
		pooled = append(pooled, sc...)
		all.Merge(b)
		rep.Images = append(rep.Images, VesselImage{ID: s.ID, Scores: scores(AUC(sc), b), FOVPx: len(sc), MaskGiven: s.Mask != ""})
		if progress != nil {
			progress(i+1, len(set.Samples), s.ID)
		}
	}
	rep.Overall = scores(AUC(pooled), all)
	rep.MeanPerImage = meanScores(rep.Images)
	rep.Seconds = time.Since(start).Seconds()
	rep.MedianImageS = median(durations)
	return rep, nil
}

func meanScores(imgs []VesselImage) Scores {
	var m Scores
	for _, r := range imgs {
		m.AUC += r.AUC
		m.F1 += r.F1
		m.Accuracy += r.Accuracy
		m.Sensitivity += r.Sensitivity
		m.Specificity += r.Specificity
	}
	n := float64(len(imgs))
	return Scores{m.AUC / n, m.F1 / n, m.Accuracy / n, m.Sensitivity / n, m.Specificity / n}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadBinary reads a label or mask image of the photo's size as a flat
// set/unset slice (fundus.LoadMask decides what counts as set).
func loadBinary(path string, w, h int) ([]bool, error) {
	m, err := fundus.LoadMask(path, fundus.Limits{})
	if err != nil {
		return nil, err
	}
	if m.Rect.Dx() != w || m.Rect.Dy() != h {
		return nil, fmt.Errorf("%s is %dx%d, its photo %dx%d", path, m.Rect.Dx(), m.Rect.Dy(), w, h)
	}
	out := make([]bool, w*h)
	for i, v := range m.Pix {
		out[i] = v != 0
	}
	return out, nil
}

// fovMask is the dataset's FOV mask, or the detected FOV circle clipped to
// the image when the dataset has none.
func fovMask(s VesselSample, img *fundus.Image) ([]bool, error) {
	if s.Mask != "" {
		return loadBinary(s.Mask, img.Width, img.Height)
	}
	f, err := fundus.DetectFOV(img.Pix)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Image, err)
	}
	return f.Raster(img.Width, img.Height), nil
}
