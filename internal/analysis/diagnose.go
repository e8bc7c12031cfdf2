package analysis

import (
	"context"

	"github.com/retinalgpt/retinalgpt/internal/diagnose"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// diagnoseStage is the last stage: the image classifier on the analysis
// frame box-averaged to its input size (diagnose.ClassifyFrame), calibrated, then diagnose.Judge over the sections the
// earlier stages wrote (lesions only when that stage ran). A classifier
// failure other than cancellation leaves every finding in not_judged with
// the reason rather than failing the analysis.
func (a *Analyzer) diagnoseStage(ctx context.Context, res *Result) error {
	rep := res.Report
	in := diagnose.Inputs{Lesions: rep.Lesions, Disc: rep.Disc, Quality: rep.Quality, Calibration: &rep.Calibration, FOVAreaPx: rep.FOV.AreaPx}
	m := a.diag.Model()
	_, p, err := a.diag.ClassifyFrame(ctx, res.Image, res.Normalized)
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		in.NoClassifier = "the image classifier failed: " + err.Error()
	default:
		in.Probs, in.Model = &p, &m
	}
	rep.Diagnoses = diagnose.Judge(in)
	rep.Models = append(rep.Models, report.Model{Name: m.Name, Version: m.Version, SHA256: a.diagSHA})
	return nil
}
