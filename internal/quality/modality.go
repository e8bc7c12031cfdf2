package quality

import (
	"fmt"
	"math"
)

// Modality limits. Each is set outside the range of the real photographs
// in ../shared/datasets (DRIVE, CHASE_DB1, IDRiD,
// Drishti-GS1 and the 4217 images of eye_diseases_4class; see
// docs/quality.md for the measured ranges), and inside the range of the
// non-fundus images the tests generate.
const (
	// minFieldShare: the circle covers at least this share of the frame.
	minFieldShare = 0.25
	// minRoundness: at least this share of the rim rays meet the edge
	// within rimTolerance of the radius; judged when at least minRays
	// rays tell.
	minRoundness = 0.6
	minRays      = 8
	// minSurroundPlain: at least this share of the surround is dark or
	// neutral white padding; judged when the frame view has at least
	// minSurroundPx pixels outside the circle.
	minSurroundPlain = 0.6
	minSurroundPx    = 50
	// Mean colour in the field, (R-B)/(R+B) and (R-G)/(R+G): a retina is
	// red to orange; the limits sit below the bluest and greenest real
	// photos (green- or blue-cast rejects of EyePACS reach -0.02 and
	// -0.28), so they only refuse images dominated by blue or green.
	minRedBlue  = -0.15
	minRedGreen = -0.4
	// minSaturation: mean (max-min)/max in the field; greyscale images
	// (red-free photographs, OCT, documents) have almost none.
	minSaturation = 0.035
	// minCorrelation: lag-1 correlation of the green channel; noise has
	// none.
	minCorrelation = 0.5
	// maxFlat: share of the field whose 3x3 neighbourhood varies by under
	// one grey level; flat-filled drawings are almost all flat.
	maxFlat = 0.88
	// minHueSpread: standard deviation of the chromaticity (R, G)/(R+G+B)
	// over the field; disc, vessels, macula and the rim give a real retina
	// several hues, a shaded fill has one.
	minHueSpread = 0.0025
	// maxOutlines: without a vessel network (thin dark lines in fewer
	// than vesselNetwork of the field's grid cells), at most this share of
	// the field may lie on strong edges. A sharp retina shows its vessels;
	// a hazy one (cataract) shows neither vessels nor edges; a drawing
	// shows outlines and no vessels. Real photos without a network reach
	// 0.045 (eye_diseases_4class), the test's cartoon faces 0.08.
	maxOutlines   = 0.06
	vesselNetwork = 0.3
	// minJudgedBrightness: below this mean luminance of the field, colour
	// and texture are not judged (the quality grade rejects the photo as
	// too dark instead).
	minJudgedBrightness = 15
	// Whole-frame limits, used to explain a missing field of view.
	minFrameStd    = 3    // grey levels: below, the image is blank
	maxFrameWhite  = 0.5  // share of saturated white pixels
	minFrameChroma = 4    // mean max-min, grey levels: below, greyscale
	minFrameCorr   = 0.5  // lag-1 correlation of the luminance
	maxFrameBlack  = 0.98 // share of black pixels
)

// modalityWidth is the scale of each criterion's logistic margin in
// Modality.Score, as a fraction of its limit (or absolute for limits at 0).
const modalityWidth = 0.1

func modality(f frameMeasures, m fieldMeasures) Modality {
	// In a nearly black field, colour and texture are JPEG noise: those
	// criteria are skipped, and the quality grade says the photo is too
	// dark.
	dark := m.lumMean < minJudgedBrightness
	crit := []Criterion{
		{Name: "field_share", Value: m.fovShare, Higher: true, Reject: minFieldShare},
		{Name: "roundness", Value: m.roundness, Higher: true, Reject: minRoundness, Skipped: m.rays < minRays},
		{Name: "plain_surround", Value: m.surroundDark, Higher: true, Reject: minSurroundPlain, Skipped: m.surroundN < minSurroundPx},
		{Name: "red_over_blue", Value: m.redBlue, Higher: true, Reject: minRedBlue, Skipped: dark},
		{Name: "red_over_green", Value: m.redGreen, Higher: true, Reject: minRedGreen, Skipped: dark},
		{Name: "colour_saturation", Value: m.saturation, Higher: true, Reject: minSaturation, Skipped: dark},
		{Name: "pixel_correlation", Value: m.correlation, Higher: true, Reject: minCorrelation},
		{Name: "flat_fill", Value: m.flat, Reject: maxFlat, Skipped: dark},
		{Name: "hue_spread", Value: m.hueSpread, Higher: true, Reject: minHueSpread, Skipped: dark},
		{Name: "outlines_without_vessels", Value: m.edges, Reject: maxOutlines, Skipped: dark || m.vesselCells >= vesselNetwork},
	}
	why := map[string]func(float64) string{
		"field_share": func(v float64) string {
			return fmt.Sprintf("the bright disc covers only %.0f%% of the image (at least %.0f%% in fundus photographs)", 100*v, 100*minFieldShare)
		},
		"roundness": func(v float64) string {
			return fmt.Sprintf("the bright region is not circular (only %.0f%% of its edge follows a circle; a stretched photo or not a fundus photograph)", 100*v)
		},
		"plain_surround": func(v float64) string {
			return fmt.Sprintf("the area around the bright disc is not a dark (or white) camera mask (%.0f%% plain)", 100*v)
		},
		"red_over_blue": func(v float64) string {
			return fmt.Sprintf("colours are not those of a retina (red barely above blue: %.2f)", v)
		},
		"red_over_green": func(v float64) string {
			return fmt.Sprintf("colours are not those of a retina (green above red: %.2f)", v)
		},
		"colour_saturation": func(v float64) string {
			return fmt.Sprintf("the image is (nearly) greyscale (saturation %.2f): a red-free photo, an OCT scan or a document, not a colour fundus photograph", v)
		},
		"pixel_correlation": func(v float64) string {
			return fmt.Sprintf("the image is noise, not a photograph (neighbouring pixels correlate at %.2f)", v)
		},
		"hue_spread": func(v float64) string {
			return fmt.Sprintf("the disc is one colour throughout (chromaticity spread %.4f): a gradient or fill, not a photograph of a retina", v)
		},
		"outlines_without_vessels": func(v float64) string {
			return fmt.Sprintf("sharp outlines (%.0f%% of the disc) but no vessel network (thin dark lines in %.0f%% of it): a drawing or a picture of something else, not a retina", 100*v, 100*m.vesselCells)
		},
		"flat_fill": func(v float64) string {
			return fmt.Sprintf("%.0f%% of the disc is flat colour: a drawing or graphic, not a photograph", 100*v)
		},
	}
	out := Modality{IsFundus: true, Score: 1, Criteria: make([]Criterion, 0, len(crit))}
	for _, c := range crit {
		c.Usable = c.Reject
		c = judge(c, why[c.Name])
		if c.Grade == Reject {
			out.IsFundus = false
			out.Reasons = append(out.Reasons, c.Reason)
		}
		if !c.Skipped {
			out.Score = min(out.Score, margin(c))
		}
		out.Criteria = append(out.Criteria, c)
	}
	return out
}

// margin maps a criterion's distance past its limit to (0, 1), 0.5 at the
// limit.
func margin(c Criterion) float64 {
	w := modalityWidth * math.Abs(c.Reject)
	if w == 0 {
		w = modalityWidth
	}
	d := (c.Value - c.Reject) / w
	if !c.Higher {
		d = -d
	}
	return 1 / (1 + math.Exp(-d))
}

// frameCriteria describe the whole frame; they explain why an image has no
// field of view (blank, saturated, greyscale, noise, black).
func frameCriteria(f frameMeasures) []Criterion {
	crit := []Criterion{
		{Name: "frame_contrast", Value: f.lumStd, Higher: true, Reject: minFrameStd},
		{Name: "frame_white", Value: f.white, Reject: maxFrameWhite},
		{Name: "frame_black", Value: f.black, Reject: maxFrameBlack},
		{Name: "frame_colour", Value: f.chroma, Higher: true, Reject: minFrameChroma},
		{Name: "frame_correlation", Value: f.correlation, Higher: true, Reject: minFrameCorr},
	}
	why := map[string]func(float64) string{
		"frame_contrast": func(v float64) string {
			return fmt.Sprintf("the image is blank (brightness varies by %.1f grey levels)", v)
		},
		"frame_white": func(v float64) string { return fmt.Sprintf("the image is saturated (%.0f%% pure white)", 100*v) },
		"frame_black": func(v float64) string { return fmt.Sprintf("the image is black (%.0f%% black)", 100*v) },
		"frame_colour": func(v float64) string {
			return fmt.Sprintf("the image is greyscale (colour %.1f grey levels)", v)
		},
		"frame_correlation": func(v float64) string {
			return fmt.Sprintf("the image is noise (neighbouring pixels correlate at %.2f)", v)
		},
	}
	for i := range crit {
		crit[i].Usable = crit[i].Reject
		crit[i] = judge(crit[i], why[crit[i].Name])
	}
	return crit
}
