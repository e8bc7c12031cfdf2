package biomarkers

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// AutoMorphBoxSizes are the box sizes of AutoMorph's fractal dimension:
// powers of two from 2^⌊log₂ min(w, h)⌋ down to 4.
func AutoMorphBoxSizes(w, h int) []int {
	var s []int
	for k := 1 << floorLog2(min(w, h)); k >= 4; k /= 2 {
		s = append(s, k)
	}
	return s
}

// SkeletonBoxSizes are the box sizes used for the skeleton count: powers of
// two from 2 up to a quarter of the shorter side, so the largest boxes
// still tile the image four times across and the smallest resolve a
// one-pixel line.
func SkeletonBoxSizes(w, h int) []int {
	var s []int
	for k := 2; k <= min(w, h)/4; k *= 2 {
		s = append(s, k)
	}
	return s
}

func floorLog2(v int) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}

// BoxCountDimension is the box-counting dimension of mask (non-zero =
// foreground): minus the least-squares slope of log(count) against
// log(box size) over sizes. Boxes tile the image from its top-left corner;
// boxes cut by the right and bottom edges are kept, as numpy's reduceat
// does in AutoMorph.
//
// With boundary false a box counts when it holds any foreground (the
// classic occupancy count, used on skeletons). With boundary true it counts
// when it holds foreground but is not completely full (foreground count
// below size², the full-box area even for boxes cut by the edge): this is
// AutoMorph's count on the mask, which measures the vessel boundary, so a
// filled square scores about 1, not 2.
//
// Sizes with a zero count are skipped; fewer than two usable sizes is an
// error.
func BoxCountDimension(mask *image.Gray, boundary bool, sizes []int) (float64, error) {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	// Summed-area table, so each box costs four reads whatever its size.
	sat := make([]int32, (w+1)*(h+1))
	for y := 0; y < h; y++ {
		var row int32
		for x := 0; x < w; x++ {
			if mask.Pix[y*mask.Stride+x] != 0 {
				row++
			}
			sat[(y+1)*(w+1)+x+1] = sat[y*(w+1)+x+1] + row
		}
	}
	var xs, ys []float64
	for _, k := range sizes {
		if k < 1 {
			return 0, fmt.Errorf("box size %d: must be positive", k)
		}
		count := 0
		full := int32(k * k)
		for y0 := 0; y0 < h; y0 += k {
			y1 := min(y0+k, h)
			for x0 := 0; x0 < w; x0 += k {
				x1 := min(x0+k, w)
				s := sat[y1*(w+1)+x1] - sat[y0*(w+1)+x1] - sat[y1*(w+1)+x0] + sat[y0*(w+1)+x0]
				if s > 0 && (!boundary || s < full) {
					count++
				}
			}
		}
		if count > 0 {
			xs = append(xs, math.Log(float64(k)))
			ys = append(ys, math.Log(float64(count)))
		}
	}
	if len(xs) < 2 {
		return 0, errors.New("box counting: fewer than two box sizes with a non-zero count")
	}
	return -slope(xs, ys), nil
}

// slope is the ordinary least-squares slope of y on x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}
