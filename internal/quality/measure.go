package quality

import (
	"math"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// Measurement constants; fractions are of the FOV radius, pixels are
// frame-view or field-view pixels.
const (
	innerFraction    = 0.95 // measures inside the field stop short of the rim
	surroundFraction = 1.08 // the surround starts this far out
	gridCells        = 8    // the field square is cut into gridCells^2 cells
	frameBorder      = 3    // frame-view pixels: rim edges this close to the border are the frame's
	rimTolerance     = 0.15 // a rim ray is round when its edge lies within this fraction of the radius
	// Vessel pixels: darker by vesselContrast (of the local mean) than
	// both points vesselReach pixels away across a line, and not much
	// darker than the points as far along it. A cell holds vessels when
	// vesselCellShare of its field pixels are vessel pixels.
	vesselReach     = 3
	vesselContrast  = 0.03
	vesselCellShare = 0.03
	// Strong edges: the smoothed green channel changes by edgeContrast
	// of the local mean between points edgeReach pixels either side.
	edgeReach    = 2
	edgeContrast = 0.25
)

// frameMeasures describe the whole photo, with or without a field of view.
type frameMeasures struct {
	lumMean, lumStd float64
	chroma          float64 // mean (max-min) of R,G,B over the frame, grey levels
	white, black    float64 // shares of pixels with min(R,G,B) >= 250, max(R,G,B) < 8
	correlation     float64 // lag-1 correlation of the luminance
}

// fieldMeasures describe the field of view; every value is taken at the
// fieldSide scale inside innerFraction of the radius.
type fieldMeasures struct {
	fovShare float64 // share of the frame inside the circle
	coverage float64 // share of the circle inside the frame

	// Modality.
	roundness    float64 // share of determined rim rays whose edge is within rimTolerance of the radius
	rays         int     // rays whose edge could be determined
	surroundDark float64 // share of surround pixels that are plain (dark, or neutral white padding)
	surroundN    int     // surround pixels in the frame view
	redGreen     float64 // (R-G)/(R+G) of the mean colour
	redBlue      float64 // (R-B)/(R+B) of the mean colour
	saturation   float64 // mean (max-min)/max
	correlation  float64 // lag-1 correlation of the green channel
	flat         float64 // share of pixels whose 3x3 neighbourhood varies by under 1 grey level
	hueSpread    float64 // standard deviation of the chromaticity (r, g) over the field
	vesselCells  float64 // share of grid cells with vessel pixels (vesselCellShare of the cell, at least)
	edges        float64 // share of pixels on a strong edge (edgeContrast of the local mean across 2*edgeReach pixels)

	// Quality.
	lumMean, lumP5, lumP95 float64
	darkShare, brightShare float64 // luminance < 25; luminance >= 240 (white glare)
	focus                  float64 // fine / mid band-pass energy of green
	sharpness              float64 // fine band-pass rms / mean green
	detail                 float64 // vessel-scale band-pass rms / mean green
	noise                  float64 // noise sigma of green, grey levels
	uneven                 float64 // (p90-p10)/median of the cells' mean luminance
	darkCells              float64 // share of cells darker than 0.4 of the median cell, or below 20
	blurCells              float64 // share of cells whose detail is under 0.4 of the median cell's
}

func measureFrame(p *planes) frameMeasures {
	n := p.w * p.h
	lum := make([]float32, n)
	all := make([]bool, n)
	var m frameMeasures
	var s, ss, chroma float64
	for i := range n {
		r, g, b := p.r[i], p.g[i], p.b[i]
		l := 0.299*r + 0.587*g + 0.114*b
		lum[i], all[i] = l, true
		s += float64(l)
		ss += float64(l) * float64(l)
		hi, lo := max(r, g, b), min(r, g, b)
		chroma += float64(hi - lo)
		if lo >= 250 {
			m.white++
		}
		if hi < 8 {
			m.black++
		}
	}
	fn := float64(n)
	m.lumMean = s / fn
	m.lumStd = math.Sqrt(max(ss/fn-m.lumMean*m.lumMean, 0))
	m.chroma = chroma / fn
	m.white /= fn
	m.black /= fn
	m.correlation = lag1Correlation(lum, all, p.w, p.h)
	return m
}

// measureField takes every field-of-view measure. v.field must be set.
func measureField(v views, fov fundus.FOV, W, H int) fieldMeasures {
	var m fieldMeasures
	m.coverage = fov.Coverage
	m.fovShare = min(1, fov.Coverage*math.Pi*fov.Radius*fov.Radius/float64(W*H))
	measureSurround(&m, v, fov)

	f := v.field
	n := f.w
	c, R := float64(n)/2, v.fieldR
	in := make([]bool, n*n)
	count := 0
	for y := range n {
		for x := range n {
			dx, dy := float64(x)+0.5-c, float64(y)+0.5-c
			i := y*n + x
			if f.valid[i] && dx*dx+dy*dy <= innerFraction*innerFraction*R*R {
				in[i] = true
				count++
			}
		}
	}
	if count < 64 {
		return m
	}
	fc := float64(count)
	lum := make([]float32, 0, count)
	var sr, sg, sb, sat float64
	var cn, cr, cg, crr, cgg float64
	for i, ok := range in {
		if !ok {
			continue
		}
		r, g, b := f.r[i], f.g[i], f.b[i]
		if sum := float64(r + g + b); sum > 60 {
			x, y := float64(r)/sum, float64(g)/sum
			cn++
			cr += x
			cg += y
			crr += x * x
			cgg += y * y
		}
		l := 0.299*r + 0.587*g + 0.114*b
		lum = append(lum, l)
		sr += float64(r)
		sg += float64(g)
		sb += float64(b)
		hi, lo := max(r, g, b), min(r, g, b)
		if hi > 0 {
			sat += float64((hi - lo) / hi)
		}
		if l < 25 {
			m.darkShare++
		}
		if l >= 240 {
			m.brightShare++
		}
	}
	m.darkShare /= fc
	if cn > 0 {
		cr, cg = cr/cn, cg/cn
		m.hueSpread = math.Sqrt(max(crr/cn-cr*cr, 0) + max(cgg/cn-cg*cg, 0))
	}
	m.brightShare /= fc
	m.saturation = sat / fc
	m.redGreen = (sr - sg) / max(sr+sg, 1)
	m.redBlue = (sr - sb) / max(sr+sb, 1)
	q := histQuantiles(lum, 0.05, 0.95)
	m.lumMean = (0.299*sr + 0.587*sg + 0.114*sb) / fc
	m.lumP5, m.lumP95 = q[0], q[1]
	meanG := max(sg/fc, 1)

	g := f.g
	m.correlation = lag1Correlation(g, in, n, n)
	m.noise = noiseSigma(g, in, n, n)

	// Band-pass layers of the green channel (vessels show best in green):
	// fine = g1-g3 (a few pixels: what blur removes first), mid = g3-g10
	// (vessel calibres at this scale).
	g1 := boxMean(g, in, n, n, 1)
	g3 := boxMean(g, in, n, n, 3)
	g10 := boxMean(g, in, n, n, 10)
	var fine, mid, det float64
	flat := 0
	cellDet := make([]float64, gridCells*gridCells)
	cellLum := make([]float64, gridCells*gridCells)
	cellN := make([]int, gridCells*gridCells)
	cs := float64(n) / gridCells
	li := 0
	for y := range n {
		for x := range n {
			i := y*n + x
			if !in[i] {
				continue
			}
			a, b, d := float64(g1[i]-g3[i]), float64(g3[i]-g10[i]), float64(g1[i]-g10[i])
			fine += a * a
			mid += b * b
			det += d * d
			if x > 0 && y > 0 && x < n-1 && y < n-1 {
				lo, hi := g[i], g[i]
				for _, o := range [8]int{-n - 1, -n, -n + 1, -1, 1, n - 1, n, n + 1} {
					lo, hi = min(lo, g[i+o]), max(hi, g[i+o])
				}
				if hi-lo < 1 {
					flat++
				}
			}
			k := int(float64(y)/cs)*gridCells + int(float64(x)/cs)
			cellDet[k] += d * d
			cellLum[k] += float64(lum[li])
			cellN[k]++
			li++
		}
	}
	m.focus = math.Sqrt(fine / max(mid, 1e-9))
	m.sharpness = math.Sqrt(fine/fc) / meanG
	m.detail = math.Sqrt(det/fc) / meanG
	m.flat = float64(flat) / fc
	m.edges = edgeShare(g1, g10, brightCore(f, in, n), n)
	ves := vesselPixels(g1, g10, in, n)
	cellVes := make([]int, gridCells*gridCells)
	for y := range n {
		for x := range n {
			if ves[y*n+x] {
				cellVes[int(float64(y)/cs)*gridCells+int(float64(x)/cs)]++
			}
		}
	}

	// Cells at least half inside the field.
	full := cs * cs
	var lums, dets []float32
	for k := range cellN {
		if float64(cellN[k]) < 0.5*full {
			continue
		}
		l := cellLum[k] / float64(cellN[k])
		lums = append(lums, float32(l))
		dets = append(dets, float32(math.Sqrt(cellDet[k]/float64(cellN[k]))/max(l, 1)))
		if float64(cellVes[k]) >= vesselCellShare*float64(cellN[k]) {
			m.vesselCells++
		}
	}
	if len(lums) > 0 {
		m.vesselCells /= float64(len(lums))
	}
	if len(lums) >= 4 {
		ql := quantiles(lums, 0.1, 0.5, 0.9)
		m.uneven = (ql[2] - ql[0]) / max(ql[1], 1)
		md := quantile(dets, 0.5)
		for i := range lums {
			if float64(lums[i]) < 0.4*ql[1] || lums[i] < 20 {
				m.darkCells++
			}
			if float64(dets[i]) < 0.4*md {
				m.blurCells++
			}
		}
		m.darkCells /= float64(len(lums))
		m.blurCells /= float64(len(lums))
	}
	return m
}

// measureSurround measures, on the frame view, what lies around the
// circle (dark or white padding in a fundus photograph) and whether the
// bright region's edge follows the circle all round.
func measureSurround(m *fieldMeasures, v views, fov fundus.FOV) {
	p := v.frame
	s := v.frameScale
	cx, cy, R := fov.CX/s, fov.CY/s, fov.Radius/s
	var out []float32
	plain := 0
	for y := range p.h {
		for x := range p.w {
			i := y*p.w + x
			if math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy) < surroundFraction*R {
				continue
			}
			hi := max(p.r[i], p.g[i], p.b[i])
			lo := min(p.r[i], p.g[i], p.b[i])
			out = append(out, hi)
			if hi < 45 || (lo > 180 && hi-lo < 25) {
				plain++
			}
		}
	}
	m.surroundN = len(out)
	m.surroundDark = 1
	if len(out) > 0 {
		m.surroundDark = float64(plain) / float64(len(out))
	}
	m.roundness, m.rays = rimRoundness(p, cx, cy, R, len(out) > 0 && histQuantiles(out, 0.5)[0] > 100)
}

// rimRoundness follows 64 rays from outside the circle inwards; the first
// of two samples above a threshold between the surround and the field (as
// in fundus.DetectFOV) is the rim. It returns the share of the rays whose
// rim lies within rimTolerance of the radius, among the rays that tell:
//   - bright at the frame edge beyond the circle: the region spills out of
//     the circle (tells: not round);
//   - bright at the frame edge inside the circle: a crop (says nothing);
//   - a rim within frameBorder of the frame edge: the frame's, not the
//     circle's (says nothing);
//   - a rim well inside the circle with a dim field behind it: a dark part
//     of the field, not its edge (says nothing);
//   - no bright sample down to half the radius (says nothing).
//
// Over white padding (whitePad) the value is the chroma max-min, as in
// DetectFOV, so that the padding and the black mask both read as
// background.
func rimRoundness(p *planes, cx, cy, R float64, whitePad bool) (roundness float64, told int) {
	val := func(i int) float32 {
		hi := max(p.r[i], p.g[i], p.b[i])
		if whitePad {
			return hi - min(p.r[i], p.g[i], p.b[i])
		}
		return hi
	}
	var inside, out []float32
	for y := range p.h {
		for x := range p.w {
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			switch {
			case d <= 0.9*R:
				inside = append(inside, val(y*p.w+x))
			case d >= surroundFraction*R:
				out = append(out, val(y*p.w+x))
			}
		}
	}
	bg := 0.0
	if len(out) > 0 {
		bg = histQuantiles(out, 0.5)[0]
	}
	q := histQuantiles(inside, 0.5, 0.9)
	if math.IsNaN(q[1]) || q[1]-bg < 10 {
		return 0, 0
	}
	t := float32(bg + 0.15*(q[1]-bg))
	dim := float32(bg + 0.5*(q[0]-bg))
	at := func(rho, cos, sin float64) (float32, bool) {
		x, y := cx+rho*R*cos, cy+rho*R*sin
		if x < 0 || y < 0 || x >= float64(p.w) || y >= float64(p.h) {
			return 0, false
		}
		return val(int(y)*p.w + int(x)), true
	}
	const rays = 64
	step := 0.5 / max(R, 1) // half a frame pixel
	round := 0
	for k := range rays {
		sin, cos := math.Sincos(2 * math.Pi * (float64(k) + 0.5) / rays)
		edge := -1.0
		prevBright, started := false, false
		for rho := 1.35; rho >= 0.5; rho -= step {
			v, ok := at(rho, cos, sin)
			if !ok {
				continue
			}
			if !started {
				started = true
				if v >= t {
					if rho >= 1+rimTolerance {
						told++ // spills beyond the circle
					}
					break
				}
			}
			bright := v >= t
			if bright && prevBright {
				edge = rho + step
				break
			}
			prevBright = bright
		}
		if edge < 0 {
			continue
		}
		x, y := cx+edge*R*cos, cy+edge*R*sin
		if min(x, y, float64(p.w)-x, float64(p.h)-y) < frameBorder {
			continue
		}
		if edge < 1-rimTolerance {
			var behind []float32
			for rho := edge; rho >= 0.5; rho -= step {
				if v, ok := at(rho, cos, sin); ok {
					behind = append(behind, v)
				}
			}
			if quantile(behind, 0.5) < float64(dim) {
				continue
			}
		}
		told++
		if math.Abs(edge-1) <= rimTolerance {
			round++
		}
	}
	if told == 0 {
		return 0, 0
	}
	return float64(round) / float64(told), told
}

// vesselPixels marks the pixels of thin dark lines in the smoothed green
// channel g: for one of 8 directions, the pixel is darker than both
// points vesselReach away across the direction by vesselContrast of the
// local mean (bg), and the points as far along the direction are darker
// than those across by at least half as much. Step edges (one side
// brighter, the other not) and blobs (dark all round) do not qualify;
// vessels, which are long and narrow, do.
func vesselPixels(g, bg []float32, in []bool, n int) []bool {
	type dir struct{ ax, ay, lx, ly int } // across and along offsets
	var dirs []dir
	for k := range 8 {
		s, c := math.Sincos(math.Pi * float64(k) / 8)
		ax, ay := int(math.Round(vesselReach*c)), int(math.Round(vesselReach*s))
		dirs = append(dirs, dir{ax, ay, -ay, ax})
	}
	out := make([]bool, n*n)
	r := vesselReach
	for y := r; y < n-r; y++ {
		for x := r; x < n-r; x++ {
			i := y*n + x
			if !in[i] || bg[i] <= 0 {
				continue
			}
			v := g[i]
			need := vesselContrast * bg[i]
			for _, d := range dirs {
				a, b := i+d.ay*n+d.ax, i-d.ay*n-d.ax
				if !in[a] || !in[b] {
					continue
				}
				across := min(g[a], g[b]) - v
				if across < need {
					continue
				}
				la, lb := i+d.ly*n+d.lx, i-d.ly*n-d.lx
				if !in[la] || !in[lb] {
					continue
				}
				if max(g[la], g[lb])-v < across/2 {
					out[i] = true
					break
				}
			}
		}
	}
	return out
}

// brightCore is the part of the field that is clearly brighter than a
// black mask (max(R,G,B) above 0.15 of its 90th percentile), eroded by
// edgeReach+1 pixels: edges there are inside the picture, not where a
// stretched or notched field meets the mask.
func brightCore(f *planes, in []bool, n int) []bool {
	var hi []float32
	for i, ok := range in {
		if ok {
			hi = append(hi, max(f.r[i], f.g[i], f.b[i]))
		}
	}
	floor := float32(0.15 * histQuantiles(hi, 0.9)[0])
	bright := make([]bool, n*n)
	ones := make([]float32, n*n)
	for i, ok := range in {
		if ok && max(f.r[i], f.g[i], f.b[i]) > floor {
			bright[i] = true
			ones[i] = 1
		}
	}
	all := make([]bool, n*n)
	for i := range all {
		all[i] = true
	}
	share := boxMean(ones, all, n, n, edgeReach+1)
	for i := range bright {
		bright[i] = bright[i] && share[i] > 0.999
	}
	return bright
}

// edgeShare is the share of field pixels on a strong edge of g: the
// points edgeReach away on either side (horizontally or vertically)
// differ by edgeContrast of the local mean bg. Vessels in a sharp photo
// and the rim of the optic disc make some; a drawing's outlines make
// many; a hazy photo almost none.
func edgeShare(g, bg []float32, in []bool, n int) float64 {
	r := edgeReach
	count, total := 0, 0
	for y := r; y < n-r; y++ {
		for x := r; x < n-r; x++ {
			i := y*n + x
			if !in[i] {
				continue
			}
			total++
			h, v := i+r, i-r
			if !in[h] || !in[v] || !in[i+r*n] || !in[i-r*n] {
				continue
			}
			dx := math.Abs(float64(g[i+r] - g[i-r]))
			dy := math.Abs(float64(g[i+r*n] - g[i-r*n]))
			if max(dx, dy) > edgeContrast*float64(bg[i]) {
				count++
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(count) / float64(total)
}
