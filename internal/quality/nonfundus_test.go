package quality

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// Generators of images that are not colour fundus photographs. Each is
// drawn at a photo-like size from a fixed seed.

type drawFunc func(x, y float64) color.NRGBA

func paint(w, h int, f drawFunc) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, f(float64(x)+0.5, float64(y)+0.5))
		}
	}
	return img
}

func clamp8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

func rgb(r, g, b float64) color.NRGBA { return color.NRGBA{clamp8(r), clamp8(g), clamp8(b), 255} }

func uniformImage(c color.NRGBA) *image.NRGBA {
	return paint(800, 600, func(x, y float64) color.NRGBA { return c })
}

func gradientImage() *image.NRGBA {
	return paint(800, 600, func(x, y float64) color.NRGBA {
		t := x / 800
		return rgb(255*t, 120*t, 60*t)
	})
}

func radialGradientImage() *image.NRGBA {
	return paint(800, 600, func(x, y float64) color.NRGBA {
		d := math.Hypot(x-400, y-300) / 300
		t := max(0, 1-d)
		return rgb(230*t, 110*t, 40*t)
	})
}

func noiseImage(seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	return paint(800, 600, func(x, y float64) color.NRGBA {
		return rgb(r.Float64()*255, r.Float64()*255, r.Float64()*255)
	})
}

// noiseDisc is coloured noise inside a circle on black: it has the
// geometry of a fundus photograph and nothing else.
func noiseDisc(seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 2))
	return paint(800, 600, func(x, y float64) color.NRGBA {
		if math.Hypot(x-400, y-300) > 280 {
			return rgb(0, 0, 0)
		}
		return rgb(150+100*r.NormFloat64(), 80+60*r.NormFloat64(), 40+40*r.NormFloat64())
	})
}

// textPage is black "text" (dashes of random lengths in lines) on white.
func textPage(seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 3))
	img := uniformImage(rgb(250, 250, 248))
	for line := 40; line < 560; line += 22 {
		x := 40
		for x < 760 {
			wl := 10 + r.IntN(60)
			for y := line; y < line+12; y++ {
				for xx := x; xx < min(x+wl, 760); xx++ {
					img.SetNRGBA(xx, y, rgb(20, 20, 25))
				}
			}
			x += wl + 8
		}
	}
	return img
}

// stripes: vertical black and white bars, a test chart.
func stripesImage() *image.NRGBA {
	return paint(800, 600, func(x, y float64) color.NRGBA {
		if int(x/16)%2 == 0 {
			return rgb(0, 0, 0)
		}
		return rgb(255, 255, 255)
	})
}

// octScan is a grey B-scan: speckled wavy layers on black.
func octScan(seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 4))
	return paint(1000, 500, func(x, y float64) color.NRGBA {
		top := 200 + 30*math.Sin(x/160) - 40*math.Exp(-sq((x-500)/60))
		d := y - top
		v := 0.0
		switch {
		case d < 0:
			v = 5
		case d < 12:
			v = 200
		case d < 50:
			v = 90 + 30*math.Sin(d/4)
		case d < 70:
			v = 60
		case d < 85:
			v = 230
		case d < 140:
			v = 70 * math.Exp(-(d-85)/40)
		default:
			v = 8
		}
		v *= 0.6 + 0.4*r.Float64() // speckle
		return rgb(v, v, v)
	})
}

func sq(v float64) float64 { return v * v }

// face is a cartoon face: a skin-coloured ellipse with hair, eyes, brows,
// a nose and a mouth. dark puts it on black, the hard case, since a
// fundus photo is a skin-toned disc on black too.
func face(dark bool) *image.NRGBA {
	bg := rgb(170, 190, 215)
	if dark {
		bg = rgb(0, 0, 0)
	}
	return paint(600, 800, func(x, y float64) color.NRGBA {
		ex, ey := (x-300)/210, (y-420)/290
		inFace := ex*ex+ey*ey <= 1
		hair := (x-300)*(x-300)/sq(225)+(y-350)*(y-350)/sq(300) <= 1 && y < 260
		switch {
		case hair:
			return rgb(70, 45, 25)
		case !inFace:
			return bg
		}
		for _, side := range []float64{-1, 1} {
			cx := 300 + side*80
			if d := math.Hypot((x-cx)/45, (y-380)/22); d <= 1 {
				if math.Hypot(x-cx, y-380) < 14 {
					return rgb(40, 30, 20)
				}
				return rgb(245, 245, 240)
			}
			if math.Abs(y-335) < 6 && math.Abs(x-cx) < 50 {
				return rgb(80, 55, 35)
			}
		}
		if math.Abs(x-300) < 5 && y > 400 && y < 500 {
			return rgb(200, 140, 115)
		}
		if math.Hypot((x-300)/80, (y-570)/18) <= 1 {
			return rgb(190, 60, 70)
		}
		return rgb(232, 180, 150)
	})
}

// roundFace is the same face drawn in a circle on black: the geometry of
// a fundus photograph, the content of a drawing.
func roundFace() *image.NRGBA {
	f := face(true)
	return paint(800, 800, func(x, y float64) color.NRGBA {
		if math.Hypot(x-400, y-400) > 330 {
			return rgb(0, 0, 0)
		}
		sx, sy := int(300+(x-400)*0.62), int(420+(y-400)*0.85)
		if sx < 0 || sy < 0 || sx >= 600 || sy >= 800 {
			return rgb(232, 180, 150)
		}
		c := f.NRGBAAt(sx, sy)
		if c.R == 0 && c.G == 0 && c.B == 0 {
			return rgb(232, 180, 150)
		}
		return c
	})
}

// orangeDisc is a flat orange disc on black: a fundus's outline with
// nothing in it.
func orangeDisc() *image.NRGBA {
	return paint(800, 600, func(x, y float64) color.NRGBA {
		if math.Hypot(x-400, y-300) > 280 {
			return rgb(0, 0, 0)
		}
		return rgb(210, 100, 40)
	})
}

// scene is an outdoor photo-like picture: sky, sun, hills, with texture.
func scene(seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 5))
	return paint(800, 600, func(x, y float64) color.NRGBA {
		n := 8 * r.NormFloat64()
		hill := 380 + 40*math.Sin(x/90) + 20*math.Sin(x/37)
		switch {
		case math.Hypot(x-620, y-120) < 50:
			return rgb(255, 240, 180)
		case y < hill:
			return rgb(120+y/6+n, 170+y/8+n, 235+n)
		default:
			return rgb(60+n, 130+20*math.Sin(x/13)+n, 50+n)
		}
	})
}
