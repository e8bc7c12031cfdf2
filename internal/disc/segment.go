package disc

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// Plausibility limits: a segmentation outside them is reported as "disc
// not found" rather than measured. A wrong disc is worse than none: its CDR
// would read as a diagnosis.
const (
	// MinDiscOverFOV and MaxDiscOverFOV bound the disc's equivalent radius
	// over the FOV radius. A disc is about 1.5-2.2 mm across (up to ~3 mm
	// for a macrodisc) and a field of view of A degrees is about A x 0.288
	// mm across, so the ratio runs from ~0.08 (a small disc in a 60° field)
	// to ~0.35 (a macrodisc in a 30° field); measured: Drishti-GS1
	// (30°) 0.157-0.228, IDRiD (50°) median 0.153.
	MinDiscOverFOV = 0.07
	MaxDiscOverFOV = 0.36
	// MinConfidence is the least mean disc probability over the disc
	// mask. The mask holds the pixels at or above the model's threshold
	// (0.5), so the mean is at least about that; a clear disc scores near
	// 1, a faint guess barely above the threshold.
	MinConfidence = 0.65
	// MaxElongation bounds the longer of the disc's height and width over
	// the shorter. Discs are vertically oval by ~10 %; tilted myopic discs
	// reach an ovality (shorter over longer diameter) of about 0.6. The
	// expert masks measure at most 1.23 (Drishti-GS1, >= 2 of 4, median
	// 1.05) and 1.30 (IDRiD's 19 OD masks, median 1.11).
	MaxElongation = 1.8
	// MinFill is the least disc area over that of the ellipse inscribed in
	// its bounding box (pi/4 x height x width): a disc is a filled oval
	// (about 1), a ragged or crescent-shaped region is not. The expert
	// masks fill at least 0.949 (Drishti-GS1) and 0.927 (IDRiD).
	MinFill = 0.75
	// MaxOffset is how far, in equivalent disc radii, the disc's centroid
	// may lie from the located centre the crop was centred on: further
	// means the locator's point lies outside the disc found, so the two
	// models disagree about where the disc is (the model was trained with
	// the centre at most crop.trained_centre_error_over_r = 0.45 radii
	// off).
	MaxOffset = 1.0
)

// Segmentation is the optic disc and cup found around a located disc
// centre, in ORIGINAL photo pixels.
type Segmentation struct {
	// Located is the locator's disc centre; RadiusEstimate the disc
	// radius the (last) crop was sized for, Crop the square the model saw
	// last. Passes is 1, or 2 when the model asked for a second pass
	// (CropSpec.RefineRadiusRange) and the first found a disc to re-centre
	// on: then Crop is centred on the first pass's disc centroid and
	// RadiusEstimate is that disc's equivalent radius.
	Located        Point
	RadiusEstimate float64
	Crop           Crop
	Passes         int
	// Disc and Cup are the post-processed masks (255 inside), their Rect
	// the crop square clipped to the photo (Crop.Bounds); nil when the
	// crop misses the photo. Cup lies within Disc.
	Disc, Cup *image.Gray
	// Confidence is the mean disc probability over the disc mask,
	// CupConfidence the mean cup probability over the cup mask (0 when
	// empty). They rank results; they are not calibrated probabilities.
	Confidence, CupConfidence float64
	// Found says the disc passed the plausibility checks (see
	// MinDiscOverFOV and the others); otherwise Reason says why not, and
	// Measures, although computed from whatever the masks hold, must not
	// be reported.
	Found    bool
	Reason   string
	Measures Measures
	// Verification is the disc verifier's probability that the disc found
	// is an optic disc (Verifier.Probability); Verified says it ran,
	// which it does only for a disc that passed the other checks.
	Verification float64
	Verified     bool
	// Caution, for a disc found, says when the crop lay outside the
	// conditions the model was trained on (crop.trained_r_est_over_r,
	// crop.trained_centre_error_over_r): its outline may then be less
	// accurate than the model's cross-validated figures say.
	Caution string
	// Model is the disc/cup model, name@version.
	Model string
}

// Segmenter runs the optic disc and cup model. Create one and share it:
// Segment is safe for concurrent use.
type Segmenter struct {
	session
	model CupModel
}

// NewSegmenter loads the model into an ONNX Runtime session.
func NewSegmenter(rt *infer.Runtime, m CupModel) (*Segmenter, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	s, err := m.open(rt, "disc/cup model")
	if err != nil {
		return nil, err
	}
	return &Segmenter{session: s, model: m}, nil
}

func newSegmenterWithRunner(r infer.Runner, m CupModel) *Segmenter {
	return &Segmenter{session: session{run: r}, model: m}
}

// Model describes the model in use.
func (s *Segmenter) Model() CupModel { return s.model }

// RadiusEstimate is the disc radius the first crop is sized for: the
// model's prior (crop.disc_radius_prior_over_fov_radius) times the FOV
// radius, as the model was trained and cross-validated. The locator gives
// no radius of its own; a second pass (CropSpec.RefineRadiusRange) uses
// the first pass's measured one.
func (s *Segmenter) RadiusEstimate(fov fundus.FOV) float64 {
	return s.model.Crop.RadiusPrior * fov.Radius
}

// CropFor is the square the model sees for a disc located at centre.
func (s *Segmenter) CropFor(fov fundus.FOV, centre Point) Crop {
	return CropAround(centre, s.RadiusEstimate(fov), s.model.Crop.SideOverRadius, s.model.Size)
}

// Segment finds the optic disc and cup in photo (the original
// photograph), given its field of view and the located disc centre, both
// in the photo's pixels, and measures them; eye (from Laterality) says
// which rim sector is nasal. The steps mirror train/disccup/train.py: crop
// (CropFor, bilinear, black beyond the photo), infer.FOVStandardize,
// model, sigmoid, probabilities pasted back onto the photo's pixels,
// threshold, largest 8-connected disc with holes filled, cup = cup AND
// disc, largest, holes filled. A disc that fails the plausibility checks
// comes back with Found false and a Reason; only a failure to run is an
// error.
func (s *Segmenter) Segment(ctx context.Context, photo *image.NRGBA, fov fundus.FOV, centre Point, eye Eye) (*Segmentation, error) {
	if photo == nil || photo.Bounds().Empty() {
		return nil, errors.New("segment disc: no image")
	}
	if !(fov.Radius > 0) || math.IsInf(fov.Radius, 0) {
		return nil, fmt.Errorf("segment disc: field of view radius %v", fov.Radius)
	}
	if math.IsNaN(centre.X) || math.IsNaN(centre.Y) || math.IsInf(centre.X, 0) || math.IsInf(centre.Y, 0) {
		return nil, fmt.Errorf("segment disc: located centre %v", centre)
	}
	m := s.model
	seg := &Segmentation{Located: centre, RadiusEstimate: s.RadiusEstimate(fov), Crop: s.CropFor(fov, centre), Model: m.String()}
	if seg.Crop.Bounds(photo.Bounds()).Empty() {
		seg.Reason = "the located disc centre is outside the photograph"
		return seg, nil
	}
	if err := s.pass(ctx, photo, seg, eye); err != nil {
		return nil, fmt.Errorf("segment disc: %w", err)
	}
	// The second pass puts the disc where training put it most often (the
	// crop's centre, radius near the estimate): the cross-validated
	// figures of a perturbed start were better that way (models/disccup.md).
	if lo, hi := m.Crop.RefineRadiusRange[0], m.Crop.RefineRadiusRange[1]; hi > 0 && seg.Measures.Disc.Area > 0 {
		r := seg.Measures.EquivalentRadiusPx()
		if q := r / seg.RadiusEstimate; q >= lo && q <= hi {
			first := *seg
			seg.RadiusEstimate = r
			seg.Crop = CropAround(seg.Measures.Centre, r, m.Crop.SideOverRadius, m.Size)
			if seg.Crop.Bounds(photo.Bounds()).Empty() {
				*seg = first
			} else if err := s.pass(ctx, photo, seg, eye); err != nil {
				return nil, fmt.Errorf("segment disc (second pass): %w", err)
			}
		}
	}
	seg.Reason = judge(seg, fov, photo.Bounds())
	seg.Found = seg.Reason == ""
	if seg.Found {
		seg.Caution = caution(seg, m.Crop)
	}
	return seg, nil
}

// Skip is the Segmentation of a disc that is not looked for (the locator
// sees none): the crop the model would have seen, no masks, Found false
// with reason, and no inference.
func (s *Segmenter) Skip(fov fundus.FOV, centre Point, reason string) *Segmentation {
	return &Segmentation{Located: centre, RadiusEstimate: s.RadiusEstimate(fov), Crop: s.CropFor(fov, centre),
		Model: s.model.String(), Reason: reason}
}

// pass runs the model on seg.Crop and fills seg's masks, confidences and
// measures (the steps of train.py's segment_image), counting the pass.
func (s *Segmenter) pass(ctx context.Context, photo *image.NRGBA, seg *Segmentation, eye Eye) error {
	m := s.model
	region := seg.Crop.Bounds(photo.Bounds())
	prob, err := s.probabilities(ctx, cutOut(photo, seg.Crop))
	if err != nil {
		return err
	}
	n := m.Size * m.Size
	discP := pasteBack(prob[:n], seg.Crop, region)
	cupP := pasteBack(prob[n:], seg.Crop, region)
	seg.Disc = largestFilled(threshold(discP, m.Threshold, region, nil))
	seg.Cup = largestFilled(threshold(cupP, m.Threshold, region, seg.Disc))
	seg.Confidence = meanOver(discP, seg.Disc)
	seg.CupConfidence = meanOver(cupP, seg.Cup)
	seg.Measures = Measure(seg.Disc, seg.Cup, eye)
	seg.Passes++
	return nil
}

// caution says how seg's crop departed from the training conditions, or "".
func caution(seg *Segmentation, c CropSpec) string {
	r := seg.Measures.EquivalentRadiusPx()
	if lo, hi := c.TrainedRadiusRange[0], c.TrainedRadiusRange[1]; lo > 0 && hi > lo {
		if q := seg.RadiusEstimate / r; q < lo || q > hi {
			return fmt.Sprintf("the disc (radius %.0f px) is %.2f times the crop's estimated radius, outside the %.2f-%.2f the model was trained on",
				r, 1/q, 1/hi, 1/lo)
		}
	}
	if e := c.TrainedCentreError; e > 0 {
		if d := Distance(seg.Measures.Centre, seg.Located) / r; d > e {
			return fmt.Sprintf("the located centre is %.2f disc radii from the disc found, more than the %.2f the model was trained on", d, e)
		}
	}
	return ""
}

// probabilities runs the model on a Size x Size crop: disc then cup
// sigmoid probabilities, each row-major.
func (s *Segmenter) probabilities(ctx context.Context, crop *image.NRGBA) ([]float32, error) {
	size := s.model.Size
	out, err := s.run.Run(ctx, infer.FOVStandardize(crop, s.model.FOVThreshold))
	if err != nil {
		return nil, err
	}
	if len(out.Shape) != 4 || out.Shape[0] != 1 || out.Shape[1] != 2 || out.Shape[2] != int64(size) || out.Shape[3] != int64(size) ||
		len(out.Data) != 2*size*size {
		return nil, fmt.Errorf("model output shape %v (%d values), want [1 2 %d %d]", out.Shape, len(out.Data), size, size)
	}
	for i, v := range out.Data {
		out.Data[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return out.Data, nil
}

// judge returns why seg is not a plausible optic disc, or "".
func judge(seg *Segmentation, fov fundus.FOV, photo image.Rectangle) string {
	m := seg.Measures
	if m.Disc.Area == 0 {
		return "no disc in the model's output"
	}
	r := m.EquivalentRadiusPx()
	switch ratio := r / fov.Radius; {
	case ratio < MinDiscOverFOV:
		return fmt.Sprintf("disc too small for the field of view (radius %.3f of the FOV radius, plausible %.2f-%.2f)", ratio, MinDiscOverFOV, MaxDiscOverFOV)
	case ratio > MaxDiscOverFOV:
		return fmt.Sprintf("disc too large for the field of view (radius %.3f of the FOV radius, plausible %.2f-%.2f)", ratio, MinDiscOverFOV, MaxDiscOverFOV)
	}
	h, w := float64(m.Disc.Height), float64(m.Disc.Width)
	if e := max(h, w) / min(h, w); e > MaxElongation {
		return fmt.Sprintf("implausible disc shape (%.0f x %.0f px, elongation %.2f, at most %.2f)", h, w, e, MaxElongation)
	}
	if f := float64(m.Disc.Area) / (math.Pi / 4 * h * w); f < MinFill {
		return fmt.Sprintf("implausible disc shape (%.2f of its bounding ellipse filled, at least %.2f)", f, MinFill)
	}
	if seg.Confidence < MinConfidence {
		return fmt.Sprintf("low confidence (mean disc probability %.2f, want at least %.2f)", seg.Confidence, MinConfidence)
	}
	if touchesEdge(seg.Disc, seg.Crop.inner().Intersect(photo)) {
		return "the disc reaches the edge of the crop or the photograph, so it may be cut off"
	}
	if d := Distance(m.Centre, seg.Located); d > MaxOffset*r {
		return fmt.Sprintf("the disc found lies %.1f disc radii from the located centre", d/r)
	}
	return ""
}

// touchesEdge reports whether m has a pixel set on the border of r or
// beyond it.
func touchesEdge(m *image.Gray, r image.Rectangle) bool {
	b := m.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[(y-b.Min.Y)*m.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			if row[x-b.Min.X] == 0 {
				continue
			}
			if x <= r.Min.X || x >= r.Max.X-1 || y <= r.Min.Y || y >= r.Max.Y-1 {
				return true
			}
		}
	}
	return false
}

// DiscDiameterUm is the optic disc diameter assumed by the disc-diameter
// calibration: about 1.8 mm (Jonas et al. 1988, normal eyes: mean
// vertical diameter ~1.9 mm, horizontal ~1.8 mm, area ~2.7 mm²).
const DiscDiameterUm = 1800.0

// DiscCalibration is the calibration used when the user gave no pixel
// size and no field-of-view angle: the measured disc diameter (mean of
// height and width, original pixels) taken as DiscDiameterUm. It is the
// source fundus.Calibrate reserves for this stage. A zero or negative
// diameter gives fundus's uncalibrated result.
func DiscCalibration(diameterPx float64) fundus.Calibration {
	if !(diameterPx > 0) || math.IsInf(diameterPx, 0) {
		return fundus.Calibrate(fundus.FOV{}, 0, 0)
	}
	return fundus.Calibration{
		UmPerPx: DiscDiameterUm / diameterPx,
		Source:  fundus.CalibrationDiscDiameter,
		Note: fmt.Sprintf("approximate: the optic disc's measured diameter (%.0f px, mean of height and width) taken as %.0f µm, the population mean; real discs range from about 1.5 to 2.2 mm, so lengths may be off by some 20%%, and the disc's own size and cup-to-disc ratio carry no information in micrometres",
			diameterPx, DiscDiameterUm),
	}
}
