package analysis

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/quality"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// NotFundusError is Analyze's refusal of an image that the quality gate
// finds is not a colour fundus photograph (or on which no field of view
// was found: then nothing can be analysed, gate or not). It matches
// quality.ErrNotFundus with errors.Is, and fundus.ErrNoFOV when that was
// the cause.
type NotFundusError struct {
	File    string   // the image's name as given
	Reasons []string // the gate's reasons, in words
	// NoFOV is fundus.DetectFOV's error when it found no field of view
	// (the gate cannot be skipped then); nil otherwise.
	NoFOV error
}

func (e *NotFundusError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.File, quality.ErrNotFundus, strings.Join(e.Reasons, "; "))
}

// Unwrap gives quality.ErrNotFundus and, when set, the field-of-view error.
func (e *NotFundusError) Unwrap() []error {
	if e.NoFOV != nil {
		return []error{quality.ErrNotFundus, e.NoFOV}
	}
	return []error{quality.ErrNotFundus}
}

// IsNotFundus returns the refusal inside err, if there is one.
func IsNotFundus(err error) (*NotFundusError, bool) {
	var nf *NotFundusError
	ok := errors.As(err, &nf)
	return nf, ok
}

// rejectWarning is the report's warning for a photo graded reject.
const rejectWarning = "image quality graded REJECT (%s): measurements from this photo may be unreliable; retake it if you can"

// notFundusWarning is the report's warning for a photo the gate found is
// not a colour fundus photograph, analysed because the gate was off.
const notFundusWarning = "NOT a colour fundus photograph (%s): analysed only because the quality gate was off; no measure in this report describes a retina"

// landmarkOptions are the gate's options after the disc stages: the optic
// disc counts as found when the disc/cup segmentation passed its checks.
// The fovea is not judged: the locator gives a peak probability for it,
// and no threshold for "fovea absent" has been validated (models/disc.md).
func landmarkOptions(seg *disc.Segmentation) quality.Options {
	found := seg != nil && seg.Found
	return quality.Options{DiscFound: &found}
}

// qualitySection maps the gate's Assessment into the report.
func qualitySection(a quality.Assessment, gateOn bool) *report.Quality {
	gate := "on"
	if !gateOn {
		gate = "off"
	}
	q := a.Quality
	p := q.Probabilities
	return &report.Quality{
		Gate: gate,
		Modality: report.QualityModality{
			IsFundus: a.Modality.IsFundus,
			Score:    report.Round(a.Modality.Score, 4),
			Reasons:  a.Modality.Reasons,
			Criteria: criteria(a.Modality.Criteria),
		},
		Grade:         q.Grade.String(),
		Probabilities: report.QualityProbabilities{Good: report.Round(p[0], 4), Usable: report.Round(p[1], 4), Reject: report.Round(p[2], 4)},
		RejectScore:   report.Round(q.RejectScore, 4),
		Reasons:       q.Reasons,
		Criteria:      criteria(q.Criteria),
	}
}

func criteria(cs []quality.Criterion) []report.QualityCriterion {
	out := make([]report.QualityCriterion, 0, len(cs))
	for _, c := range cs {
		out = append(out, report.QualityCriterion{
			Name: c.Name, Value: sig(c.Value), HigherIsBetter: c.Higher,
			UsableLimit: sig(c.Usable), RejectLimit: sig(c.Reject),
			Grade: c.Grade.String(), Skipped: c.Skipped, Reason: c.Reason,
		})
	}
	return out
}

// sig rounds v to four significant digits; nil for NaN and infinities
// (JSON null: not measured, or no limit).
func sig(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	if v == 0 {
		return &v
	}
	d := 3 - int(math.Floor(math.Log10(math.Abs(v))))
	r := report.Round(v, max(d, 0))
	return &r
}

// qualityWarnings are the report's warnings for the gate's verdict.
func qualityWarnings(a quality.Assessment) []string {
	switch {
	case !a.Modality.IsFundus:
		return []string{fmt.Sprintf(notFundusWarning, strings.Join(a.Modality.Reasons, "; "))}
	case a.Quality.Grade == quality.Reject:
		return []string{fmt.Sprintf(rejectWarning, strings.Join(a.Quality.Reasons, "; "))}
	}
	return nil
}

// notFundus is the refusal of img's assessment.
func notFundus(name string, a quality.Assessment, fovErr error) *NotFundusError {
	return &NotFundusError{File: name, Reasons: a.Modality.Reasons, NoFOV: fovErr}
}
