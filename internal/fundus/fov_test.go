package fundus

import (
	"errors"
	"image"
	"image/color"
	"math"
	"testing"
)

func TestDetectFOVSynthetic(t *testing.T) {
	tests := []struct {
		name                     string
		spec                     discSpec
		top, bottom, left, right bool
		whitePad                 bool // white beyond a thin black ring
	}{
		{name: "centred disc", spec: discSpec{w: 640, h: 600, cx: 320, cy: 300, r: 270, background: 6, bright: 220}},
		{name: "off-centre disc", spec: discSpec{w: 900, h: 700, cx: 380.5, cy: 360.25, r: 300, background: 2, bright: 200}},
		{name: "dark DRIVE-like disc", spec: discSpec{w: 565, h: 584, cx: 280, cy: 300, r: 268, background: 8, bright: 70}},
		{name: "large image, downscaled for detection", spec: discSpec{w: 2000, h: 1800, cx: 1010, cy: 890, r: 850, background: 4, bright: 210}},
		{name: "cropped top and bottom (IDRiD-like)",
			spec: discSpec{w: 1072, h: 712, cx: 500, cy: 355, r: 427, background: 3, bright: 200},
			top:  true, bottom: true},
		{name: "cropped on all sides",
			spec: discSpec{w: 400, h: 400, cx: 200, cy: 200, r: 215, background: 0, bright: 180},
			top:  true, bottom: true, left: true, right: true},
		{name: "white padding around the camera mask",
			spec:     discSpec{w: 500, h: 500, cx: 250, cy: 250, r: 220, background: 0, bright: 200},
			whitePad: true},
		{name: "cut at the right edge",
			spec:  discSpec{w: 500, h: 600, cx: 280, cy: 300, r: 250, background: 5, bright: 190},
			right: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.seed = 1
			img := syntheticFundus(s)
			if tc.whitePad {
				for y := range s.h {
					for x := range s.w {
						if math.Hypot(float64(x)+0.5-s.cx, float64(y)+0.5-s.cy) > s.r+4 {
							img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
						}
					}
				}
			}
			fov, err := DetectFOV(img)
			if err != nil {
				t.Fatalf("DetectFOV: %v", err)
			}
			// A pixel or 0.3% of the radius, whichever is larger.
			tol := math.Max(1, 0.003*s.r)
			if math.Abs(fov.CX-s.cx) > tol || math.Abs(fov.CY-s.cy) > tol || math.Abs(fov.Radius-s.r) > tol {
				t.Errorf("circle (%.2f, %.2f) r %.2f, want (%.2f, %.2f) r %.2f ± %.1f", fov.CX, fov.CY, fov.Radius, s.cx, s.cy, s.r, tol)
			}
			got := [4]bool{fov.ClippedTop, fov.ClippedBottom, fov.ClippedLeft, fov.ClippedRight}
			if want := [4]bool{tc.top, tc.bottom, tc.left, tc.right}; got != want {
				t.Errorf("clipped top/bottom/left/right = %v, want %v", got, want)
			}
			want := pixelCoverage(s.cx, s.cy, s.r, s.w, s.h)
			if math.Abs(fov.Coverage-want) > 0.01 {
				t.Errorf("Coverage = %.4f, want %.4f", fov.Coverage, want)
			}
		})
	}
}

// pixelCoverage counts pixel centres: an independent check of coverage().
func pixelCoverage(cx, cy, r float64, w, h int) float64 {
	f := FOV{CX: cx, CY: cy, Radius: r}
	n := 0
	for y := range h {
		for x := range w {
			if f.Contains(float64(x)+0.5, float64(y)+0.5) {
				n++
			}
		}
	}
	return float64(n) / (math.Pi * r * r)
}

func TestDetectFOVRejects(t *testing.T) {
	uniform := func(w, h int, c uint8) *image.NRGBA {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = c
			if i%4 == 3 {
				img.Pix[i] = 255
			}
		}
		return img
	}
	spot := uniform(400, 400, 0)
	for y := 195; y < 205; y++ {
		for x := 195; x < 205; x++ {
			spot.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
		}
	}
	// A crescent: a disc with an offset disc cut away. Its outer edge is a
	// circle, but the circle does not account for the region.
	crescent := uniform(400, 400, 0)
	for y := range 400 {
		for x := range 400 {
			px, py := float64(x)+0.5, float64(y)+0.5
			if math.Hypot(px-200, py-200) < 150 && math.Hypot(px-280, py-200) >= 150 {
				crescent.SetNRGBA(x, y, color.NRGBA{200, 100, 50, 255})
			}
		}
	}
	// The bottom-right corner of a circle far larger than the image: three
	// corners stay dark, and the edge is an arc of radius 2300.
	hugeArc := uniform(400, 400, 0)
	for y := range 400 {
		for x := range 400 {
			if math.Hypot(float64(x)+0.5-1900, float64(y)+0.5-1900) < 2300 {
				hugeArc.SetNRGBA(x, y, color.NRGBA{200, 100, 50, 255})
			}
		}
	}
	line := uniform(400, 400, 0)
	for x := 50; x < 350; x++ {
		line.SetNRGBA(x, 200, color.NRGBA{255, 255, 255, 255})
	}
	tests := []struct {
		name string
		img  *image.NRGBA
	}{
		{"nil", nil},
		{"empty", image.NewNRGBA(image.Rect(0, 0, 0, 0))},
		{"all black", uniform(300, 200, 0)},
		{"nearly black with noise", syntheticFundus(discSpec{w: 300, h: 300, cx: 150, cy: 150, r: 100, background: 4, bright: 5})},
		{"tiny bright spot", spot},
		{"all white", uniform(300, 200, 255)},
		{"crescent", crescent},
		{"thin bright line", line},
		{"edge of a huge circle", hugeArc},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fov, err := DetectFOV(tc.img)
			if !errors.Is(err, ErrNoFOV) {
				t.Fatalf("DetectFOV = %+v, %v; want ErrNoFOV", fov, err)
			}
			t.Log(err)
		})
	}
}

func TestFOVContains(t *testing.T) {
	f := FOV{CX: 10, CY: 20, Radius: 5, ClippedTop: true}
	tests := []struct {
		x, y float64
		want bool
	}{
		{10, 20, true},
		{15, 20, true}, // on the circle
		{15.01, 20, false},
		{13, 24, true},
		{14, 24, false},
		{10, 14.9, false},
	}
	for _, tc := range tests {
		if got := f.Contains(tc.x, tc.y); got != tc.want {
			t.Errorf("Contains(%g, %g) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}

func TestCoverage(t *testing.T) {
	tests := []struct {
		name            string
		cx, cy, r, w, h float64
		want            float64
	}{
		{"inside", 50, 50, 40, 100, 100, 1},
		{"half", 0, 50, 40, 100, 100, 0.5},
		{"quarter", 0, 0, 40, 100, 100, 0.25},
		{"outside", -100, 50, 40, 100, 100, 0},
		// Cut by two chords at distance d = r/2: each cap is
		// r²(acos(1/2) - (1/2)·sqrt(3/4)) out of πr².
		{"two caps", 50, 20, 40, 100, 40, 1 - 2*(math.Acos(0.5)-0.5*math.Sqrt(0.75))/math.Pi},
	}
	for _, tc := range tests {
		if got := coverage(tc.cx, tc.cy, tc.r, tc.w, tc.h); math.Abs(got-tc.want) > 1e-4 {
			t.Errorf("%s: coverage = %.5f, want %.5f", tc.name, got, tc.want)
		}
	}
}
