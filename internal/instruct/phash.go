package instruct

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// PHashSize is the side of the grey thumbnail the perceptual hash is
// computed from; the hash keeps the 8x8 lowest DCT frequencies of it.
const PHashSize = 32

// DefaultNearThreshold is the largest Hamming distance between two
// 64-bit pHashes that counts as a near duplicate (see docs/datasets.md
// for how it was chosen on the shared data).
const DefaultNearThreshold = 10

// PHash is a 64-bit DCT perceptual hash (Zauner 2010): the photo in grey,
// shrunk to 32x32 by area averaging, its 2-D DCT-II, and one bit per
// coefficient of the 8x8 lowest frequencies: 1 when above their median
// (the DC term left out of the median). Resizing, recompression, small
// brightness and contrast changes move few bits; a different photo moves
// about half.
func PHash(img *fundus.Image) uint64 {
	coef := dct8(img)
	return hashCoef(&coef)
}

// dct8 is the 8x8 lowest-frequency block of the 2-D DCT-II of the grey
// 32x32 thumbnail of the field of view's inner square.
func dct8(img *fundus.Image) [64]float64 {
	const n = PHashSize
	var grey [n * n]float64
	x0, y0, x1, y1 := innerSquare(img)
	w, h := x1-x0, y1-y0
	var sum [n * n]float64
	var cnt [n * n]float64
	pix, stride := img.Pix.Pix, img.Pix.Stride
	for y := 0; y < h; y++ {
		ty := y * n / h
		row := pix[(y0+y)*stride+4*x0:]
		for x := 0; x < w; x++ {
			tx := x * n / w
			p := row[4*x:]
			// ITU-R BT.601 luma.
			sum[ty*n+tx] += 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
			cnt[ty*n+tx]++
		}
	}
	for i := range grey {
		if cnt[i] > 0 {
			grey[i] = sum[i] / cnt[i]
		}
	}
	// Separable DCT-II, keeping the 8 lowest frequencies each way.
	const k = 8
	var cos [k][n]float64
	for u := range k {
		for x := range n {
			cos[u][x] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / (2 * n))
		}
	}
	var tmp [n][k]float64 // rows transformed
	for y := range n {
		for u := range k {
			s := 0.0
			for x := range n {
				s += grey[y*n+x] * cos[u][x]
			}
			tmp[y][u] = s
		}
	}
	var coef [64]float64
	for v := range k {
		for u := range k {
			s := 0.0
			for y := range n {
				s += tmp[y][u] * cos[v][y]
			}
			coef[v*k+u] = s
		}
	}
	return coef
}

// hashCoef sets one bit per coefficient above the median of the 63 AC terms.
func hashCoef(coef *[64]float64) uint64 {
	med := median(coef[1:])
	var hsh uint64
	for i, c := range coef {
		if c > med {
			hsh |= 1 << uint(63-i)
		}
	}
	return hsh
}

// PHashes returns the pHash of the photo and of its seven mirror images
// and quarter turns (the dihedral group), in that order, the first being
// PHash(img). Flipping the photo left-right changes the sign of the DCT
// terms of odd horizontal frequency, top-bottom those of odd vertical
// frequency, and a transpose swaps the frequencies, so all eight come from
// one transform. Augmented copies of a photo are often flipped or turned.
func PHashes(img *fundus.Image) [8]uint64 {
	coef := dct8(img)
	var out [8]uint64
	for t := range 8 {
		var c [64]float64
		for v := range 8 {
			for u := range 8 {
				x := coef[v*8+u]
				if t&1 != 0 && u%2 == 1 {
					x = -x
				}
				if t&2 != 0 && v%2 == 1 {
					x = -x
				}
				if t&4 != 0 {
					c[u*8+v] = x
				} else {
					c[v*8+u] = x
				}
			}
		}
		out[t] = hashCoef(&c)
	}
	return out
}

// MinHamming is the smallest Hamming distance between a and any of b's
// variants (PHashes).
func MinHamming(a uint64, b []uint64) int {
	d := 64
	for _, x := range b {
		d = min(d, Hamming(a, x))
	}
	return d
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	// insertion sort: 63 values
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Hamming is the number of differing bits of two hashes.
func Hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// FormatPHash writes a hash as 16 hex digits.
func FormatPHash(h uint64) string { return fmt.Sprintf("%016x", h) }

// ParsePHash reads 16 hex digits.
func ParsePHash(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("pHash %q: want 16 hex digits", s)
	}
	return strconv.ParseUint(s, 16, 64)
}

// phashLimits bound the decode of a photo for its hash.
var phashLimits = fundus.Limits{MaxPixels: 100e6}

// innerSquare is the square inscribed in the photo's field of view: the
// bounding box of the pixels brighter than the dark surround (a tenth of
// the brightest row/column profile), shrunk to the square inside its
// inscribed circle. The hash then sees the retina, not the shape and
// size of the black border, which is much alike in every fundus photo.
func innerSquare(img *fundus.Image) (x0, y0, x1, y1 int) {
	w, h := img.Width, img.Height
	pix, stride := img.Pix.Pix, img.Pix.Stride
	colMax := make([]int, w)
	rowMax := make([]int, h)
	step := max(1, min(w, h)/256)
	peak := 0
	for y := 0; y < h; y += step {
		row := pix[y*stride:]
		for x := 0; x < w; x += step {
			p := row[4*x:]
			v := int(p[0]) + int(p[1]) + int(p[2])
			colMax[x] = max(colMax[x], v)
			rowMax[y] = max(rowMax[y], v)
			peak = max(peak, v)
		}
	}
	thr := max(peak/10, 30)
	bx0, bx1, by0, by1 := -1, -1, -1, -1
	for x := 0; x < w; x += step {
		if colMax[x] > thr {
			if bx0 < 0 {
				bx0 = x
			}
			bx1 = x
		}
	}
	for y := 0; y < h; y += step {
		if rowMax[y] > thr {
			if by0 < 0 {
				by0 = y
			}
			by1 = y
		}
	}
	if bx0 < 0 || by0 < 0 || bx1-bx0 < 16 || by1-by0 < 16 {
		return 0, 0, w, h
	}
	bx1 += step // exclusive ends
	by1 += step
	cx, cy := float64(bx0+min(bx1, w))/2, float64(by0+min(by1, h))/2
	// The FOV may be cut at the top and bottom: the radius is the larger half-extent.
	r := float64(max(min(bx1, w)-bx0, min(by1, h)-by0)) / 2
	half := r / math.Sqrt2
	x0, x1 = max(int(math.Round(cx-half)), 0), min(int(math.Round(cx+half)), w)
	y0, y1 = max(int(math.Round(cy-half)), 0), min(int(math.Round(cy+half)), h)
	if x1-x0 < PHashSize || y1-y0 < PHashSize {
		return 0, 0, w, h
	}
	return x0, y0, x1, y1
}

// ThumbSize is the side of the grey thumbnail that confirms a near
// duplicate found by the pHash.
const ThumbSize = 16

// Thumb is the grey ThumbSize² thumbnail of the field of view's inner
// square, one byte per pixel, row by row.
func Thumb(img *fundus.Image) []byte {
	const n = ThumbSize
	x0, y0, x1, y1 := innerSquare(img)
	w, h := x1-x0, y1-y0
	var sum, cnt [n * n]float64
	pix, stride := img.Pix.Pix, img.Pix.Stride
	for y := 0; y < h; y++ {
		ty := y * n / h
		row := pix[(y0+y)*stride+4*x0:]
		for x := 0; x < w; x++ {
			p := row[4*x:]
			i := ty*n + x*n/w
			sum[i] += 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
			cnt[i]++
		}
	}
	out := make([]byte, n*n)
	for i := range out {
		if cnt[i] > 0 {
			out[i] = byte(math.Round(sum[i] / cnt[i]))
		}
	}
	return out
}

// transformThumb applies dihedral variant t (PHashes' order: bit 0 flips
// left-right, bit 1 top-bottom, bit 2 then transposes) to a thumbnail.
func transformThumb(b []byte, t int) []byte {
	const n = ThumbSize
	out := make([]byte, n*n)
	for y := range n {
		for x := range n {
			sx, sy := x, y
			if t&4 != 0 {
				sx, sy = y, x
			}
			if t&1 != 0 {
				sx = n - 1 - sx
			}
			if t&2 != 0 {
				sy = n - 1 - sy
			}
			out[y*n+x] = b[sy*n+sx]
		}
	}
	return out
}

// ThumbCorrelation is the Pearson correlation of two thumbnails (0 when
// either is flat).
func ThumbCorrelation(a, b []byte) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var ma, mb float64
	for i := range a {
		ma += float64(a[i])
		mb += float64(b[i])
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}
