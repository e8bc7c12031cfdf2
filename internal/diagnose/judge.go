package diagnose

import (
	"fmt"
	"math"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Caveat is the wording every diagnoses section carries.
const Caveat = "Not a diagnosis: a screening aid from an experimental classifier and automated measurements, to be confirmed by an eye-care professional."

// Sources of evidence (report.Diagnoses.Sources).
const (
	SourceClassifier = "classifier"
	SourceLesions    = "lesions"
	SourceDiscCup    = "disc_cup"
	SourceQuality    = "quality"
)

// Inputs are what Judge may use; every field is optional.
type Inputs struct {
	// Probs are the classifier's calibrated probabilities (nil: it did not
	// run, and no finding can be judged: the rules below add evidence but
	// are not calibrated on their own).
	Probs *Probabilities
	Model *Model // the classifier's metadata (thresholds, name); with Probs
	// NoClassifier says why Probs is nil.
	NoClassifier string
	Lesions      *report.Lesions
	Disc         *report.Disc
	Quality      *report.Quality
	Calibration  *report.Calibration // the report's (for the disc size in mm²)
	FOVAreaPx    int                 // the report's fov.area_px (lesion areas are taken relative to it)
}

// Rule constants, from docs/REFERENCE.md §3 (clinical grading conventions).
const (
	// RuleHaemorrhagesPerQuadrant is the 4-2-1 rule's count: more than 20
	// intraretinal haemorrhages in each of the four quadrants is severe
	// NPDR (ICDR 3).
	RuleHaemorrhagesPerQuadrant = 20
	// MaculaDD is IDRiD's DME boundary: exudates within one disc diameter
	// of the fovea give risk 2, farther ones risk 1.
	MaculaDD = 1.0
)

// CDRLimit is the upper normal vertical cup-to-disc ratio for a disc of
// area mm² (97.5th percentile, ~0.6 for small discs to ~0.75 for large
// ones; REFERENCE.md §3): 0.6 below 1.6 mm², 0.75 above 2.8 mm², linear in
// between; 0.7 when the disc size is unknown.
func CDRLimit(areaMm2 float64) float64 {
	switch {
	case areaMm2 <= 0 || math.IsNaN(areaMm2):
		return 0.7
	case areaMm2 <= 1.6:
		return 0.6
	case areaMm2 >= 2.8:
		return 0.75
	}
	return 0.6 + 0.15*(areaMm2-1.6)/1.2
}

var drLabels = [5]string{"no DR", "mild NPDR", "moderate NPDR", "severe NPDR", "proliferative DR"}
var dmeLabels = [3]string{"no DME risk", "exudates away from the macula", "exudates near the macula"}

// Judge fills the diagnoses section. Probabilities come from the
// calibrated classifier; the rule evidence (4-2-1 lesion counts, exudate
// distance from the fovea, vertical CDR against the disc-size limit, ISNT
// rim, image haze) is listed beside them. One rule changes the
// classifier's grades: when the lesion stage counts more than 20
// haemorrhages in each of the four quadrants (the 4-2-1 rule's first
// criterion, the definition of severe NPDR), the DR grades below 3 are
// ruled out and the rest renormalized (docs/diagnose.md).
func Judge(in Inputs) *report.Diagnoses {
	d := &report.Diagnoses{Sources: []string{}, Findings: []report.Diagnosis{}, Caveat: Caveat}
	used := map[string]bool{}
	if in.Probs == nil || in.Model == nil {
		reason := in.NoClassifier
		if reason == "" {
			reason = "the image classifier did not run"
		}
		for _, k := range []string{"dr", "dme", "glaucoma", "cataract", "abnormal"} {
			d.NotJudged = append(d.NotJudged, report.NotAssessed{Section: k, Reason: reason})
		}
		return d
	}
	used[SourceClassifier] = true
	d.Model = in.Model.Name + "@" + in.Model.Version
	p, c := *in.Probs, in.Model.Calibration

	dr := judgeDR(p, c, in.Model.GradeStack, in.Lesions, in.FOVAreaPx, used)
	dme := judgeDME(p, c, in.Model.DMEStack, in.Lesions, in.FOVAreaPx, used)
	gl := judgeGlaucoma(p, c, in.Model.GlaucomaStack, in.Disc, in.Calibration, used)
	ca := judgeCataract(p, c, in.Model.CataractStack, in.Quality, used)
	d.Findings = append(d.Findings, dr, dme, gl, ca, judgeAbnormal(p, c, []report.Diagnosis{dr, dme, gl, ca}))
	for _, s := range []string{SourceClassifier, SourceLesions, SourceDiscCup, SourceQuality} {
		if used[s] {
			d.Sources = append(d.Sources, s)
		}
	}
	return d
}

func num(v float64) *float64 { r := report.Round(v, 4); return &r }

func classifierEvidence(text string, v float64) report.Evidence {
	return report.Evidence{Source: SourceClassifier, Text: text, Value: num(v), Unit: "probability"}
}

// DecidedGrade is the grade a finding reports: the most probable grade on
// the side of the threshold its decision fell. Grades below split are the
// negative ones (DR: 0-1, split 2; DME: 0, split 1), so the grade never
// contradicts Positive (a "moderate NPDR" that is not referable). Measured
// on the IDRiD out-of-fold predictions it scores as plain argmax does
// (DR accuracy 0.487 both; DME 0.666 vs 0.680).
func DecidedGrade(p []float64, split int, positive bool) int {
	if positive {
		return split + argmax(p[split:])
	}
	return argmax(p[:split])
}

func argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

func rounded(p []float64) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = report.Round(v, 4)
	}
	return out
}

func lesionType(l *report.Lesions, typ string) *report.LesionType {
	if l == nil {
		return nil
	}
	for i := range l.Types {
		if l.Types[i].Type == typ {
			return &l.Types[i]
		}
	}
	return nil
}

func judgeDR(p Probabilities, c Calibration, st *GradeStack, les *report.Lesions, fovAreaPx int, used map[string]bool) report.Diagnosis {
	probs := p.DR
	refThr := c.ReferableThreshold
	ev := []report.Evidence{}
	var combined []report.Evidence
	if feats := GradeFeatures(p, les, fovAreaPx); st != nil && feats != nil {
		// The combination gives every grade's probability; the
		// classifier's own judgement stays in the evidence.
		before := probs[2] + probs[3] + probs[4]
		probs = st.Grades(feats)
		refThr = st.Threshold
		ref := probs[2] + probs[3] + probs[4]
		combined = append(combined, report.Evidence{Source: SourceLesions, Value: num(ref), Unit: "probability",
			Text: fmt.Sprintf("grades from the lesion counts and areas (%s; ordinal logistic regression): probability of referable DR %.2f, threshold %.2f; image classifier alone %.2f, threshold %.2f", st.Set, ref, refThr, before, c.ReferableThreshold)})
	}
	if les != nil {
		used[SourceLesions] = true
		for _, typ := range []string{"MA", "HE", "EX", "SE"} {
			t := lesionType(les, typ)
			if t == nil {
				continue
			}
			if !t.Detected {
				text := fmt.Sprintf("%s: not counted (the lesion model cannot detect them)", t.Name)
				if len(combined) > 0 {
					text = fmt.Sprintf("%s: not counted (the lesion model cannot detect them reliably); its channel's %d objects enter the grade combination as a fitted input", t.Name, t.Count)
				}
				ev = append(ev, report.Evidence{Source: SourceLesions, Text: text})
				continue
			}
			q := t.Quadrants
			ev = append(ev, report.Evidence{Source: SourceLesions, Value: num(float64(t.Count)), Unit: "count",
				Text: fmt.Sprintf("%d %s (superior temporal %d, superior nasal %d, inferior temporal %d, inferior nasal %d, quadrant unknown %d)",
					t.Count, t.Name, q.SuperiorTemporal, q.SuperiorNasal, q.InferiorTemporal, q.InferiorNasal, q.Unknown)})
		}
		if he := lesionType(les, "HE"); he != nil && he.Detected {
			q := he.Quadrants
			least := min(q.SuperiorTemporal, q.SuperiorNasal, q.InferiorTemporal, q.InferiorNasal)
			met := least > RuleHaemorrhagesPerQuadrant && les.QuadrantBasis != "none"
			text := fmt.Sprintf("4-2-1 rule (haemorrhages): fewest in a quadrant %d, severe NPDR needs more than %d in each of the 4: not met", least, RuleHaemorrhagesPerQuadrant)
			if met {
				text = fmt.Sprintf("4-2-1 rule (haemorrhages): more than %d in each of the 4 quadrants (fewest %d): severe NPDR at least; grades 0-2 ruled out", RuleHaemorrhagesPerQuadrant, least)
				var s float64
				for g := 3; g < 5; g++ {
					s += probs[g]
				}
				if s > 0 {
					for g := 0; g < 5; g++ {
						if g < 3 {
							probs[g] = 0
						} else {
							probs[g] /= s
						}
					}
				} else {
					probs = [5]float64{0, 0, 0, 1, 0}
				}
			}
			ev = append(ev, report.Evidence{Source: SourceLesions, Text: text, Value: num(float64(least)), Unit: "count"})
			ev = append(ev, report.Evidence{Source: SourceLesions, Text: "venous beading and IRMA (the rule's other criteria) are not measured"})
		}
	}
	ref := probs[2] + probs[3] + probs[4]
	g := DecidedGrade(probs[:], 2, ref >= refThr)
	head := []report.Evidence{
		classifierEvidence(fmt.Sprintf("ICDR grade %d (%s), probability %.2f, the most probable on the side of the referable threshold", g, drLabels[g], probs[g]), probs[g]),
		classifierEvidence(fmt.Sprintf("probability of referable DR (grade 2 or more) %.2f, threshold %.2f", ref, refThr), ref),
	}
	if len(combined) > 0 {
		// The grades are the lesion combination's, not the classifier's.
		for i := range head {
			head[i].Source = SourceLesions
		}
	}
	ev = append(append(head, combined...), ev...)
	return report.Diagnosis{
		Key: "dr", Name: "diabetic retinopathy", Grade: g, Label: drLabels[g], Scale: "ICDR 0-4",
		Probabilities: rounded(probs[:]), Probability: report.Round(ref, 4),
		Positive: ref >= refThr, Threshold: report.Round(refThr, 4), Evidence: ev,
	}
}

func judgeDME(p Probabilities, c Calibration, st *DMEStack, les *report.Lesions, fovAreaPx int, used map[string]bool) report.Diagnosis {
	probs, thr := p.DME, c.DMEThreshold
	var combined []report.Evidence
	if feats := DMEFeatures(p, les, fovAreaPx); st != nil && feats != nil {
		probs, thr = st.Risks(feats), st.Any.Threshold
		pa := probs[1] + probs[2]
		combined = append(combined, report.Evidence{Source: SourceLesions, Value: num(pa), Unit: "probability",
			Text: fmt.Sprintf("classifier combined with the hard exudates' count, area and distance from the fovea and the other lesions' counts and areas (%s; logistic regression): probability of any DME risk %.2f, threshold %.2f; classifier alone %.2f, threshold %.2f", st.Set, pa, thr, p.DME[1]+p.DME[2], c.DMEThreshold)})
	}
	any := probs[1] + probs[2]
	g := DecidedGrade(probs[:], 1, any >= thr)
	ev := append([]report.Evidence{
		classifierEvidence(fmt.Sprintf("DME risk %d (%s), probability %.2f, the most probable on the side of the threshold", g, dmeLabels[g], probs[g]), probs[g]),
		classifierEvidence(fmt.Sprintf("probability of any DME risk (1 or 2) %.2f, threshold %.2f", any, thr), any),
	}, combined...)
	if ex := lesionType(les, "EX"); ex != nil && ex.Detected {
		used[SourceLesions] = true
		switch {
		case ex.Count == 0:
			ev = append(ev, report.Evidence{Source: SourceLesions, Text: "no hard exudates found: by IDRiD's definition the lesion map alone gives DME risk 0", Value: num(0), Unit: "count"})
		case ex.MinFoveaDistanceDD == nil:
			ev = append(ev, report.Evidence{Source: SourceLesions, Text: fmt.Sprintf("%d hard exudates; distance from the fovea unknown (no disc or fovea)", ex.Count), Value: num(float64(ex.Count)), Unit: "count"})
		default:
			d := *ex.MinFoveaDistanceDD
			risk := 1
			if d <= MaculaDD {
				risk = 2
			}
			ev = append(ev, report.Evidence{Source: SourceLesions, Value: num(d), Unit: "DD",
				Text: fmt.Sprintf("%d hard exudates, the nearest %.2f disc diameters from the fovea: by IDRiD's definition (within %g DD: risk 2) the lesion map alone gives DME risk %d (the lesion model finds many false exudates)", ex.Count, d, MaculaDD, risk)})
		}
	}
	return report.Diagnosis{
		Key: "dme", Name: "diabetic macular edema risk", Grade: g, Label: dmeLabels[g], Scale: "IDRiD 0-2",
		Probabilities: rounded(probs[:]), Probability: report.Round(any, 4),
		Positive: any >= thr, Threshold: report.Round(thr, 4), Evidence: ev,
	}
}

func binary(key, name string, prob, thr float64, pos, neg string, ev []report.Evidence) report.Diagnosis {
	g, label := 0, neg
	if prob >= thr {
		g, label = 1, pos
	}
	return report.Diagnosis{
		Key: key, Name: name, Grade: g, Label: label, Scale: "absent/present",
		Probabilities: rounded([]float64{1 - prob, prob}), Probability: report.Round(prob, 4),
		Positive: prob >= thr, Threshold: report.Round(thr, 4), Evidence: ev,
	}
}

func judgeGlaucoma(p Probabilities, c Calibration, st *Stack, disc *report.Disc, cal *report.Calibration, used map[string]bool) report.Diagnosis {
	prob, thr := p.Glaucoma, c.GlaucomaThreshold
	ev := []report.Evidence{classifierEvidence(fmt.Sprintf("classifier alone: probability of glaucoma %.2f, threshold %.2f", p.Glaucoma, c.GlaucomaThreshold), p.Glaucoma)}
	if st != nil && disc != nil && disc.Found && disc.CDR != nil && disc.Cup != nil && disc.Cup.AreaPx > 0 {
		prob, thr = st.Apply(p.GlaucomaLogit(), map[string]float64{"vcdr": disc.CDR.Vertical}), st.Threshold
		ev = append([]report.Evidence{{Source: SourceDiscCup, Value: num(prob), Unit: "probability",
			Text: fmt.Sprintf("classifier combined with the vertical cup-to-disc ratio (logistic regression): probability of glaucoma %.2f, threshold %.2f", prob, thr)}}, ev...)
	}
	switch {
	case disc == nil:
	case !disc.Found:
		used[SourceDiscCup] = true
		ev = append(ev, report.Evidence{Source: SourceDiscCup, Text: "optic disc not found: no cup-to-disc ratio"})
	case disc.CDR != nil:
		used[SourceDiscCup] = true
		area := disc.AreaMm2
		sizeNote := fmt.Sprintf("disc area %.2f mm²", area)
		if cal != nil && strings.Contains(cal.Source, "disc") {
			area, sizeNote = 0, "disc size unknown (the calibration comes from the disc itself)"
		} else if area <= 0 {
			sizeNote = "disc size unknown (no calibration)"
		}
		limit := CDRLimit(area)
		v := disc.CDR.Vertical
		verdict := "within"
		if v > limit {
			verdict = "above: raises suspicion"
		}
		ev = append(ev, report.Evidence{Source: SourceDiscCup, Value: num(v), Unit: "ratio",
			Text: fmt.Sprintf("vertical cup-to-disc ratio %.2f, %s the normal limit %.2f for this disc (%s)", v, verdict, limit, sizeNote)})
		if r := disc.Rim; r != nil {
			switch r.ISNT {
			case "violated":
				ev = append(ev, report.Evidence{Source: SourceDiscCup, Text: "ISNT rim rule violated (" + strings.Join(r.ISNTViolations, ", ") + "): raises suspicion"})
			case "holds":
				ev = append(ev, report.Evidence{Source: SourceDiscCup, Text: "ISNT rim rule holds (inferior ≥ superior ≥ nasal ≥ temporal)"})
			default:
				ev = append(ev, report.Evidence{Source: SourceDiscCup, Text: "ISNT rim rule not checked (laterality unknown)"})
			}
		}
	default:
		used[SourceDiscCup] = true
		ev = append(ev, report.Evidence{Source: SourceDiscCup, Text: "cup not segmented: no cup-to-disc ratio"})
	}
	return binary("glaucoma", "glaucoma", prob, thr, "suspect", "not suspected", ev)
}

// hazeCriteria are the quality measures that a cataract's haze lowers.
var hazeCriteria = []string{"focus", "sharpness", "detail", "contrast"}

// QualityMeasures are the report's quality criteria by name (the
// measured ones).
func QualityMeasures(q *report.Quality) map[string]float64 {
	m := map[string]float64{}
	if q == nil {
		return m
	}
	for _, c := range q.Criteria {
		if c.Value != nil && !c.Skipped {
			m[c.Name] = *c.Value
		}
	}
	return m
}

func judgeCataract(p Probabilities, c Calibration, st *Stack, q *report.Quality, used map[string]bool) report.Diagnosis {
	prob, thr := p.Cataract, c.CataractThreshold
	ev := []report.Evidence{classifierEvidence(fmt.Sprintf("classifier alone: probability of cataract %.2f, threshold %.2f", p.Cataract, c.CataractThreshold), p.Cataract)}
	if q != nil && len(q.Criteria) > 0 {
		used[SourceQuality] = true
		if st != nil {
			prob, thr = st.Apply(p.CataractLogit(), QualityMeasures(q)), st.Threshold
			ev = append([]report.Evidence{{Source: SourceQuality, Value: num(prob), Unit: "probability",
				Text: fmt.Sprintf("classifier combined with the image-wide haze and blur measures (logistic regression): probability of cataract %.2f, threshold %.2f", prob, thr)}}, ev...)
		}
		for _, name := range hazeCriteria {
			for _, cr := range q.Criteria {
				if cr.Name != name || cr.Value == nil || cr.Skipped {
					continue
				}
				ev = append(ev, report.Evidence{Source: SourceQuality, Value: num(*cr.Value),
					Text: fmt.Sprintf("image %s %.3g (quality grade %s for this measure): a hazy, blurred image is what a cataract looks like, and also what a poor photo looks like", name, *cr.Value, cr.Grade)})
			}
		}
	}
	return binary("cataract", "cataract", prob, thr, "present", "absent", ev)
}

func judgeAbnormal(p Probabilities, c Calibration, others []report.Diagnosis) report.Diagnosis {
	ab := 1 - p.Normal
	ev := []report.Evidence{classifierEvidence(fmt.Sprintf("classifier: probability that the photo is not normal %.2f, threshold %.2f", ab, c.NormalThreshold), ab)}
	var pos []string
	for _, o := range others {
		if o.Positive {
			pos = append(pos, o.Name)
		}
	}
	if len(pos) > 0 {
		ev = append(ev, report.Evidence{Source: SourceClassifier, Text: "positive findings: " + strings.Join(pos, ", ")})
	} else {
		ev = append(ev, report.Evidence{Source: SourceClassifier, Text: "no single finding above its own threshold"})
	}
	return binary("abnormal", "abnormal (any finding)", ab, c.NormalThreshold, "abnormal", "normal", ev)
}
