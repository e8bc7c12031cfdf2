package quality

import (
	"fmt"
	"math"
	"slices"
)

// terms are the grade model's inputs, in the order of fitted's constants.
var terms = []term{
	{name: "overexposure", value: func(m *fieldMeasures) float64 { return max(0, math.Log(max(m.lumMean, 1)/150)) },
		why: func(m *fieldMeasures) string { return fmt.Sprintf("overexposed (mean brightness %.0f/255)", m.lumMean) }},
	{name: "bright_share", value: func(m *fieldMeasures) float64 { return m.brightShare },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("%.0f%% of the field is saturated (glare)", 100*m.brightShare)
		}},
	{name: "focus", higher: true, value: func(m *fieldMeasures) float64 { return m.focus },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("out of focus (fine-to-coarse detail ratio %.2f)", m.focus)
		}},
	{name: "sharpness", higher: true, value: func(m *fieldMeasures) float64 { return math.Log(max(m.sharpness, 1e-5)) },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("little fine detail (%.4f of the mean green level)", m.sharpness)
		}},
	{name: "detail", higher: true, value: func(m *fieldMeasures) float64 { return math.Log(max(m.detail, 1e-5)) },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("vessels and detail faint (contrast %.3f)", m.detail)
		}},
	{name: "texture", higher: true, value: func(m *fieldMeasures) float64 { return math.Log(max(m.noise, 1e-3)) },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("no fine texture left (%.2f grey levels): blurred", m.noise)
		}},
	{name: "smoothness", value: func(m *fieldMeasures) float64 { return -math.Log(max(1-m.correlation, 1e-4)) },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("too smooth (neighbouring pixels correlate at %.4f): blurred", m.correlation)
		}},
	{name: "flat_share", value: func(m *fieldMeasures) float64 { return m.flat },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("%.0f%% of the field has no texture at all", 100*m.flat)
		}},
	{name: "uneven_illumination", value: func(m *fieldMeasures) float64 { return m.uneven },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("uneven illumination (brightness varies by %.0f%% across the field)", 100*m.uneven)
		}},
	{name: "shadowed_cells", value: func(m *fieldMeasures) float64 { return m.darkCells },
		why: func(m *fieldMeasures) string { return fmt.Sprintf("%.0f%% of the field in shadow", 100*m.darkCells) }},
	{name: "blurred_cells", value: func(m *fieldMeasures) float64 { return m.blurCells },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("%.0f%% of the field locally blurred", 100*m.blurCells)
		}},
	{name: "colour_saturation", higher: true, value: func(m *fieldMeasures) float64 { return m.saturation },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("washed-out, hazy colours (saturation %.2f)", m.saturation)
		}},
	{name: "field_coverage", higher: true, value: func(m *fieldMeasures) float64 { return m.coverage },
		why: func(m *fieldMeasures) string {
			return fmt.Sprintf("field of view cut by the frame (%.0f%% of the circle in the photo)", 100*m.coverage)
		}},
}

// modelCurrent says whether model_fit.go was fitted on the terms above.
// When a term is added, removed or reordered, it is false until
// TestCalibrate -calibrate refits; grade then leaves the model out and
// says so (and TestModelCurrent fails).
var modelCurrent = func() bool {
	names := make([]string, len(terms))
	for i, t := range terms {
		names[i] = t.name
	}
	return slices.Equal(names, fitted.terms)
}()

func termValues(m *fieldMeasures) []float64 {
	x := make([]float64, len(terms))
	for i, t := range terms {
		x[i] = t.value(m)
	}
	return x
}

// Hard limits of the quality criteria: past them the grade is capped
// whatever the model says. They are set for the failures that the 382
// calibration photos do not contain in strength (a field half black, heavy
// noise, a mostly saturated field) and leave every calibration photo
// graded good by EyeQ within the limits; see docs/quality.md.
const (
	brightnessUsable, brightnessReject = 25, 12   // mean luminance in the field, below
	overexposeUsable, overexposeReject = 200, 225 // mean luminance in the field, above
	darkShareUsable, darkShareReject   = 0.5, 0.75
	brightShareUsable, brightReject    = 0.25, 0.5
	noiseUsable, noiseReject           = 2, 4 // grey levels of white noise at the working scale
	coverageUsable, coverageReject     = 0.6, 0.4
	shadowUsable, shadowReject         = 0.25, 0.45 // share of grid cells in shadow
)

// qualityCriteria lists the quality measures with their limits; NaN
// limits leave a criterion to the model.
func qualityCriteria(m *fieldMeasures, opt Options) []Criterion {
	nan := math.NaN()
	crit := []Criterion{
		{Name: "brightness", Value: m.lumMean, Higher: true, Usable: brightnessUsable, Reject: brightnessReject},
		{Name: "overexposure", Value: m.lumMean, Usable: overexposeUsable, Reject: overexposeReject},
		{Name: "dark_share", Value: m.darkShare, Usable: darkShareUsable, Reject: darkShareReject},
		{Name: "bright_share", Value: m.brightShare, Usable: brightShareUsable, Reject: brightReject},
		{Name: "noise", Value: m.noise, Usable: noiseUsable, Reject: noiseReject},
		{Name: "field_coverage", Value: m.coverage, Higher: true, Usable: coverageUsable, Reject: coverageReject},
		{Name: "shadowed_cells", Value: m.darkCells, Usable: shadowUsable, Reject: shadowReject},
		{Name: "focus", Value: m.focus, Higher: true, Usable: nan, Reject: nan},
		{Name: "sharpness", Value: m.sharpness, Higher: true, Usable: nan, Reject: nan},
		{Name: "detail", Value: m.detail, Higher: true, Usable: nan, Reject: nan},
		{Name: "smoothness", Value: m.correlation, Usable: nan, Reject: nan},
		{Name: "flat_share", Value: m.flat, Usable: nan, Reject: nan},
		{Name: "uneven_illumination", Value: m.uneven, Usable: nan, Reject: nan},
		{Name: "blurred_cells", Value: m.blurCells, Usable: nan, Reject: nan},
		{Name: "colour_saturation", Value: m.saturation, Higher: true, Usable: nan, Reject: nan},
		{Name: "contrast", Value: (m.lumP95 - m.lumP5) / max(m.lumP95+m.lumP5, 1), Higher: true, Usable: nan, Reject: nan},
	}
	why := map[string]func(float64) string{
		"brightness":   func(v float64) string { return fmt.Sprintf("too dark (mean brightness %.0f/255)", v) },
		"overexposure": func(v float64) string { return fmt.Sprintf("overexposed (mean brightness %.0f/255)", v) },
		"dark_share":   func(v float64) string { return fmt.Sprintf("%.0f%% of the field is nearly black", 100*v) },
		"bright_share": func(v float64) string { return fmt.Sprintf("%.0f%% of the field is saturated (glare)", 100*v) },
		"noise":        func(v float64) string { return fmt.Sprintf("noisy (%.1f grey levels of pixel noise)", v) },
		"field_coverage": func(v float64) string {
			return fmt.Sprintf("only %.0f%% of the field-of-view circle is in the photo", 100*v)
		},
		"shadowed_cells": func(v float64) string { return fmt.Sprintf("%.0f%% of the field is in shadow or missing", 100*v) },
	}
	for i := range crit {
		f := why[crit[i].Name]
		if f == nil {
			f = func(float64) string { return "" }
		}
		crit[i] = judge(crit[i], f)
	}
	landmark := func(name string, found *bool, what string) {
		if found == nil {
			return
		}
		c := Criterion{Name: name, Higher: true, Usable: 1, Reject: nan}
		if *found {
			c.Value = 1
		}
		crit = append(crit, judge(c, func(float64) string { return what + " not found" }))
	}
	landmark("optic_disc_visible", opt.DiscFound, "optic disc")
	landmark("fovea_visible", opt.FoveaFound, "fovea")
	return crit
}

func grade(m *fieldMeasures, opt Options) Quality {
	crit := qualityCriteria(m, opt)
	x := termValues(m)
	pR, pN, g := 0.5, 0.5, Usable
	if modelCurrent {
		pR, pN, g = fitted.predict(x)
	}
	q := Quality{Grade: g, RejectScore: pR, Criteria: crit, inputs: x}
	pGood, pUsable := 1-pN, max(pN-pR, 0)
	sum := pGood + pUsable + pR
	q.Probabilities = [3]float64{pGood / sum, pUsable / sum, pR / sum}

	limits := Good
	missing := 0
	for _, c := range crit {
		if c.Grade > Good {
			q.Reasons = append(q.Reasons, c.Reason)
			limits = max(limits, c.Grade)
		}
		if (c.Name == "optic_disc_visible" || c.Name == "fovea_visible") && c.Grade > Good {
			missing++
		}
	}
	if missing == 2 {
		limits = Reject
		q.Reasons = append(q.Reasons, "neither the optic disc nor the fovea is visible")
	}
	if !modelCurrent {
		q.Reasons = append(q.Reasons, "the grade model's constants are out of date (rerun TestCalibrate -calibrate)")
	} else if g > limits || (g > Good && len(q.Reasons) == 0) {
		// The model, not a hard limit, sets the grade: name the inputs
		// that pushed it most.
		q.Reasons = append(q.Reasons, modelReasons(m, x, crit)...)
	}
	q.Grade = max(g, limits)
	if limits == Reject {
		q.RejectScore = 1
	}
	return q
}

// modelReasons names the (at most three) inputs that pushed the model's
// score furthest towards a worse grade, leaving out criteria whose hard
// limit already gave a reason.
func modelReasons(m *fieldMeasures, x []float64, crit []Criterion) []string {
	c := fitted.contributions(x)
	for j, t := range terms {
		for _, cr := range crit {
			if cr.Name == t.name && cr.Grade > Good {
				c[j] = 0 // already a reason
			}
		}
	}
	idx := make([]int, len(c))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case c[a] > c[b]:
			return -1
		case c[a] < c[b]:
			return 1
		}
		return 0
	})
	var out []string
	for _, i := range idx[:min(3, len(idx))] {
		if c[i] <= 0.25 {
			break
		}
		out = append(out, terms[i].why(m))
	}
	if len(out) == 0 {
		out = append(out, "several measures slightly below those of good photos together")
	}
	return out
}
