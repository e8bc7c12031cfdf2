package overlay

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// fill blends col into the pixels of img where mask (img's size) is set.
func fill(img *image.NRGBA, mask *image.Gray, col color.NRGBA, alpha float64) {
	b := img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if mask.Pix[y*mask.Stride+x] == 0 {
				continue
			}
			i := y*img.Stride + 4*x
			img.Pix[i] = blend(img.Pix[i], col.R, alpha)
			img.Pix[i+1] = blend(img.Pix[i+1], col.G, alpha)
			img.Pix[i+2] = blend(img.Pix[i+2], col.B, alpha)
		}
	}
}

// rect draws a box outline about width wide, just outside the box's edges
// so that it does not cover the lesion.
func rect(img *image.NRGBA, bx Box, width float64, col color.NRGBA) {
	w := max(1, int(math.Round(width)))
	x0, y0 := int(math.Floor(bx[0]))-w, int(math.Floor(bx[1]))-w
	x1, y1 := int(math.Ceil(bx[2]))+w, int(math.Ceil(bx[3]))+w
	solid(img, image.Rect(x0, y0, x1, y0+w), col, 1)
	solid(img, image.Rect(x0, y1-w, x1, y1), col, 1)
	solid(img, image.Rect(x0, y0, x0+w, y1), col, 1)
	solid(img, image.Rect(x1-w, y0, x1, y1), col, 1)
}

// solid blends col over r (clipped to img).
func solid(img *image.NRGBA, r image.Rectangle, col color.NRGBA, alpha float64) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i] = blend(img.Pix[i], col.R, alpha)
			img.Pix[i+1] = blend(img.Pix[i+1], col.G, alpha)
			img.Pix[i+2] = blend(img.Pix[i+2], col.B, alpha)
		}
	}
}

// legend draws, in the top-left corner on a dark panel, the title and one
// line per lesion type: a swatch of its colour and its label, in
// basicfont's 7x13 glyphs scaled by a whole factor with the photo.
func legend(img *image.NRGBA, title string, layers []LesionLayer) {
	if title == "" {
		title = "Lesions (experimental)"
	}
	b := img.Bounds()
	k := max(1, int(math.Round(float64(max(b.Dx(), b.Dy()))/1100)))
	face := basicfont.Face7x13
	lines := []string{title}
	for _, l := range layers {
		lines = append(lines, l.Label)
	}
	lineH, swatch, pad := 15, 10, 4
	textW := 0
	for _, s := range lines {
		textW = max(textW, font.MeasureString(face, s).Ceil())
	}
	w, h := pad+swatch+pad+textW+pad, pad+len(lines)*lineH+pad
	// The text is drawn at 1x into a coverage mask, then scaled by k.
	mask := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: mask, Src: image.NewUniform(color.Alpha{255}), Face: face}
	for i, s := range lines {
		x := pad + swatch + pad
		if i == 0 {
			x = pad
		}
		d.Dot = fixed.P(x, pad+i*lineH+11)
		d.DrawString(s)
	}
	origin := image.Pt(b.Min.X+pad*k, b.Min.Y+pad*k)
	for y := 0; y < h*k && origin.Y+y < b.Max.Y; y++ {
		for x := 0; x < w*k && origin.X+x < b.Max.X; x++ {
			sx, sy := x/k, y/k
			i := img.PixOffset(origin.X+x, origin.Y+y)
			p := img.Pix[i : i+3 : i+3]
			for c := range p { // a dark panel
				p[c] = blend(p[c], 0, 0.65)
			}
			line := (sy - pad) / lineH
			if line >= 1 && line < len(lines) && sx >= pad && sx < pad+swatch {
				if ry := (sy - pad) % lineH; ry >= 2 && ry < 2+swatch {
					col := layers[line-1].Color
					p[0], p[1], p[2] = col.R, col.G, col.B
					continue
				}
			}
			if a := mask.Pix[sy*mask.Stride+sx]; a > 0 {
				f := float64(a) / 255
				p[0], p[1], p[2] = blend(p[0], 255, f), blend(p[1], 255, f), blend(p[2], 255, f)
			}
		}
	}
}
