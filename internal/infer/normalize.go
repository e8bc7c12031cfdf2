package infer

import (
	"image"
	"math"
)

// normEps matches NORM_EPS in the training scripts.
const normEps = 1e-6

// FOVStandardize turns an RGB image into a model's [1,3,H,W] input, exactly
// as fov_normalize in train/vessels/train.py does (models whose metadata
// says "normalization": "fov_standardize"): values scaled to 0..1, then
// per channel the mean is subtracted and the (population) standard
// deviation divided out over the pixels whose brightest channel exceeds
// fovThreshold/255; all other pixels are 0. Standardizing over the field of
// view makes the model indifferent to exposure and camera colour balance.
func FOVStandardize(img *image.NRGBA, fovThreshold int) Tensor {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	t := NewTensor(1, 3, int64(h), int64(w))
	inside := make([]bool, w*h)
	var sum [3]float64
	n := 0
	for y := 0; y < h; y++ {
		row := img.Pix[(y)*img.Stride:]
		for x := 0; x < w; x++ {
			p := row[4*x : 4*x+3]
			if int(max(p[0], p[1], p[2])) <= fovThreshold {
				continue
			}
			inside[y*w+x] = true
			n++
			for c := 0; c < 3; c++ {
				sum[c] += float64(float32(p[c]) / 255)
			}
		}
	}
	if n == 0 {
		return t // an all-dark image: every input is 0, the model sees nothing
	}
	var mean, sq [3]float64
	for c := range mean {
		mean[c] = sum[c] / float64(n)
	}
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			if !inside[y*w+x] {
				continue
			}
			for c := 0; c < 3; c++ {
				d := float64(float32(row[4*x+c])/255) - mean[c]
				sq[c] += d * d
			}
		}
	}
	plane := w * h
	for c := 0; c < 3; c++ {
		std := math.Sqrt(sq[c]/float64(n)) + normEps
		for y := 0; y < h; y++ {
			row := img.Pix[y*img.Stride:]
			for x := 0; x < w; x++ {
				if inside[y*w+x] {
					t.Data[c*plane+y*w+x] = float32((float64(float32(row[4*x+c])/255) - mean[c]) / std)
				}
			}
		}
	}
	return t
}
