package synth

import (
	"image"
	"math"
	"math/rand/v2"
)

// Each consumer of randomness draws from its own PCG stream of the seed, so
// that, say, turning noise on leaves the vessel tree and texture unchanged.
const (
	streamTree    = 0x74726565 // "tree"
	streamTexture = 0x74657874 // "text"
	streamNoise   = 0x6e6f6973 // "nois"
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// Appearance constants, on the 0..255 scale unless noted.
const (
	textureWaves  = 6     // low-frequency cosines summed for choroidal texture
	textureAmp    = 0.012 // relative amplitude of each texture wave
	vignetteDepth = 0.3   // relative darkening at the FOV edge
	maculaSigma   = 1.1   // macular darkening sigma, in disc radii
)

type rgb [3]float64

func backgroundColour() rgb { return rgb{200, 90, 40} }

// maculaDepth is the relative darkening per channel at the fovea; the
// macular pigment absorbs green and blue more than red.
func maculaDepth() rgb { return rgb{0.18, 0.30, 0.30} }

func discColour() rgb { return rgb{238, 172, 100} }
func cupColour() rgb  { return rgb{252, 232, 178} }

// vesselAttenuation is the relative darkening per channel on a vessel's
// centreline. Veins carry darker, deoxygenated blood, so they absorb more,
// leaving arteries lighter and redder.
func vesselAttenuation(k VesselKind) rgb {
	if k == Vein {
		return rgb{0.40, 0.55, 0.50}
	}
	return rgb{0.22, 0.38, 0.35}
}

// lesionLook gives a lesion's colour, peak opacity and edge softness (the
// width, in px, of the logistic edge whose half level sits at the radius,
// so the drawn blob agrees with the mask).
func lesionLook(k LesionKind, radius float64) (col rgb, opacity, soft float64) {
	switch k {
	case Microaneurysm:
		return rgb{105, 22, 14}, 1, 0.3
	case Haemorrhage:
		return rgb{112, 20, 12}, 0.95, 0.4 + 0.06*radius
	case HardExudate:
		return rgb{250, 228, 95}, 1, 0.3
	default: // SoftExudate: pale and fuzzy, a cotton-wool spot
		return rgb{232, 212, 170}, 0.8, 0.25 * radius
	}
}

// canvas holds the image in linear float planes while it is composed; float32
// halves the memory of float64 and is far finer than the 8-bit output.
type canvas struct {
	n  int
	ch [3][]float32
}

func newCanvas(n int) *canvas {
	c := &canvas{n: n}
	for i := range c.ch {
		c.ch[i] = make([]float32, n*n)
	}
	return c
}

// blend moves pixel i towards col by weight w in [0, 1].
func (c *canvas) blend(i int, col rgb, w float64) {
	for k := range c.ch {
		v := float64(c.ch[k][i])
		c.ch[k][i] = float32(v + (col[k]-v)*w)
	}
}

// box returns the pixel range [x0, x1) × [y0, y1) whose centres may lie
// within reach of the rectangle [minX, maxX] × [minY, maxY], clipped to the
// image.
func box(n int, minX, minY, maxX, maxY, reach float64) (x0, y0, x1, y1 int) {
	clip := func(v float64) int { return int(math.Max(0, math.Min(float64(n), v))) }
	return clip(math.Floor(minX - reach)), clip(math.Floor(minY - reach)),
		clip(math.Ceil(maxX+reach) + 1), clip(math.Ceil(maxY+reach) + 1)
}

func newMask(n int) *image.Gray { return image.NewGray(image.Rect(0, 0, n, n)) }

// Generate draws the fundus described by spec and returns it with its ground
// truth, or an error wrapping ErrInvalidSpec.
//
// With spec.Vessels nil it draws a default tree, jittered by spec.Seed:
// Segments[0:4] are the temporal arcades (superior artery, superior vein,
// inferior artery, inferior vein), Segments[4:8] shorter nasal vessels in
// the same order, and the rest two branches per arcade, each starting
// exactly on its parent's centreline. Arteries are 0.15 and veins 0.2 disc
// radii wide (nasal vessels 0.75 and branches 0.65 of that, never below
// 1 px). With the default field of view the tree has 16 segments lying
// wholly inside it; a smaller field of view cuts vessels short or drops
// branches.
//
// Composition order: background with texture and macula, disc, cup,
// lesions, vessels (on top, so VesselMask is always visible), vignetting and
// Brightness, Blur, Noise, then black outside the field of view.
//
// The cost is a few passes over the image plus, per vessel, a distance
// evaluation over a band about twice its width along its length.
func Generate(spec Spec) (*Fundus, error) {
	r, err := resolve(spec)
	if err != nil {
		return nil, err
	}
	n := r.size
	f := &Fundus{
		FOV:         r.fov,
		Disc:        r.disc,
		Cup:         r.cup,
		Fovea:       r.fovea,
		FOVMask:     newMask(n),
		VesselMask:  newMask(n),
		ArteryMask:  newMask(n),
		VeinMask:    newMask(n),
		DiscMask:    newMask(n),
		CupMask:     newMask(n),
		LesionMasks: make(map[LesionKind]*image.Gray, numLesionKinds),
	}
	for k := range numLesionKinds {
		f.LesionMasks[LesionKind(k)] = newMask(n)
	}
	fov := f.FOVMask.Pix
	for y := range n {
		for x := range n {
			if sq(float64(x)+0.5-r.fov.X)+sq(float64(y)+0.5-r.fov.Y) <= sq(r.fov.R) {
				fov[y*n+x] = 255
			}
		}
	}

	vessels := r.vessels
	if r.defaultVes {
		vessels = defaultTree(r, newRand(r.seed, streamTree))
	}
	f.Segments = make([]Segment, len(vessels))
	for i, v := range vessels {
		cl := sampleCurve(v.Points)
		s := Segment{Kind: v.Kind, Centerline: cl, Width: v.Width, Length: polylineLength(cl)}
		s.Chord = dist(cl[0], cl[len(cl)-1])
		s.DistanceTortuosity = s.Length / s.Chord
		f.Segments[i] = s
	}

	c := newCanvas(n)
	paintBackground(c, r)
	paintDisc(c, r, f)
	paintLesions(c, r, f)
	paintVessels(c, f)
	illuminate(c, r)
	if r.blur > 0 {
		blur(c, r.blur)
	}
	f.Image = finish(c, r, fov)
	return f, nil
}

// paintBackground fills the canvas with the fundus colour modulated by a
// faint seeded texture, then darkens the macula.
func paintBackground(c *canvas, r *resolved) {
	n := c.n
	rng := newRand(r.seed, streamTexture)
	// Each wave cos(kx·x + ky·y + φ) is split as cos a·cos b − sin a·sin b
	// with per-column and per-row tables, avoiding trigonometry per pixel.
	type wave struct{ cx, sx, cy, sy []float64 }
	waves := make([]wave, textureWaves)
	for i := range waves {
		lambda := (0.15 + 0.3*rng.Float64()) * float64(n)
		theta, phi := 2*math.Pi*rng.Float64(), 2*math.Pi*rng.Float64()
		kx, ky := 2*math.Pi/lambda*math.Cos(theta), 2*math.Pi/lambda*math.Sin(theta)
		w := wave{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)}
		for j := range n {
			p := float64(j) + 0.5
			w.sx[j], w.cx[j] = math.Sincos(kx*p + phi)
			w.sy[j], w.cy[j] = math.Sincos(ky * p)
		}
		waves[i] = w
	}
	bg := backgroundColour()
	for y := range n {
		for x := range n {
			var t float64
			for _, w := range waves {
				t += w.cx[x]*w.cy[y] - w.sx[x]*w.sy[y]
			}
			g := 1 + textureAmp*t
			i := y*n + x
			for k := range c.ch {
				c.ch[k][i] = float32(bg[k] * g)
			}
		}
	}

	sigma := maculaSigma * r.disc.R
	depth := maculaDepth()
	fx, fy := r.fovea.X, r.fovea.Y
	x0, y0, x1, y1 := box(n, fx, fy, fx, fy, 4*sigma)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			g := math.Exp(-(sq(float64(x)+0.5-fx) + sq(float64(y)+0.5-fy)) / (2 * sigma * sigma))
			i := y*n + x
			for k := range c.ch {
				c.ch[k][i] *= float32(1 - depth[k]*g)
			}
		}
	}
}

// paintDisc draws the disc and the cup with soft edges whose half level lies
// exactly on the true boundary, and fills their masks.
func paintDisc(c *canvas, r *resolved, f *Fundus) {
	n := c.n
	fov := f.FOVMask.Pix
	d := r.disc
	soft := math.Max(0.5, 0.03*d.R)
	x0, y0, x1, y1 := box(n, d.X, d.Y, d.X, d.Y, d.R+6*soft)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := y*n + x
			rad := math.Hypot(float64(x)+0.5-d.X, float64(y)+0.5-d.Y)
			c.blend(i, discColour(), logistic(d.R-rad, soft))
			if rad <= d.R && fov[i] != 0 {
				f.DiscMask.Pix[i] = 255
			}
		}
	}

	e := r.cup
	// The cup's edge is a gradual slope in real discs, hence the softer edge.
	soft = math.Max(0.5, 0.12*e.RY)
	x0, y0, x1, y1 = box(n, e.X, e.Y, e.X, e.Y, math.Max(e.RX, e.RY)+6*soft)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := y*n + x
			dx, dy := float64(x)+0.5-e.X, float64(y)+0.5-e.Y
			q := math.Hypot(dx/e.RX, dy/e.RY) // 1 on the boundary
			// Signed distance to the boundary along the ray from the
			// centre: rad/q is the ellipse's radius in this direction.
			s := math.Min(e.RX, e.RY)
			if rad := math.Hypot(dx, dy); q > 0 {
				s = rad/q - rad
			}
			c.blend(i, cupColour(), logistic(s, soft))
			if q <= 1 && fov[i] != 0 {
				f.CupMask.Pix[i] = 255
			}
		}
	}
}

// paintLesions draws the lesions in order and records their masks, boxes
// and areas.
func paintLesions(c *canvas, r *resolved, f *Fundus) {
	n := c.n
	fov := f.FOVMask.Pix
	f.Lesions = make([]Lesion, len(r.lesions))
	for li, l := range r.lesions {
		col, opacity, soft := lesionLook(l.Kind, l.Radius)
		mask := f.LesionMasks[l.Kind].Pix
		out := Lesion{Kind: l.Kind, Center: l.Center, Radius: l.Radius}
		bx0, by0, bx1, by1 := n, n, 0, 0
		cx, cy := l.Center.X, l.Center.Y
		x0, y0, x1, y1 := box(n, cx, cy, cx, cy, l.Radius+6*soft)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				i := y*n + x
				rad := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
				c.blend(i, col, opacity*logistic(l.Radius-rad, soft))
				if rad <= l.Radius && fov[i] != 0 {
					mask[i] = 255
					out.Area++
					bx0, by0 = min(bx0, x), min(by0, y)
					bx1, by1 = max(bx1, x+1), max(by1, y+1)
				}
			}
		}
		if out.Area > 0 {
			out.Box = [4]int{bx0, by0, bx1, by1}
		}
		f.Lesions[li] = out
	}
}

// paintVessels darkens the canvas along every segment with a raised-cosine
// cross-section and fills the vessel masks. Where vessels overlap the
// darker one wins per channel rather than darkening multiplying up, so
// branch points and crossings do not turn into dark blots.
func paintVessels(c *canvas, f *Fundus) {
	if len(f.Segments) == 0 {
		return
	}
	n := c.n
	fov := f.FOVMask.Pix
	var trans [3][]float32 // per-channel transmittance, 1 = untouched
	for k := range trans {
		trans[k] = make([]float32, n*n)
		for i := range trans[k] {
			trans[k][i] = 1
		}
	}
	var d2buf []float64 // squared distance to the centreline over a box
	for _, s := range f.Segments {
		w := s.Width
		reach := w // the profile vanishes at one width from the centreline
		minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range s.Centerline {
			minX, minY, maxX, maxY = min(minX, p.X), min(minY, p.Y), max(maxX, p.X), max(maxY, p.Y)
		}
		x0, y0, x1, y1 := box(n, minX, minY, maxX, maxY, reach)
		bw, bh := x1-x0, y1-y0
		if bw <= 0 || bh <= 0 {
			continue
		}
		if cap(d2buf) < bw*bh {
			d2buf = make([]float64, bw*bh)
		}
		d2 := d2buf[:bw*bh]
		for i := range d2 {
			d2[i] = math.Inf(1)
		}
		cl := s.Centerline
		for j := 1; j < len(cl); j++ {
			a, b := cl[j-1], cl[j]
			e := newEdge(a, b)
			ex0, ey0, ex1, ey1 := box(n, min(a.X, b.X), min(a.Y, b.Y), max(a.X, b.X), max(a.Y, b.Y), reach)
			for y := ey0; y < ey1; y++ {
				base := (y-y0)*bw - x0
				py := float64(y) + 0.5
				for x := ex0; x < ex1; x++ {
					if v := e.dist2(float64(x)+0.5, py); v < d2[base+x] {
						d2[base+x] = v
					}
				}
			}
		}

		half2, reach2 := sq(w/2), sq(reach)
		att := vesselAttenuation(s.Kind)
		kindMask := f.ArteryMask.Pix
		if s.Kind == Vein {
			kindMask = f.VeinMask.Pix
		}
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				v := d2[(y-y0)*bw+x-x0]
				if v >= reach2 {
					continue
				}
				i := y*n + x
				if v <= half2 && fov[i] != 0 {
					kindMask[i] = 255
					f.VesselMask.Pix[i] = 255
				}
				depth := 0.5 * (1 + math.Cos(math.Pi*math.Sqrt(v)/w))
				for k := range trans {
					if t := float32(1 - depth*att[k]); t < trans[k][i] {
						trans[k][i] = t
					}
				}
			}
		}
	}
	for k := range c.ch {
		for i, t := range trans[k] {
			c.ch[k][i] *= t
		}
	}
}

// illuminate applies the camera's radial falloff and the brightness
// multiplier, which act on the whole scene alike.
func illuminate(c *canvas, r *resolved) {
	n := c.n
	for y := range n {
		dy2 := sq(float64(y) + 0.5 - r.fov.Y)
		for x := range n {
			rr := (sq(float64(x)+0.5-r.fov.X) + dy2) / sq(r.fov.R)
			g := float32(r.brightness * math.Max(0, 1-vignetteDepth*rr))
			i := y*n + x
			for k := range c.ch {
				c.ch[k][i] *= g
			}
		}
	}
}

// blur applies a separable Gaussian of the given sigma, clamping at the image
// border. It runs before the FOV is blacked out, so the field of view's edge
// stays sharp and no black bleeds inwards.
func blur(c *canvas, sigma float64) {
	n := c.n
	rad := min(n, int(math.Ceil(3*sigma)))
	kern := make([]float32, 2*rad+1)
	var sum float32
	for i := range kern {
		kern[i] = float32(math.Exp(-sq(float64(i-rad)) / (2 * sigma * sigma)))
		sum += kern[i]
	}
	for i := range kern {
		kern[i] /= sum
	}
	clampIdx := func(v int) int { return max(0, min(n-1, v)) }
	tmp := make([]float32, n*n)
	for _, p := range c.ch {
		for y := range n {
			row := p[y*n : (y+1)*n]
			for x := range n {
				var acc float32
				for j, kv := range kern {
					acc += kv * row[clampIdx(x+j-rad)]
				}
				tmp[y*n+x] = acc
			}
		}
		for y := range n {
			for x := range n {
				var acc float32
				for j, kv := range kern {
					acc += kv * tmp[clampIdx(y+j-rad)*n+x]
				}
				p[y*n+x] = acc
			}
		}
	}
}

// finish adds noise, quantises to 8 bits and blacks out everything outside
// the field of view.
func finish(c *canvas, r *resolved, fov []uint8) *image.NRGBA {
	n := c.n
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	var rng *rand.Rand
	if r.noise > 0 {
		rng = newRand(r.seed, streamNoise)
	}
	for i := range n * n {
		px := img.Pix[4*i : 4*i+4 : 4*i+4]
		px[3] = 255
		if fov[i] == 0 {
			continue
		}
		for k := range c.ch {
			v := float64(c.ch[k][i])
			if rng != nil {
				v += r.noise * rng.NormFloat64()
			}
			px[k] = uint8(math.Max(0, math.Min(255, math.Round(v))))
		}
	}
	return img
}
