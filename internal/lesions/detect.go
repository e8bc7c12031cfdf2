package lesions

import (
	"context"
	"fmt"
	"image"
	"math"
	"sync"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// Detector runs the lesion model. Create one and share it: Detect is safe
// for concurrent use.
type Detector struct {
	run    infer.Runner
	model  Model
	tiling infer.Tiling
}

// New loads the model into an ONNX Runtime session.
func New(rt *infer.Runtime, m Model) (*Detector, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	s, err := rt.NewSession(infer.Model{Name: m.Name, ONNX: m.ONNX, Input: m.Input, Output: m.Output})
	if err != nil {
		return nil, err
	}
	return newWithRunner(s, m), nil
}

// Tiling. Every photo's FOV becomes about Model.FOVDiameterPx (1706) grid
// pixels wide, so the grid is about 1712 x 1424 (IDRiD, cut at top and
// bottom) to 1712 x 1712 (a full circle), which tiles of at most 896
// overlapping by 64 cover in 2 x 2 (infer.RunTiled shrinks them to what
// the cover needs: 896 x 752 for 1712 x 1424). Measured on IDRiD_055
// (2144x1424) on the 2-core development machine with square tiles and the
// full-width model of 2026.11.27 (four times the shipped model's work per
// pixel): one run of the whole grid took about 1.4 s and 2.0 GB of
// resident memory, 2 x 2 tiles of 896 about 1.7 s and 0.8 GB, 1024-pixel
// tiles (4 of them) 2.2 s and 1.2 GB. A 64-pixel overlap blends away the outer 16-32 pixels of
// each inner tile edge, about the 32-pixel context margin the training
// script scores with.
const (
	DefaultTile    = 896
	DefaultOverlap = 64
)

func newWithRunner(r infer.Runner, m Model) *Detector {
	return &Detector{run: r, model: m, tiling: infer.Tiling{Tile: DefaultTile, Overlap: DefaultOverlap, Multiple: m.SizeMultiple}}
}

// Close releases the session.
func (d *Detector) Close() error {
	if c, ok := d.run.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Model describes the model in use.
func (d *Detector) Model() Model { return d.model }

// Grid is the working-resolution raster the probability maps live on: the
// field of view's bounding box at the model's scale.
type Grid struct {
	Width, Height int
	// Transform maps grid coordinates to original-photo coordinates
	// (continuous: grid pixel (i, j) covers [i, i+1) x [j, j+1), so its
	// centre is ToOriginal(i+0.5, j+0.5)). Transform.Scale is original
	// pixels per grid pixel.
	Transform fundus.Transform
}

// Maps are per-type probability maps on a working grid: what the model
// produces, and what Measure computes objects and boxes from.
type Maps struct {
	Width, Height int        // the original photo, pixels
	FOV           fundus.FOV // in original pixels
	Grid          Grid
	// InFOV says, per grid pixel (row-major), whether its centre lies in
	// the FOV circle and in the photo. Lesions are looked for only there.
	InFOV []bool `json:"-"`
	// Prob is the model's probability per grid pixel (row-major, 0..1),
	// one map per Kind; pixels outside the FOV keep the model's value.
	Prob       [NumKinds][]float32 `json:"-"`
	Thresholds [NumKinds]float64
}

// Mask is lesion type k at its threshold inside the FOV, on the grid
// (255 = lesion).
func (m *Maps) Mask(k Kind) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, m.Grid.Width, m.Grid.Height))
	t := float32(m.Thresholds[k])
	for i, p := range m.Prob[k] {
		if p >= t && m.InFOV[i] {
			g.Pix[i] = 255
		}
	}
	return g
}

// At is the probability of lesion type k at original-photo coordinates
// (x, y): the value of the grid pixel that covers the point, 0 off the grid.
func (m *Maps) At(k Kind, x, y float64) float32 {
	u, v := m.Grid.Transform.ToAnalysis(x, y)
	i, j := int(math.Floor(u)), int(math.Floor(v))
	if i < 0 || j < 0 || i >= m.Grid.Width || j >= m.Grid.Height {
		return 0
	}
	return m.Prob[k][j*m.Grid.Width+i]
}

// Detect finds the lesions in img (the original photo) whose field of view
// is fov.
func (d *Detector) Detect(ctx context.Context, img *image.NRGBA, fov fundus.FOV, opt Options) (*Result, error) {
	m, err := d.Maps(ctx, img, fov)
	if err != nil {
		return nil, err
	}
	r, err := Measure(m, opt)
	if err != nil {
		return nil, err
	}
	r.Model = d.model.String()
	return r, nil
}

// Maps runs the model at its working scale and returns the probability
// maps, without objects: what evaluation scores pixel by pixel.
func (d *Detector) Maps(ctx context.Context, img *image.NRGBA, fov fundus.FOV) (*Maps, error) {
	if img == nil || img.Rect.Empty() {
		return nil, fmt.Errorf("detect lesions: empty image")
	}
	if !(fov.Radius > 0) || math.IsInf(fov.Radius, 0) {
		return nil, fmt.Errorf("detect lesions: field of view radius %v", fov.Radius)
	}
	s := workingScale(2*fov.Radius, d.model.FOVDiameterPx)
	work, grid := resampleFOV(img, fov, s)
	if grid.Width < 32 || grid.Height < 32 {
		return nil, fmt.Errorf("detect lesions: field of view %dx%d px at the working scale is too small", grid.Width, grid.Height)
	}
	prob, err := d.probabilities(ctx, work)
	if err != nil {
		return nil, err
	}
	m := &Maps{Width: img.Rect.Dx(), Height: img.Rect.Dy(), FOV: fov, Grid: grid, Prob: prob}
	for _, k := range Kinds {
		m.Thresholds[k] = d.model.threshold[k]
	}
	m.InFOV = gridFOV(grid, fov, img.Rect)
	return m, nil
}

// probabilities normalizes img, runs the model tiled and returns the
// sigmoid of each Kind's channel at img's size.
func (d *Detector) probabilities(ctx context.Context, img *image.NRGBA) ([NumKinds][]float32, error) {
	var out [NumKinds][]float32
	in := infer.FOVStandardize(img, d.model.FOVThreshold)
	res, err := infer.RunTiled(ctx, d.run, in, d.tiling)
	if err != nil {
		return out, fmt.Errorf("detect lesions: %w", err)
	}
	if int(res.Shape[1]) != len(d.model.Classes) {
		return out, fmt.Errorf("detect lesions: model has %d output channels, its metadata names %d classes", res.Shape[1], len(d.model.Classes))
	}
	plane := img.Rect.Dx() * img.Rect.Dy()
	var wg sync.WaitGroup
	for _, k := range Kinds {
		c := d.model.channel[k]
		p := res.Data[c*plane : (c+1)*plane : (c+1)*plane]
		out[k] = p
		wg.Go(func() {
			for i, v := range p {
				p[i] = float32(1 / (1 + math.Exp(-float64(v))))
			}
		})
	}
	wg.Wait()
	return out, nil
}

// snapTolerance: a working scale this close (relative) to a whole factor
// (1/k or k) takes that factor. The training script halves IDRiD exactly
// (2x2 box average), so snapping reproduces its input on IDRiD originals,
// spares the resampling on photos already at the model's scale, and should
// cost little: half the training patches were rescaled by 0.85-1.2.
const snapTolerance = 0.04

// workingScale is the number of grid pixels per original pixel that brings
// a FOV of diameter fovDiameter to want, snapped to a whole factor when
// near one.
func workingScale(fovDiameter, want float64) float64 {
	s := want / fovDiameter
	if s < 1 {
		if k := math.Round(1 / s); math.Abs(s*k-1) <= snapTolerance {
			return 1 / k
		}
		return s
	}
	if k := math.Round(s); math.Abs(s/k-1) <= snapTolerance {
		return k
	}
	return s
}

// fovMargin is how many original pixels the working crop extends past the
// FOV circle's bounding box.
const fovMargin = 4

// resampleFOV cuts the FOV's bounding box (plus a margin, within the photo)
// out of img at scale s (grid pixels per original pixel): area averaging
// when shrinking, bilinear when enlarging, a plain copy at 1. With s = 1/k
// the crop starts on a multiple of k, so the grid is exactly the training
// script's k x k box average of the whole photo.
func resampleFOV(img *image.NRGBA, fov fundus.FOV, s float64) (*image.NRGBA, Grid) {
	b := img.Rect
	x0 := max(int(math.Floor(fov.CX-fov.Radius))-fovMargin, b.Min.X)
	y0 := max(int(math.Floor(fov.CY-fov.Radius))-fovMargin, b.Min.Y)
	x1 := min(int(math.Ceil(fov.CX+fov.Radius))+fovMargin, b.Max.X)
	y1 := min(int(math.Ceil(fov.CY+fov.Radius))+fovMargin, b.Max.Y)
	if x1 <= x0 || y1 <= y0 {
		return image.NewNRGBA(image.Rectangle{}), Grid{Transform: fundus.Transform{Scale: 1}}
	}
	if k := math.Round(1 / s); s < 1 && 1/k == s {
		// Align to the k-grid of the whole photo, as the training script's
		// resize of the whole image has it.
		ki := int(k)
		x0 = b.Min.X + (x0-b.Min.X)/ki*ki
		y0 = b.Min.Y + (y0-b.Min.Y)/ki*ki
	}
	r := image.Rect(x0, y0, x1, y1)
	w, h := int(math.Floor(float64(r.Dx())*s+1e-9)), int(math.Floor(float64(r.Dy())*s+1e-9))
	grid := Grid{Width: w, Height: h, Transform: fundus.Transform{Scale: 1 / s, OffsetX: float64(x0), OffsetY: float64(y0)}}
	switch {
	case s == 1:
		dst := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			copy(dst.Pix[y*dst.Stride:y*dst.Stride+4*w], img.Pix[img.PixOffset(x0, y0+y):])
		}
		return dst, grid
	case s < 1:
		return areaResample(img, r, s, w, h), grid
	}
	return bilinearResample(img, r, s, w, h), grid
}

// tap is one source index and its weight.
type tap struct {
	i int
	w float32
}

// areaTaps gives, for each of n output cells of size 1/s source pixels
// starting at source index 0, the source pixels it overlaps (below limit)
// and the share of the cell each covers.
func areaTaps(n int, s float64, limit int) [][]tap {
	out := make([][]tap, n)
	cell := 1 / s
	for i := range out {
		lo, hi := float64(i)*cell, float64(i+1)*cell
		var taps []tap
		var sum float64
		for j := int(math.Floor(lo)); j < limit && float64(j) < hi; j++ {
			wt := math.Min(hi, float64(j+1)) - math.Max(lo, float64(j))
			if wt > 1e-9 {
				taps = append(taps, tap{j, float32(wt)})
				sum += wt
			}
		}
		for t := range taps {
			taps[t].w /= float32(sum)
		}
		out[i] = taps
	}
	return out
}

// areaResample shrinks the rectangle r of src to w x h by area averaging
// (every source pixel weighted by the share of the output pixel it
// covers: PIL's BOX filter).
func areaResample(src *image.NRGBA, r image.Rectangle, s float64, w, h int) *image.NRGBA {
	xt := areaTaps(w, s, r.Dx())
	yt := areaTaps(h, s, r.Dy())
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	rows := func(j0, j1 int) {
		acc := make([]float32, 3*r.Dx())
		for j := j0; j < j1; j++ {
			clear(acc)
			for _, ty := range yt[j] {
				row := src.Pix[src.PixOffset(r.Min.X, r.Min.Y+ty.i):]
				for x := range r.Dx() {
					p := row[4*x : 4*x+3 : 4*x+3]
					acc[3*x] += ty.w * float32(p[0])
					acc[3*x+1] += ty.w * float32(p[1])
					acc[3*x+2] += ty.w * float32(p[2])
				}
			}
			out := dst.Pix[j*dst.Stride:]
			for i, taps := range xt {
				var v [3]float32
				for _, tx := range taps {
					v[0] += tx.w * acc[3*tx.i]
					v[1] += tx.w * acc[3*tx.i+1]
					v[2] += tx.w * acc[3*tx.i+2]
				}
				for c := range 3 {
					out[4*i+c] = uint8(min(max(v[c]+0.5, 0), 255))
				}
				out[4*i+3] = 255
			}
		}
	}
	// Two halves in parallel: the machine this targets has two cores.
	var wg sync.WaitGroup
	wg.Go(func() { rows(0, h/2) })
	rows(h/2, h)
	wg.Wait()
	return dst
}

// bilinearResample enlarges the rectangle r of src by s into w x h.
func bilinearResample(src *image.NRGBA, r image.Rectangle, s float64, w, h int) *image.NRGBA {
	// x/image/draw's fast paths write *image.RGBA; the photograph is
	// opaque, so its bytes are the NRGBA ones.
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	if s == math.Trunc(s) && w == r.Dx()*int(s) && h == r.Dy()*int(s) {
		// A whole factor: Scale is exact here, and separable, so faster.
		draw.BiLinear.Scale(rgba, rgba.Rect, src, r, draw.Src, nil)
	} else {
		s2d := f64.Aff3{s, 0, -float64(r.Min.X) * s, 0, s, -float64(r.Min.Y) * s}
		draw.BiLinear.Transform(rgba, s2d, src, r, draw.Src, nil)
	}
	dst := &image.NRGBA{Pix: rgba.Pix, Stride: rgba.Stride, Rect: rgba.Rect}
	for i := 3; i < len(dst.Pix); i += 4 {
		dst.Pix[i] = 255
	}
	return dst
}

// gridFOV marks the grid pixels whose centres lie inside the FOV circle
// and inside the photo.
func gridFOV(g Grid, fov fundus.FOV, bounds image.Rectangle) []bool {
	out := make([]bool, g.Width*g.Height)
	for j := range g.Height {
		for i := range g.Width {
			x, y := g.Transform.ToOriginal(float64(i)+0.5, float64(j)+0.5)
			if x >= float64(bounds.Min.X) && x < float64(bounds.Max.X) && y >= float64(bounds.Min.Y) && y < float64(bounds.Max.Y) && fov.Contains(x, y) {
				out[j*g.Width+i] = true
			}
		}
	}
	return out
}
