package biomarkers

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/bits"
	"slices"
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
	return boxCountDimension(mask, image.Rect(0, 0, b.Dx(), b.Dy()), boundary, sizes)
}

// boxCountDimension is BoxCountDimension knowing that all foreground lies
// within box (in mask's zero-origin pixel coordinates).
func boxCountDimension(mask *image.Gray, box image.Rectangle, boundary bool, sizes []int) (float64, error) {
	for _, k := range sizes {
		if k < 1 {
			return 0, fmt.Errorf("box size %d: must be positive", k)
		}
	}
	counts := boxCounts(mask, box, boundary, sizes)
	var xs, ys []float64
	for i, k := range sizes {
		if counts[i] > 0 {
			xs = append(xs, math.Log(float64(k)))
			ys = append(ys, math.Log(float64(counts[i])))
		}
	}
	if len(xs) < 2 {
		return 0, errors.New("box counting: fewer than two box sizes with a non-zero count")
	}
	return -slope(xs, ys), nil
}

// boxCounts counts, for each size, the boxes that BoxCountDimension
// counts. Powers of two share one pyramid of box sums: boxes of size 2k are
// unions of 2×2 boxes of size k, edge boxes included, since all tilings
// start at the top-left corner. Other sizes use a summed-area table. All
// foreground must lie within box, zero-origin.
func boxCounts(mask *image.Gray, box image.Rectangle, boundary bool, sizes []int) []int {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	counts := make([]int, len(sizes))
	if len(sizes) == 0 || w == 0 || h == 0 {
		return counts
	}
	lo, hi := slices.Min(sizes), slices.Max(sizes)
	pow2 := true
	for _, k := range sizes {
		pow2 = pow2 && k&(k-1) == 0
	}
	count := func(k int, sum func(x0, y0, x1, y1 int) int) int {
		n, full := 0, k*k
		for y0 := 0; y0 < h; y0 += k {
			for x0 := 0; x0 < w; x0 += k {
				s := sum(x0, y0, min(x0+k, w), min(y0+k, h))
				if s > 0 && (!boundary || s < full) {
					n++
				}
			}
		}
		return n
	}
	if !pow2 {
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
		sum := func(x0, y0, x1, y1 int) int {
			return int(sat[y1*(w+1)+x1] - sat[y0*(w+1)+x1] - sat[y1*(w+1)+x0] + sat[y0*(w+1)+x0])
		}
		for i, k := range sizes {
			counts[i] = count(k, sum)
		}
		return counts
	}
	shift := bits.TrailingZeros(uint(lo))
	bw, bh := (w+lo-1)/lo, (h+lo-1)/lo
	sums := make([]int32, bw*bh)
	box = box.Intersect(image.Rect(0, 0, w, h))
	for y := box.Min.Y; y < box.Max.Y; y++ {
		row := mask.Pix[y*mask.Stride+box.Min.X : y*mask.Stride+box.Max.X]
		base := (y >> shift) * bw
		for x, v := range row {
			if v != 0 {
				sums[base+(box.Min.X+x)>>shift]++
			}
		}
	}
	for k := lo; ; k *= 2 {
		n, full := 0, int32(min(k*k, math.MaxInt32))
		for _, s := range sums {
			if s > 0 && (!boundary || s < full) {
				n++
			}
		}
		for i, kk := range sizes {
			if kk == k {
				counts[i] = n
			}
		}
		if k >= hi {
			return counts
		}
		nw, nh := (bw+1)/2, (bh+1)/2
		next := make([]int32, nw*nh)
		for y := 0; y < bh; y++ {
			for x := 0; x < bw; x++ {
				next[(y/2)*nw+x/2] += sums[y*bw+x]
			}
		}
		sums, bw, bh = next, nw, nh
	}
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
