package analysis

import (
	"context"
	"fmt"

	"github.com/retinalgpt/retinalgpt/internal/diagnose"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/quality"
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

// DiagnoseInputs measures on one photo what the diagnose stage reads
// besides the classifier and the lesions: the quality section and the
// disc section, computed as Analyze computes them (locator, disc/cup
// segmentation, the quality grade regraded with the landmarks), without the
// vessel stages. Evaluation judges with it exactly as analyze does.
func (a *Analyzer) DiagnoseInputs(ctx context.Context, img *fundus.Image, fov fundus.FOV) (diagnose.Inputs, error) {
	lm, _, err := a.locate(ctx, img, fov)
	if err != nil {
		return diagnose.Inputs{}, fmt.Errorf("%s: %w", img.Name, err)
	}
	seg, err := a.segmentDisc(ctx, img, fov, lm)
	if err != nil {
		return diagnose.Inputs{}, fmt.Errorf("%s: %w", img.Name, err)
	}
	qa := quality.Assess(img.Pix, fov, nil, quality.Options{}).Regrade(landmarkOptions(seg))
	return diagnose.Inputs{
		Disc:    discSection(seg, report.Calibration{}, img.Width, img.Height),
		Quality: qualitySection(qa, true),
	}, nil
}
