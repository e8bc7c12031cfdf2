package server

import (
	"image"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
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
	e.photo = res.Image.Pix
	s := res.OverlayScene()
	e.scene = s
	e.cost += int64(len(e.photo.Pix)) + grayCost(s.Vessels, s.Arteries, s.Veins, s.DiscMask, s.CupMask)
	for _, l := range s.Lesions {
		e.cost += grayCost(l.Mask)
	}
	return e
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
