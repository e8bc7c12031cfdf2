// Package overlay draws analysis results on top of the photograph.
//
// It takes plain images and geometry (a Scene: no Report, no models), so
// the CLI, the server and the dataset builder draw the same pictures, and
// a Layers set picks which parts to draw (all by default). It imports only
// the standard library and golang.org/x/image's fixed bitmap font (for
// the lesion legend).
package overlay

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
)

// Layers is a set of overlay layers to draw. The zero value draws nothing;
// AllLayers draws everything the Scene holds.
type Layers uint16

// The layers. LayerArteryVein draws the arteries and veins of a Scene that
// has them in their own colours, in place of LayerVessels' single vessel
// colour: with both layers, vessel pixels in neither tree keep the vessel
// colour; with LayerArteryVein alone, only the two trees are drawn.
const (
	LayerVessels    Layers = 1 << iota // the vessel mask, one colour
	LayerArteryVein                    // arteries red, veins blue
	LayerFOV                           // the field-of-view circle
	LayerDiscCup                       // optic disc and cup outlines
	LayerZones                         // zones B and C around the disc
	LayerLandmarks                     // disc and fovea markers
	LayerLesions                       // lesion masks, boxes and legend
	layerEnd

	AllLayers = layerEnd - 1
)

var layerNames = []struct {
	name string
	l    Layers
}{
	{"vessels", LayerVessels}, {"av", LayerArteryVein}, {"fov", LayerFOV},
	{"disc", LayerDiscCup}, {"zones", LayerZones}, {"landmarks", LayerLandmarks}, {"lesions", LayerLesions},
}

// Has reports whether every layer of m is in l.
func (l Layers) Has(m Layers) bool { return l&m == m }

// String lists the layers by name, comma-separated ("all", "none").
func (l Layers) String() string {
	switch l & AllLayers {
	case AllLayers:
		return "all"
	case 0:
		return "none"
	}
	var names []string
	for _, n := range layerNames {
		if l.Has(n.l) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// ParseLayers reads a comma-separated list of layer names (vessels, av,
// fov, disc, zones, landmarks, lesions), or "all" or "none", as a server's
// query or a flag gives it.
func ParseLayers(s string) (Layers, error) {
	var l Layers
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		switch f {
		case "all":
			l |= AllLayers
			continue
		case "none", "":
			continue
		}
		found := false
		for _, n := range layerNames {
			if n.name == f {
				l |= n.l
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("overlay layer %q: want vessels, av, fov, disc, zones, landmarks, lesions, all or none", f)
		}
	}
	return l, nil
}

// Scene is what there is to draw; nil or zero fields are skipped.
type Scene struct {
	Vessels *image.Gray // 255 = vessel, same size as the photo
	// Arteries and Veins are the artery and vein trees (non-zero =
	// member; a crossing may be in both), the photo's size.
	Arteries, Veins *image.Gray
	FOV             *Circle
	// Disc and Fovea are landmark centres, drawn as a ring with a centre dot.
	Disc, Fovea *Point
	// DiscMask and CupMask are the optic disc and cup (non-zero inside), in
	// photo pixels: their Rect may be any part of the photo. Their
	// outlines are drawn.
	DiscMask, CupMask *image.Gray
	// ZoneB and ZoneC are the measurement rings around the disc, drawn as
	// their inner and outer circles.
	ZoneB, ZoneC *Ring
	// Lesions are the lesion types found, one entry per type, drawn as
	// translucent masks in their colours with their boxes and a legend in
	// the top-left corner; none (the lesion stage did not run): nothing,
	// and no legend.
	Lesions []LesionLayer
	// LesionTitle heads the legend (default "Lesions (experimental)").
	LesionTitle string
}

// LesionLayer is one lesion type to draw.
type LesionLayer struct {
	// Mask is the type's pixels (non-zero), the photo's size.
	Mask  *image.Gray
	Boxes []Box
	Color color.NRGBA
	// Label is its legend line, e.g. "EX hard exudates: 70".
	Label string
}

// Box is [x_min, y_min, x_max, y_max] in photo pixels (continuous edges).
type Box [4]float64

// Point is in photo pixels.
type Point struct{ X, Y float64 }

// Circle is in photo pixels.
type Circle struct{ X, Y, R float64 }

// Ring is the area between two circles around (X, Y), in photo pixels.
type Ring struct{ X, Y, Inner, Outer float64 }

// Colours chosen to stay visible on orange-red fundus backgrounds; arteries
// and veins in the red and blue of the A/V literature (RITE), the artery
// red lighter and the vein blue brighter than the vessels under them.
var (
	VesselColor = color.NRGBA{0, 255, 170, 255}
	ArteryColor = color.NRGBA{255, 40, 40, 255}
	VeinColor   = color.NRGBA{40, 90, 255, 255}
	FOVColor    = color.NRGBA{255, 235, 59, 255}
	DiscColor   = color.NRGBA{0, 176, 255, 255}
	FoveaColor  = color.NRGBA{255, 64, 129, 255}
	CupColor    = color.NRGBA{255, 255, 255, 255}
	ZoneBColor  = color.NRGBA{124, 77, 255, 255}
	ZoneCColor  = color.NRGBA{224, 64, 251, 255}
)

// LesionColors are the lesion types' colours, by short code: chosen apart
// from the vessel, artery, vein and outline colours and from the fundus.
var LesionColors = map[string]color.NRGBA{
	"MA": {255, 0, 255, 255},   // magenta
	"HE": {0, 229, 255, 255},   // cyan
	"EX": {255, 255, 0, 255},   // yellow
	"SE": {255, 255, 255, 255}, // white
}

// Draw returns a copy of photo with the layers of s that l selects
// blended in. Masks that are not the photo's size are skipped.
func Draw(photo *image.NRGBA, s Scene, l Layers) *image.NRGBA {
	out := image.NewNRGBA(photo.Bounds())
	copy(out.Pix, photo.Pix)
	b := out.Bounds()
	fits := func(m *image.Gray) bool { return m != nil && m.Bounds() == b }
	var ves, art, vein *image.Gray
	if l.Has(LayerVessels) && fits(s.Vessels) {
		ves = s.Vessels
	}
	if l.Has(LayerArteryVein) && fits(s.Arteries) {
		art = s.Arteries
	}
	if l.Has(LayerArteryVein) && fits(s.Veins) {
		vein = s.Veins
	}
	if ves != nil || art != nil || vein != nil {
		paintVessels(out, ves, art, vein)
	}
	// Line width and marker size scale with the photo so they read at any size.
	side := float64(max(b.Dx(), b.Dy()))
	width := math.Max(1.5, side/600)
	if l.Has(LayerLesions) {
		for _, les := range s.Lesions {
			if fits(les.Mask) {
				fill(out, les.Mask, les.Color, 0.55)
			}
		}
		for _, les := range s.Lesions {
			for _, bx := range les.Boxes {
				rect(out, bx, math.Max(1, width*0.75), les.Color)
			}
		}
	}
	if l.Has(LayerFOV) && s.FOV != nil {
		ring(out, *s.FOV, width, FOVColor)
	}
	if l.Has(LayerZones) {
		// Zone C first: zone B's circles, drawn over it, share its inner one.
		if z := s.ZoneC; z != nil {
			ring(out, Circle{z.X, z.Y, z.Inner}, width, ZoneCColor)
			ring(out, Circle{z.X, z.Y, z.Outer}, width, ZoneCColor)
		}
		if z := s.ZoneB; z != nil {
			ring(out, Circle{z.X, z.Y, z.Inner}, width, ZoneBColor)
			ring(out, Circle{z.X, z.Y, z.Outer}, width, ZoneBColor)
		}
	}
	if l.Has(LayerDiscCup) {
		outline(out, s.DiscMask, width, DiscColor)
		outline(out, s.CupMask, width, CupColor)
	}
	if l.Has(LayerLesions) && len(s.Lesions) > 0 {
		defer legend(out, s.LesionTitle, s.Lesions)
	}
	if !l.Has(LayerLandmarks) {
		return out
	}
	for _, m := range []struct {
		p   *Point
		col color.NRGBA
	}{{s.Disc, DiscColor}, {s.Fovea, FoveaColor}} {
		if m.p == nil {
			continue
		}
		ring(out, Circle{m.p.X, m.p.Y, side / 40}, width, m.col)
		dot(out, Circle{m.p.X, m.p.Y, 1.5 * width}, m.col)
	}
	return out
}

// paintVessels colours each pixel of img by the first of the masks (img's
// size; nil: none) that holds it: artery, then vein (so a crossing shows
// the artery, most often the vessel on top), then vessel. Arteries and
// veins are blended more opaquely than the vessel colour: red on the
// orange-red fundus needs it to read.
func paintVessels(img *image.NRGBA, ves, art, vein *image.Gray) {
	b := img.Bounds()
	on := func(m *image.Gray, x, y int) bool { return m != nil && m.Pix[y*m.Stride+x] != 0 }
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			var col color.NRGBA
			alpha := 0.85
			switch {
			case on(art, x, y):
				col = ArteryColor
			case on(vein, x, y):
				col = VeinColor
			case on(ves, x, y):
				col, alpha = VesselColor, 0.6
			default:
				continue
			}
			i := y*img.Stride + 4*x
			p := img.Pix[i : i+3 : i+3]
			p[0] = blend(p[0], col.R, alpha)
			p[1] = blend(p[1], col.G, alpha)
			p[2] = blend(p[2], col.B, alpha)
		}
	}
}

func blend(a, b uint8, alpha float64) uint8 {
	return uint8(math.Round(float64(a)*(1-alpha) + float64(b)*alpha))
}

// outline draws the boundary of mask (its set pixels with a 4-neighbour
// unset or outside it) as a line about width wide.
func outline(img *image.NRGBA, mask *image.Gray, width float64, col color.NRGBA) {
	if mask == nil {
		return
	}
	b := mask.Rect
	set := func(x, y int) bool {
		return image.Pt(x, y).In(b) && mask.Pix[mask.PixOffset(x, y)] != 0
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if set(x, y) && (!set(x-1, y) || !set(x+1, y) || !set(x, y-1) || !set(x, y+1)) {
				dot(img, Circle{float64(x) + 0.5, float64(y) + 0.5, width / 2}, col)
			}
		}
	}
}

// ring draws an anti-aliased circle outline.
func ring(img *image.NRGBA, c Circle, width float64, col color.NRGBA) {
	paint(img, c, width, col, func(dist float64) float64 { return width/2 + 0.5 - math.Abs(dist-c.R) })
}

// dot draws an anti-aliased filled circle.
func dot(img *image.NRGBA, c Circle, col color.NRGBA) {
	paint(img, c, 0, col, func(dist float64) float64 { return c.R + 0.5 - dist })
}

// paint blends col into the pixels around c with the coverage that cover
// gives for a pixel centre's distance from c's centre.
func paint(img *image.NRGBA, c Circle, width float64, col color.NRGBA, cover func(dist float64) float64) {
	b := img.Bounds()
	x0, x1 := max(b.Min.X, int(c.X-c.R-width)), min(b.Max.X, int(c.X+c.R+width)+1)
	y0, y1 := max(b.Min.Y, int(c.Y-c.R-width)), min(b.Max.Y, int(c.Y+c.R+width)+1)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			a := math.Min(1, math.Max(0, cover(math.Hypot(float64(x)+0.5-c.X, float64(y)+0.5-c.Y))))
			if a <= 0 {
				continue
			}
			i := img.PixOffset(x, y)
			img.Pix[i] = blend(img.Pix[i], col.R, a)
			img.Pix[i+1] = blend(img.Pix[i+1], col.G, a)
			img.Pix[i+2] = blend(img.Pix[i+2], col.B, a)
		}
	}
}
