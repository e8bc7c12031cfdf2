package analysis

import (
	"fmt"

	"github.com/retinalgpt/retinalgpt/internal/lesions"
	"github.com/retinalgpt/retinalgpt/internal/overlay"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// OverlayScene is what every consumer (analyze's PNG, the server's
// overlay.png) draws for r: vessels and arteries/veins, the field of view,
// the disc and fovea markers, the disc and cup outlines and zones B and C
// when the disc passed its checks (only then are its measures reported),
// and the lesions when that stage ran.
func (r *Result) OverlayScene() overlay.Scene {
	s := overlay.Scene{Vessels: r.VesselMask, Arteries: r.Arteries, Veins: r.Veins}
	if n := r.Normalized; n != nil {
		s.FOV = &overlay.Circle{X: n.FOV.CX, Y: n.FOV.CY, R: n.FOV.Radius}
		if !r.Landmarks.DiscAbsent {
			s.Disc = &overlay.Point{X: r.Landmarks.Disc.X, Y: r.Landmarks.Disc.Y}
		}
		s.Fovea = &overlay.Point{X: r.Landmarks.Fovea.X, Y: r.Landmarks.Fovea.Y}
	}
	if d := r.Disc; d != nil && d.Found {
		s.DiscMask, s.CupMask = d.Disc, d.Cup
		if r.Report != nil && r.Report.Disc != nil && r.Report.Disc.Zones != nil {
			z := r.Report.Disc.Zones
			ring := func(z report.Zone) *overlay.Ring {
				return &overlay.Ring{X: z.Center.X, Y: z.Center.Y, Inner: z.InnerPx, Outer: z.OuterPx}
			}
			s.ZoneB, s.ZoneC = ring(z.B), ring(z.C)
		}
	}
	s.Lesions = r.lesionLayers()
	return s
}

// lesionLayers are the lesion stage's masks and boxes, one per type (none
// when the stage did not run).
func (r *Result) lesionLayers() []overlay.LesionLayer {
	if r.Lesions == nil || r.Report == nil || r.Report.Lesions == nil {
		return nil
	}
	var out []overlay.LesionLayer
	for i, k := range lesions.Kinds {
		t := r.Report.Lesions.Types[i]
		l := overlay.LesionLayer{Mask: LesionMask(r.Lesions, k), Color: overlay.LesionColors[k.String()],
			Label: fmt.Sprintf("%s %s: %d", k, k.Name(), t.Count)}
		if !t.Detected {
			// The legend says why; drawing the type's objects would show
			// marks the model cannot make reliably (held-out AUPR < 0.02).
			l.Label = fmt.Sprintf("%s %s: not detected by this model", k, k.Name())
			l.Mask = nil
			out = append(out, l)
			continue
		}
		for _, b := range t.Boxes {
			l.Boxes = append(l.Boxes, overlay.Box(b.BoxPx))
		}
		out = append(out, l)
	}
	return out
}
