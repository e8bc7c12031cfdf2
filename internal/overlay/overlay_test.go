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
