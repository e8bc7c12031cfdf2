package fundus

import (
	"image"
	"slices"
)

// grey is a downscaled single-channel copy of a photograph, the working
// image for DetectFOV. Grey pixel (i, j) covers original pixels
// [i*scale, (i+1)*scale) x [j*scale, (j+1)*scale).
type grey struct {
	w, h  int
	scale float64
	v     []float32 // row-major, 0..255
}

func (g *grey) at(x, y int) float32 { return g.v[y*g.w+x] }

// downscale box-averages one value per pixel over k x k blocks, k chosen so
// the longest side is at most side. The value is max(R,G,B): the fundus is
// reddish, so red carries the field of view even where green and blue are
// dark, and grey or oddly balanced images still work. With chroma it is
// max(R,G,B)-min(R,G,B) instead, for photographs padded with white: white
// padding and the black camera mask that often remains between it and the
// disc both become 0, while the fundus, red against blue, stands out.
func downscale(img *image.NRGBA, side int, chroma bool) *grey {
	W, H := img.Rect.Dx(), img.Rect.Dy()
	k := max(1, (max(W, H)+side-1)/side)
	w, h := (W+k-1)/k, (H+k-1)/k
	sum := make([]uint32, w*h)
	for y := range H {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):]
		out := sum[(y/k)*w:]
		for x := range W {
			p := row[4*x : 4*x+3 : 4*x+3]
			if chroma {
				out[x/k] += uint32(max(p[0], p[1], p[2]) - min(p[0], p[1], p[2]))
			} else {
				out[x/k] += uint32(max(p[0], p[1], p[2]))
			}
		}
	}
	g := &grey{w: w, h: h, scale: float64(k), v: make([]float32, w*h)}
	for j := range h {
		bh := min(k, H-j*k) // the last row and column of blocks may be partial
		for i := range w {
			bw := min(k, W-i*k)
			g.v[j*w+i] = float32(sum[j*w+i]) / float32(bw*bh)
		}
	}
	return g
}

// brightLevel returns the q-quantile (0..1) of the values above floor, or
// -1 if there are none. Ignoring the background makes the level describe the
// disc whatever fraction of the frame it fills.
func (g *grey) brightLevel(q, floor float64) float64 {
	var hist [256]int
	n := 0
	for _, v := range g.v {
		if float64(v) > floor {
			hist[min(int(v+0.5), 255)]++
			n++
		}
	}
	if n == 0 {
		return -1
	}
	want := int(q * float64(n-1))
	seen := 0
	for i, c := range hist {
		seen += c
		if seen > want {
			return float64(i)
		}
	}
	return 255
}

// backgroundLevel is the median of the four corner patches: fundus photos
// have black corners even when the disc is cropped at top and bottom.
func (g *grey) backgroundLevel() float64 {
	p := max(1, min(g.w, g.h)/16)
	vals := make([]float32, 0, 4*p*p)
	for _, c := range [][2]int{{0, 0}, {g.w - p, 0}, {0, g.h - p}, {g.w - p, g.h - p}} {
		for y := c[1]; y < c[1]+p; y++ {
			for x := c[0]; x < c[0]+p; x++ {
				vals = append(vals, g.at(x, y))
			}
		}
	}
	slices.Sort(vals)
	return float64(vals[len(vals)/2])
}

// largestRegion labels the 4-connected regions at or above t and returns a
// mask of the largest one with its area in grey pixels. Keeping one region
// drops noise, burnt-in text and stray reflections outside the disc.
func (g *grey) largestRegion(t float64) ([]bool, int) {
	label := make([]int32, len(g.v))
	var stack []int
	best, bestArea := int32(0), 0
	next := int32(0)
	for start, v := range g.v {
		if float64(v) < t || label[start] != 0 {
			continue
		}
		next++
		area := 0
		label[start] = next
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			area++
			push := func(n int) {
				if label[n] == 0 && float64(g.v[n]) >= t {
					label[n] = next
					stack = append(stack, n)
				}
			}
			g.neighbours4(i, push)
		}
		if area > bestArea {
			best, bestArea = next, area
		}
	}
	mask := make([]bool, len(g.v))
	for i, l := range label {
		mask[i] = l == best && best != 0
	}
	return mask, bestArea
}

// span is where one row (or column) of the region starts and ends, as
// sub-pixel threshold crossings in grey-image coordinates; at is the row's
// (column's) centre. An end that lies near the image border is not on the
// circle but on the frame, and is marked invalid.
type span struct {
	lo, hi     float64
	at         float64
	loOK, hiOK bool
}

// borderMargin drops crossings this close (in grey pixels) to the image
// edge: there the region is cut by the frame (or by a dark line of a few
// pixels that some cameras leave at the edge), not by the circle.
const borderMargin = 2

// spans returns the spans of the region's rows (vertical=false) or columns
// (vertical=true).
func (g *grey) spans(region []bool, t float64, vertical bool) []span {
	n, m := g.h, g.w // lines, and positions along a line
	idx := func(line, pos int) int { return line*g.w + pos }
	if vertical {
		n, m = g.w, g.h
		idx = func(line, pos int) int { return pos*g.w + line }
	}
	// cross interpolates where the value passes t between the centres of an
	// outside pixel (value a, centre ca) and an inside one (b, centre cb).
	cross := func(a, b float32, ca, cb float64) float64 {
		if float64(a) >= t || b <= a {
			return (ca + cb) / 2 // no clean ramp: take the pixel edge
		}
		return ca + (cb-ca)*(t-float64(a))/float64(b-a)
	}
	var out []span
	for line := range n {
		lo, hi := -1, -1
		for pos := range m {
			if region[idx(line, pos)] {
				if lo < 0 {
					lo = pos
				}
				hi = pos
			}
		}
		if lo < 0 {
			continue
		}
		s := span{at: float64(line) + 0.5, lo: float64(lo), hi: float64(hi + 1)}
		if lo >= borderMargin {
			s.lo, s.loOK = cross(g.v[idx(line, lo-1)], g.v[idx(line, lo)], float64(lo)-0.5, float64(lo)+0.5), true
		}
		if hi < m-borderMargin {
			s.hi, s.hiOK = cross(g.v[idx(line, hi+1)], g.v[idx(line, hi)], float64(hi)+1.5, float64(hi)+0.5), true
		}
		out = append(out, s)
	}
	return out
}

// fillHoles adds to region every pixel that cannot reach the image border
// without crossing it: dark lesions, vessels or a dark macula inside the
// disc. It returns the new area.
func (g *grey) fillHoles(region []bool) int {
	outside := make([]bool, len(region))
	var stack []int
	push := func(i int) {
		if !region[i] && !outside[i] {
			outside[i] = true
			stack = append(stack, i)
		}
	}
	for x := range g.w {
		push(x)
		push((g.h-1)*g.w + x)
	}
	for y := range g.h {
		push(y * g.w)
		push(y*g.w + g.w - 1)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		g.neighbours4(i, push)
	}
	area := 0
	for i := range region {
		region[i] = !outside[i]
		if region[i] {
			area++
		}
	}
	return area
}

// neighbours4 calls f with the 4-connected neighbours of pixel index i.
func (g *grey) neighbours4(i int, f func(int)) {
	if x := i % g.w; x > 0 {
		f(i - 1)
	}
	if x := i % g.w; x < g.w-1 {
		f(i + 1)
	}
	if i >= g.w {
		f(i - g.w)
	}
	if i+g.w < len(g.v) {
		f(i + g.w)
	}
}
