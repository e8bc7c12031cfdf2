package fundus

import (
	"image"
	"image/color"
)

// toNRGBA converts any decoded image to an *image.NRGBA whose bounds start
// at (0,0). The common decoder outputs get direct loops: the generic path
// goes through an interface call and a colour conversion per pixel, which is
// several times slower on 3-megapixel photographs.
func toNRGBA(src image.Image) *image.NRGBA {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	switch s := src.(type) {
	case *image.NRGBA:
		for y := range h {
			i := s.PixOffset(b.Min.X, b.Min.Y+y)
			copy(dst.Pix[y*dst.Stride:(y+1)*dst.Stride], s.Pix[i:i+4*w])
		}
	case *image.YCbCr:
		for y := range h {
			d := dst.Pix[y*dst.Stride : (y+1)*dst.Stride]
			for x := range w {
				yi := s.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := s.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = r, g, bl, 0xff
			}
		}
	case *image.Gray:
		for y := range h {
			d := dst.Pix[y*dst.Stride : (y+1)*dst.Stride]
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				v := row[x]
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = v, v, v, 0xff
			}
		}
	case *image.RGBA:
		for y := range h {
			d := dst.Pix[y*dst.Stride : (y+1)*dst.Stride]
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[4*x : 4*x+4]
				if p[3] == 0xff {
					copy(d[4*x:4*x+4], p)
					continue
				}
				c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = c.R, c.G, c.B, c.A
			}
		}
	case *image.Paletted:
		// Convert the palette once instead of once per pixel.
		pal := make([]color.NRGBA, 256)
		for i, c := range s.Palette {
			pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		for y := range h {
			d := dst.Pix[y*dst.Stride : (y+1)*dst.Stride]
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				// Indices past the palette stay transparent black,
				// matching image.Paletted.At.
				c := pal[row[x]]
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = c.R, c.G, c.B, c.A
			}
		}
	default:
		for y := range h {
			d := dst.Pix[y*dst.Stride : (y+1)*dst.Stride]
			for x := range w {
				c := color.NRGBAModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = c.R, c.G, c.B, c.A
			}
		}
	}
	return dst
}
