package server

import (
	"image"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/overlay"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// reportCost is a rough size of a Report in memory.
const reportCost = 64 << 10

// newEntry keeps, of res, the Report and what the overlay draws. The scene
// is the one `retinalgpt analyze` draws (analysis.Result.OverlayScene).
func newEntry(sha string, res *analysis.Result) *entry {
	e := &entry{id: sha[:16], sha: sha, report: res.Report, cost: reportCost}
	if res.Report != nil && res.Report.ID != "" {
		e.id = res.Report.ID
	}
	if res.Image == nil || res.Image.Pix == nil {
		return e
	}
	e.photo, e.scene = res.Image.Pix, res.OverlayScene()
	e.cost += drawCost(e.photo, e.scene)
	return e
}

// restoredEntry is a stored analysis made ready to draw again: its photo
// decoded and its layers read, no model run.
func restoredEntry(sha string, rep *report.Report, photo *image.NRGBA, s overlay.Scene) *entry {
	return &entry{id: rep.ID, sha: sha, report: rep, photo: photo, scene: s, cost: reportCost + drawCost(photo, s)}
}

// drawCost is the memory of what the overlay draws.
func drawCost(photo *image.NRGBA, s overlay.Scene) int64 {
	n := int64(len(photo.Pix)) + grayCost(s.Vessels, s.Arteries, s.Veins, s.DiscMask, s.CupMask)
	for _, l := range s.Lesions {
		n += grayCost(l.Mask)
	}
	return n
}

func grayCost(gs ...*image.Gray) int64 {
	var n int64
	for _, g := range gs {
		if g != nil {
			n += int64(len(g.Pix))
		}
	}
	return n
}
