package quality

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// ErrNotFundus is what callers wrap when they refuse an image because
// Assess found it is not a colour fundus photograph.
var ErrNotFundus = errors.New("not a colour fundus photograph")

// Grade is the image quality grade, EyeQ's three levels.
type Grade int

const (
	Good   Grade = iota // every structure gradable
	Usable              // gradable with some loss (part blurred, uneven light, a landmark missing)
	Reject              // not gradable, or not a fundus photograph at all
)

var gradeNames = [...]string{"good", "usable", "reject"}

func (g Grade) String() string {
	if g < 0 || int(g) >= len(gradeNames) {
		return fmt.Sprintf("Grade(%d)", int(g))
	}
	return gradeNames[g]
}

// MarshalText writes the grade's name, so JSON says "good", "usable" or
// "reject".
func (g Grade) MarshalText() ([]byte, error) {
	if g < 0 || int(g) >= len(gradeNames) {
		return nil, fmt.Errorf("quality: invalid grade %d", int(g))
	}
	return []byte(gradeNames[g]), nil
}

// UnmarshalText reads a grade's name.
func (g *Grade) UnmarshalText(b []byte) error {
	for i, n := range gradeNames {
		if string(b) == n {
			*g = Grade(i)
			return nil
		}
	}
	return fmt.Errorf("quality: unknown grade %q", b)
}

// Options are what the caller knows beyond the pixels. The zero value
// assesses the pixels alone.
type Options struct {
	// DiscFound and FoveaFound are the disc and fovea locator's verdicts;
	// nil means the locator was not run, and the criterion is left out.
	// A landmark that was looked for and not found caps the grade at
	// usable; both missing reject.
	DiscFound, FoveaFound *bool
}

// Assessment is the gate's verdict on one photo.
type Assessment struct {
	Modality Modality `json:"modality"`
	Quality  Quality  `json:"quality"`

	field *fieldMeasures // what Regrade grades again; nil without a field of view
}

// Regrade is the assessment with the landmark verdicts of opt (whether the
// disc and fovea were found, known only after the locator has run), graded
// from the measures Assess already took: no second pass over the pixels.
func (a Assessment) Regrade(opt Options) Assessment {
	if a.field == nil {
		return a // no field of view: the verdict does not depend on landmarks
	}
	a.Quality = grade(a.field, opt)
	a.rejectIfNotFundus()
	return a
}

// rejectIfNotFundus keeps the quality measures of a non-fundus image, for
// the record, but not its grade.
func (a *Assessment) rejectIfNotFundus() {
	if !a.Modality.IsFundus {
		r := rejected(a.Modality.Reasons)
		a.Quality.Grade, a.Quality.Reasons, a.Quality.RejectScore = r.Grade, r.Reasons, r.RejectScore
	}
}

// Accept reports whether the photo may be analysed: a fundus photograph
// whose grade is not Reject.
func (a Assessment) Accept() bool { return a.Modality.IsFundus && a.Quality.Grade != Reject }

// Err is nil for a colour fundus photograph; otherwise it is
// ErrNotFundus with the reasons, one line, for callers that refuse the
// image (errors.Is(err, ErrNotFundus)).
func (a Assessment) Err() error {
	if a.Modality.IsFundus {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrNotFundus, strings.Join(a.Modality.Reasons, "; "))
}

// Modality says whether the image is a colour fundus photograph.
type Modality struct {
	IsFundus bool `json:"is_fundus"`
	// Score is in [0, 1]: the weakest criterion's margin mapped through a
	// logistic, 0.5 at its threshold. IsFundus holds exactly when every
	// criterion passes, so Score >= 0.5.
	Score float64 `json:"score"`
	// Reasons name the failed criteria in words; empty when IsFundus.
	Reasons  []string    `json:"reasons,omitempty"`
	Criteria []Criterion `json:"criteria"`
}

// Quality grades a fundus photograph.
type Quality struct {
	Grade Grade `json:"grade"`
	// Probabilities of good, usable and reject from the calibrated model,
	// before the hard limits of the criteria and the modality check.
	// RejectScore is the model's P(reject), or 1 when a hard limit or the
	// modality check rejects the photo: the score behind the
	// reject-vs-rest AUC.
	Probabilities [3]float64 `json:"probabilities"`
	RejectScore   float64    `json:"reject_score"`
	// Reasons say why the grade is not Good; empty when it is.
	Reasons  []string    `json:"reasons,omitempty"`
	Criteria []Criterion `json:"criteria"`

	inputs []float64 // the model's inputs, kept for calibration
}

// Criterion is one measured property with its documented limits.
type Criterion struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Higher says larger values are better. Past Usable (below it when
	// Higher, above it otherwise) the criterion alone caps the grade at
	// usable; past Reject it rejects. A modality criterion has one limit,
	// Reject: past it the image is not a fundus photograph. NaN limits are
	// written as null and never trip.
	Higher bool    `json:"higher_is_better"`
	Usable float64 `json:"usable_limit"`
	Reject float64 `json:"reject_limit"`
	// Grade is what this criterion alone allows; Skipped marks a criterion
	// that could not be measured on this photo (it then allows Good).
	Grade   Grade  `json:"grade"`
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// MarshalJSON writes NaN values and limits (a criterion without a limit,
// a measure that could not be taken) as null, which JSON can hold.
func (c Criterion) MarshalJSON() ([]byte, error) {
	type plain Criterion // without this method
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		Value  *float64 `json:"value"`
		Usable *float64 `json:"usable_limit"`
		Reject *float64 `json:"reject_limit"`
	}{plain(c), num(c.Value), num(c.Usable), num(c.Reject)})
}

// Check runs fundus.DetectFOV on the decoded photo and assesses it.
func Check(img *fundus.Image, opt Options) Assessment {
	if img == nil || img.Pix == nil {
		return Assess(nil, fundus.FOV{}, errors.New("no image"), opt)
	}
	fov, err := fundus.DetectFOV(img.Pix)
	return Assess(img.Pix, fov, err, opt)
}

// Assess grades img given its field of view as fundus.DetectFOV found it
// (fovErr is DetectFOV's error; with an error, fov is ignored). It never
// fails: an image it cannot read, or one without a field of view, is
// reported as not a fundus photograph, graded Reject, with the reasons.
//
// The image is read once at full resolution and reduced so that the field
// of view is fieldSide pixels across; every measure is taken at that
// scale, so the cost is about one pass over the pixels.
func Assess(img image.Image, fov fundus.FOV, fovErr error, opt Options) Assessment {
	if img == nil || img.Bounds().Empty() {
		return notFundus([]string{"empty image"}, nil)
	}
	if fovErr == nil && !(fov.Radius > 0) {
		fovErr = fmt.Errorf("%w: zero radius", fundus.ErrNoFOV)
	}
	b := img.Bounds()
	var fp *fundus.FOV
	if fovErr == nil {
		fp = &fov
	}
	v := makeViews(img, fp)
	frame := measureFrame(v.frame)
	if fovErr != nil {
		return noField(frame, fovErr)
	}
	m := measureField(v, fov, b.Dx(), b.Dy())
	a := Assessment{Modality: modality(frame, m), Quality: grade(&m, opt), field: &m}
	a.rejectIfNotFundus()
	return a
}

// noField is the verdict without a field of view: not a fundus photo, with
// what the whole frame looks like as the reason.
func noField(f frameMeasures, fovErr error) Assessment {
	why := "no circular field of view (a bright disc on a dark or white background)"
	// DetectFOV's errors read "detect field of view: no field of view
	// found: REASON"; keep the reason.
	if msg := fovErr.Error(); strings.Contains(msg, ": ") {
		why += ": " + msg[strings.LastIndex(msg, ": ")+2:]
	}
	reasons := []string{why}
	crit := frameCriteria(f)
	for _, c := range crit {
		if c.Grade == Reject {
			reasons = append(reasons, c.Reason)
		}
	}
	return notFundus(reasons, append([]Criterion{{Name: "field_of_view", Value: 0, Higher: true, Usable: 1, Reject: 1, Grade: Reject, Reason: why}}, crit...))
}

func notFundus(reasons []string, crit []Criterion) Assessment {
	if crit == nil {
		crit = []Criterion{}
	}
	return Assessment{
		Modality: Modality{Score: 0, Reasons: reasons, Criteria: crit},
		Quality:  rejected(reasons),
	}
}

func rejected(modalityReasons []string) Quality {
	return Quality{
		Grade:         Reject,
		Probabilities: [3]float64{0, 0, 1},
		RejectScore:   1,
		Reasons:       []string{"not a colour fundus photograph: " + strings.Join(modalityReasons, "; ")},
		Criteria:      []Criterion{},
	}
}

// judge sets c.Grade and c.Reason from c.Value and the limits; reason
// formats the value when the criterion trips.
func judge(c Criterion, reason func(v float64) string) Criterion {
	past := func(limit float64) bool {
		if math.IsNaN(limit) || math.IsNaN(c.Value) {
			return false
		}
		if c.Higher {
			return c.Value < limit
		}
		return c.Value > limit
	}
	switch {
	case c.Skipped:
		c.Grade = Good
	case past(c.Reject):
		c.Grade = Reject
	case past(c.Usable):
		c.Grade = Usable
	}
	if c.Grade != Good {
		c.Reason = reason(c.Value)
	}
	return c
}
