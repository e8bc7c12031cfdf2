package server

import (
	"regexp"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Highlight is a region of the photo an answer talks about, for a client
// to draw over the image: chat answers carry them (chatGrounding), worked
// out here from the Report paths the answer quotes and from what the
// question was recognized as, so that the browser parses no text.
//
// Coordinates are normalized to the original image (0..1, x right, y
// down); a ring around the disc may reach beyond 0..1 where it leaves the
// photo.
type Highlight struct {
	// Kind is "lesion", "disc", "cup", "zone", "fovea" or "vessels".
	Kind string `json:"kind"`
	// Code is the lesion type (MA, HE, EX, SE) or the zone (B, C).
	Code  string `json:"code,omitempty"`
	Label string `json:"label"`
	// Layer is the overlay layer that shows it (overlay.png?layers=).
	Layer string `json:"layer"`
	// Shape says how to draw Boxes: "box" (each box), "ellipse" (the
	// ellipse inscribed in each box), "ring" (between the ellipses in
	// Boxes[0] and Inner), or "layer" (no shape: turn on the layer).
	Shape string `json:"shape"`
	// Boxes are [x_min, y_min, x_max, y_max], normalized.
	Boxes [][4]float64 `json:"boxes,omitempty"`
	Inner *[4]float64  `json:"inner,omitempty"`
}

var (
	lesionPathRe = regexp.MustCompile(`^lesions\.types\[type=([A-Z]+)\]`)
	zonePathRe   = regexp.MustCompile(`^(?:disc\.zones\.([bcBC])\b|vessels\.zones\[zone=([BC])\])`)
	avPathRe     = regexp.MustCompile(`^vessels\.(artery|vein|av|calibre)\b`)
	lesionByKey  = func() map[string]string {
		m := map[string]string{}
		for _, l := range assistant.DefaultRegistry().Lesions {
			m[l.Key] = l.Code
		}
		return m
	}()
)

// noHighlight are the intents whose answers point at no region (or at
// every one, as an overview does).
var noHighlight = map[intent.Intent]bool{
	intent.Greeting: true, intent.Help: true, intent.Modality: true, intent.Quality: true,
	intent.Overview: true, intent.OutOfScope: true, intent.NextSteps: true,
}

// highlights are the regions of r that answer a talks about, in a fixed
// order (lesions, disc, zones, fovea, vessels), each once.
func highlights(r *report.Report, a assistant.Answer) []Highlight {
	if r == nil || r.Image.Width <= 0 || r.Image.Height <= 0 || noHighlight[a.Query.Intent] {
		return nil
	}
	var paths []string
	for _, v := range a.Grounded {
		paths = append(paths, v.Path)
	}
	for _, m := range a.Missing {
		paths = append(paths, m.Path)
	}
	lesions := map[string]bool{}
	allLesions, disc, fovea, cup := false, false, false, false
	zones := map[string]bool{}
	vessels := ""
	for _, p := range paths {
		p = strings.TrimPrefix(p, "derived:")
		switch {
		case lesionPathRe.MatchString(p):
			lesions[lesionPathRe.FindStringSubmatch(p)[1]] = true
		case p == "lesions":
			allLesions = true
		case zonePathRe.MatchString(p):
			m := zonePathRe.FindStringSubmatch(p)
			zones[strings.ToUpper(m[1]+m[2])] = true
		case strings.HasPrefix(p, "disc.") || strings.HasPrefix(p, "anatomy.disc."):
			disc = disc || !strings.HasSuffix(p, "confidence") || a.Query.Intent == intent.Disc
			cup = cup || strings.HasPrefix(p, "disc.cup.") || strings.HasPrefix(p, "disc.cdr.")
		case strings.HasPrefix(p, "anatomy.fovea."):
			fovea = fovea || !strings.HasSuffix(p, "confidence") || a.Query.Intent == intent.Anatomy
		case strings.HasPrefix(p, "vessels."):
			if avPathRe.MatchString(p) {
				vessels = "av"
			} else if vessels == "" {
				vessels = "vessels"
			}
		}
	}
	q := a.Query
	if code := lesionByKey[q.Slots.Lesion]; code != "" {
		lesions[code] = true
	} else if q.Intent == intent.Lesions && len(lesions) == 0 {
		allLesions = true
	}
	if z := strings.ToUpper(q.Slots.Zone); z == "B" || z == "C" {
		zones[z] = true
	}
	if q.Intent == intent.Disc {
		disc = true
	}

	W, H := float64(r.Image.Width), float64(r.Image.Height)
	box := func(cx, cy, rx, ry float64) [4]float64 {
		return [4]float64{report.Round((cx-rx)/W, 4), report.Round((cy-ry)/H, 4), report.Round((cx+rx)/W, 4), report.Round((cy+ry)/H, 4)}
	}
	var out []Highlight
	if r.Lesions != nil {
		for _, t := range r.Lesions.Types {
			if (!allLesions && !lesions[t.Type]) || len(t.Boxes) == 0 {
				continue
			}
			h := Highlight{Kind: "lesion", Code: t.Type, Label: t.Name + " (" + t.Type + ")", Layer: "lesions", Shape: "box"}
			for _, b := range t.Boxes {
				h.Boxes = append(h.Boxes, b.Box)
			}
			out = append(out, h)
		}
	}
	d := r.Disc
	found := d != nil && d.Found && d.Center != nil
	if disc && found {
		rx, ry := float64(d.WidthPx)/2, float64(d.HeightPx)/2
		if rx <= 0 || ry <= 0 {
			rx, ry = d.RadiusPx, d.RadiusPx
		}
		out = append(out, Highlight{Kind: "disc", Label: "optic disc", Layer: "disc", Shape: "ellipse",
			Boxes: [][4]float64{box(d.Center.X, d.Center.Y, rx, ry)}})
	}
	if cup && found && d.Cup != nil && d.Cup.Box != nil {
		out = append(out, Highlight{Kind: "cup", Label: "optic cup", Layer: "disc", Shape: "ellipse", Boxes: [][4]float64{*d.Cup.Box}})
	}
	if found && d.Zones != nil {
		for _, z := range []struct {
			code string
			zone report.Zone
		}{{"B", d.Zones.B}, {"C", d.Zones.C}} {
			if !zones[z.code] || z.zone.OuterPx <= 0 {
				continue
			}
			c := z.zone.Center
			inner := box(c.X, c.Y, z.zone.InnerPx, z.zone.InnerPx)
			out = append(out, Highlight{Kind: "zone", Code: z.code, Label: "zone " + z.code, Layer: "zones", Shape: "ring",
				Boxes: [][4]float64{box(c.X, c.Y, z.zone.OuterPx, z.zone.OuterPx)}, Inner: &inner})
		}
	}
	if fovea && r.Anatomy != nil {
		rad := r.FOV.RadiusPx / 8
		if found && d.RadiusPx > 0 {
			rad = d.RadiusPx
		}
		c := r.Anatomy.Fovea.Center
		out = append(out, Highlight{Kind: "fovea", Label: "fovea", Layer: "disc", Shape: "ellipse", Boxes: [][4]float64{box(c.X, c.Y, rad, rad)}})
	}
	if vessels != "" && r.Vessels != nil {
		label := "vessels"
		if vessels == "av" {
			label = "arteries and veins"
		}
		out = append(out, Highlight{Kind: "vessels", Label: label, Layer: vessels, Shape: "layer"})
	}
	return out
}
