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
	out := Draw(photo, Scene{Vessels: ves, FOV: &Circle{50, 40, 30}, Disc: &Point{30, 60}}, AllLayers)

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
	out := Draw(photo, Scene{
		DiscMask: disc, CupMask: cup,
		ZoneB: &Ring{60.5, 60.5, 20, 30}, ZoneC: &Ring{60.5, 60.5, 20, 50},
	}, AllLayers)
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

// Arteries red and veins blue in place of the vessel colour; a crossing
// shows the artery; a vessel pixel in neither tree keeps the vessel
// colour; and each layer can be switched off on its own.
func TestDrawArteryVein(t *testing.T) {
	photo := image.NewNRGBA(image.Rect(0, 0, 60, 40))
	for i := range photo.Pix {
		photo.Pix[i] = 100
	}
	b := photo.Bounds()
	ves, art, vein := image.NewGray(b), image.NewGray(b), image.NewGray(b)
	for _, p := range []struct {
		x, y int
		m    []*image.Gray
	}{
		{5, 5, []*image.Gray{ves, art}},       // artery
		{6, 5, []*image.Gray{ves, vein}},      // vein
		{7, 5, []*image.Gray{ves, art, vein}}, // crossing
		{8, 5, []*image.Gray{ves}},            // undecided vessel
	} {
		for _, m := range p.m {
			m.SetGray(p.x, p.y, color.Gray{255})
		}
	}
	scene := Scene{Vessels: ves, Arteries: art, Veins: vein, FOV: &Circle{30, 20, 15.5}}
	red := func(c color.NRGBA) bool { return c.R > 200 && c.G < 70 && c.B < 70 }
	blue := func(c color.NRGBA) bool { return c.B > 200 && c.R < 70 && c.G < 110 }
	green := func(c color.NRGBA) bool { return c.G > 180 && c.R < 60 }
	plain := func(c color.NRGBA) bool { return c == color.NRGBA{100, 100, 100, 100} }
	yellow := func(c color.NRGBA) bool { return c.R > 200 && c.G > 200 && c.B < 100 }
	tests := []struct {
		name   string
		layers Layers
		checks map[image.Point]func(color.NRGBA) bool
	}{
		{"all layers", AllLayers, map[image.Point]func(color.NRGBA) bool{
			{5, 5}: red, {6, 5}: blue, {7, 5}: red, {8, 5}: green, {45, 20}: yellow}},
		{"vessels only: one colour", LayerVessels, map[image.Point]func(color.NRGBA) bool{
			{5, 5}: green, {6, 5}: green, {8, 5}: green, {45, 20}: plain}},
		{"arteries and veins only", LayerArteryVein, map[image.Point]func(color.NRGBA) bool{
			{5, 5}: red, {6, 5}: blue, {8, 5}: plain}},
		{"no vessel layers", AllLayers &^ (LayerVessels | LayerArteryVein), map[image.Point]func(color.NRGBA) bool{
			{5, 5}: plain, {6, 5}: plain, {45, 20}: yellow}},
	}
	for _, tc := range tests {
		out := Draw(photo, scene, tc.layers)
		for p, ok := range tc.checks {
			if c := out.NRGBAAt(p.X, p.Y); !ok(c) {
				t.Errorf("%s: pixel %v = %v", tc.name, p, c)
			}
		}
	}
	// Without A/V masks the vessels keep their single colour under AllLayers.
	if c := Draw(photo, Scene{Vessels: ves}, AllLayers).NRGBAAt(5, 5); !green(c) {
		t.Errorf("vessels without A/V: %v, want the vessel colour", c)
	}
}

func TestParseLayers(t *testing.T) {
	tests := []struct {
		in   string
		want Layers
		ok   bool
	}{
		{"all", AllLayers, true},
		{"none", 0, true},
		{"", 0, true},
		{"vessels", LayerVessels, true},
		{"av, Disc ,zones", LayerArteryVein | LayerDiscCup | LayerZones, true},
		{"fov,landmarks", LayerFOV | LayerLandmarks, true},
		{"lesions", LayerLesions, true},
		{"drusen", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseLayers(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseLayers(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			if back, err := ParseLayers(got.String()); err != nil || back != got {
				t.Errorf("%q: String %q parses back to %v, %v", tc.in, got.String(), back, err)
			}
		}
	}
}

// The lesion layer fills each type's mask in its colour, outlines its
// boxes and draws a legend in the top-left corner; without lesions (the
// stage did not run) or without the layer, nothing of it is drawn.
func TestDrawLesions(t *testing.T) {
	photo := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for i := range photo.Pix {
		photo.Pix[i] = 100
	}
	ex := image.NewGray(photo.Bounds())
	for y := 150; y < 156; y++ {
		for x := 200; x < 206; x++ {
			ex.SetGray(x, y, color.Gray{255})
		}
	}
	scene := Scene{Lesions: []LesionLayer{
		{Mask: ex, Boxes: []Box{{200, 150, 206, 156}}, Color: LesionColors["EX"], Label: "EX hard exudates: 1"},
		{Mask: image.NewGray(photo.Bounds()), Color: LesionColors["MA"], Label: "MA not detected by this model"},
	}}
	out := Draw(photo, scene, AllLayers)
	if c := out.NRGBAAt(202, 152); !(c.R > 170 && c.G > 170 && c.B < 70) {
		t.Errorf("exudate pixel %v, want yellow", c)
	}
	if c := out.NRGBAAt(199, 153); !(c.R > 200 && c.G > 200 && c.B < 50) {
		t.Errorf("box edge pixel %v, want yellow", c)
	}
	if c := out.NRGBAAt(150, 100); c != (color.NRGBA{100, 100, 100, 100}) {
		t.Errorf("plain pixel %v changed", c)
	}
	// The legend: a darkened panel in the corner, with the MA swatch in magenta.
	if c := out.NRGBAAt(6, 6); c.R >= 100 {
		t.Errorf("legend panel pixel %v, want darkened", c)
	}
	swatch := false
	for y := 0; y < 60 && !swatch; y++ {
		for x := 0; x < 30; x++ {
			if out.NRGBAAt(x, y) == (color.NRGBA{255, 0, 255, 100}) {
				swatch = true
				break
			}
		}
	}
	if !swatch {
		t.Error("no magenta MA swatch in the legend")
	}
	for name, o := range map[string]*image.NRGBA{
		"no lesions":       Draw(photo, Scene{}, AllLayers),
		"layer not chosen": Draw(photo, scene, AllLayers&^LayerLesions),
	} {
		if c := o.NRGBAAt(6, 6); c != (color.NRGBA{100, 100, 100, 100}) {
			t.Errorf("%s: legend drawn (%v)", name, c)
		}
		if c := o.NRGBAAt(202, 152); c != (color.NRGBA{100, 100, 100, 100}) {
			t.Errorf("%s: lesion drawn (%v)", name, c)
		}
	}
	if l, err := ParseLayers("lesions,fov"); err != nil || l != LayerLesions|LayerFOV {
		t.Errorf("ParseLayers(lesions,fov) = %v, %v", l, err)
	}
}
