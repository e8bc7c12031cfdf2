package overlay

import (
	"image"
	"image/color"
	"testing"
)

func TestDraw(t *testing.T) {
	photo := image.NewNRGBA(image.Rect(0, 0, 100, 80))
	for i := range photo.Pix {
		photo.Pix[i] = 100
	}
	ves := image.NewGray(photo.Bounds())
	ves.SetGray(10, 10, color.Gray{255})
	out := Draw(photo, Layers{Vessels: ves, FOV: &Circle{50, 40, 30}, Disc: &Point{30, 60}})

	tests := []struct {
		name  string
		x, y  int
		check func(c color.NRGBA) bool
	}{
		{"vessel pixel turns green", 10, 10, func(c color.NRGBA) bool { return c.G > 180 && c.R < 60 }},
		{"plain pixel unchanged", 50, 40, func(c color.NRGBA) bool { return c == color.NRGBA{100, 100, 100, 100} }},
		{"ring pixel yellow", 80, 40, func(c color.NRGBA) bool { return c.R > 200 && c.G > 200 && c.B < 100 }},
		{"disc marker centre blue", 30, 60, func(c color.NRGBA) bool { return c.B > 200 && c.R < 60 }},
	}
	for _, tc := range tests {
		if c := out.NRGBAAt(tc.x, tc.y); !tc.check(c) {
			t.Errorf("%s: pixel (%d,%d) = %v", tc.name, tc.x, tc.y, c)
		}
	}
	if photo.NRGBAAt(10, 10) != (color.NRGBA{100, 100, 100, 100}) {
		t.Error("Draw modified its input")
	}
}

func TestDrawDiscAndZones(t *testing.T) {
	photo := image.NewNRGBA(image.Rect(0, 0, 200, 160))
	for i := range photo.Pix {
		photo.Pix[i] = 100
	}
	// A 21x21 disc square and a 9x9 cup square, as masks over part of the photo.
	disc := image.NewGray(image.Rect(40, 40, 80, 80))
	cup := image.NewGray(disc.Rect)
	for y := 50; y <= 70; y++ {
		for x := 50; x <= 70; x++ {
			disc.SetGray(x, y, color.Gray{255})
			if x >= 56 && x <= 64 && y >= 56 && y <= 64 {
				cup.SetGray(x, y, color.Gray{255})
			}
		}
	}
	out := Draw(photo, Layers{
		DiscMask: disc, CupMask: cup,
		ZoneB: &Ring{60.5, 60.5, 20, 30}, ZoneC: &Ring{60.5, 60.5, 20, 50},
	})
	tests := []struct {
		name  string
		x, y  int
		check func(c color.NRGBA) bool
	}{
		{"disc outline blue", 50, 60, func(c color.NRGBA) bool { return c.B > 200 && c.R < 60 }},
		{"cup outline white", 56, 60, func(c color.NRGBA) bool { return c.R > 200 && c.G > 200 && c.B > 200 }},
		{"rim interior untouched", 53, 60, func(c color.NRGBA) bool { return c == color.NRGBA{100, 100, 100, 100} }},
		{"cup interior untouched", 60, 60, func(c color.NRGBA) bool { return c == color.NRGBA{100, 100, 100, 100} }},
		{"zone B outer circle", 90, 60, func(c color.NRGBA) bool { return c.B > 200 && c.G < 120 && c.R < 160 }},
		{"zone B over zone C on the shared inner circle", 80, 60, func(c color.NRGBA) bool { return c.B > 200 && c.G < 120 && c.R < 160 }},
		{"zone C outer circle", 110, 60, func(c color.NRGBA) bool { return c.R > 180 && c.B > 200 && c.G < 120 }},
	}
	for _, tc := range tests {
		if c := out.NRGBAAt(tc.x, tc.y); !tc.check(c) {
			t.Errorf("%s: pixel (%d,%d) = %v", tc.name, tc.x, tc.y, c)
		}
	}
}
