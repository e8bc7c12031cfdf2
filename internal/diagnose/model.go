package diagnose

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"image"
	"math"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// Logit layout of the classifier's single output (models/diagnose.json).
const (
	drLogits      = 0 // 5: ICDR grade 0-4
	dmeLogits     = 5 // 3: IDRiD DME risk 0-2
	glaucomaLogit = 8
	cataractLogit = 9
	normalLogit   = 10
	numLogits     = 11
)

// Calibration maps logits to probabilities and holds the decision
// thresholds; train/diagnose/train.py fits it on out-of-fold logits.
type Calibration struct {
	DRTemperature      float64    `json:"dr_temperature"`
	ReferableThreshold float64    `json:"referable_threshold"`
	DMETemperature     float64    `json:"dme_temperature"`
	DMEThreshold       float64    `json:"dme_threshold"`
	GlaucomaPlatt      [2]float64 `json:"glaucoma_platt"`
	GlaucomaThreshold  float64    `json:"glaucoma_threshold"`
	CataractPlatt      [2]float64 `json:"cataract_platt"`
	CataractThreshold  float64    `json:"cataract_threshold"`
	NormalPlatt        [2]float64 `json:"normal_platt"`
	// NormalThreshold is the threshold on P(abnormal) = 1 - P(normal).
	NormalThreshold float64 `json:"normal_threshold"`
}

// Model is the classifier's graph and sidecar metadata (models/diagnose.json).
type Model struct {
	Name        string      `json:"name"`
	Version     string      `json:"version"`
	CropSize    int         `json:"crop_size"`  // fundus.NormalizeFOV side
	InputSize   int         `json:"input_size"` // after box averaging
	Calibration Calibration `json:"calibration"`
	// CataractStack combines the cataract logit with the quality gate's
	// measures (nil in a model without it: the classifier alone).
	CataractStack *Stack `json:"cataract_stack"`
	// GlaucomaStack combines the glaucoma logit with the disc stage's
	// vertical cup-to-disc ratio (nil: the classifier alone). Used only
	// when the disc and cup were measured.
	GlaucomaStack *Stack `json:"glaucoma_stack,omitempty"`
	// GradeStack gives the five DR grade probabilities from the lesion
	// stage's measures (GradeFeatures; nil: the classifier alone). Used
	// only when the lesion stage ran (--lesions).
	GradeStack *GradeStack `json:"grade_stack,omitempty"`
	// DMEStack combines the three DME logits with the exudate evidence
	// (DMEFeatures): P(any risk) and P(risk 2 | any). Used only when
	// the lesion stage ran.
	DMEStack *DMEStack `json:"dme_stack,omitempty"`
	Parity   struct {
		Logits []float64 `json:"logits"`
	} `json:"parity"`
	ONNX []byte `json:"-"`
}

// ParseModel reads the sidecar JSON and checks it against the graph.
func ParseModel(onnx, meta []byte) (Model, error) {
	var m Model
	if err := json.Unmarshal(meta, &m); err != nil {
		return Model{}, fmt.Errorf("model diagnose: metadata: %w", err)
	}
	if len(onnx) == 0 {
		return Model{}, fmt.Errorf("model diagnose: embedded ONNX file is empty")
	}
	if m.InputSize <= 0 || m.CropSize < m.InputSize || m.CropSize%m.InputSize != 0 {
		return Model{}, fmt.Errorf("model diagnose: crop %d and input %d: want a crop a whole multiple of the input", m.CropSize, m.InputSize)
	}
	c := m.Calibration
	if c.DRTemperature <= 0 || c.DMETemperature <= 0 {
		return Model{}, fmt.Errorf("model diagnose: calibration missing")
	}
	stacks := map[string]*Stack{"cataract_stack": m.CataractStack, "glaucoma_stack": m.GlaucomaStack}
	if g := m.GradeStack; g != nil {
		if len(g.AtLeast) != 4 {
			return Model{}, fmt.Errorf("model diagnose: grade_stack has %d regressions, want 4 (grade ≥ 1 … ≥ 4)", len(g.AtLeast))
		}
		for k, st := range g.AtLeast {
			if st == nil {
				return Model{}, fmt.Errorf("model diagnose: grade_stack regression %d is missing", k+1)
			}
			stacks[fmt.Sprintf("grade_stack.at_least[%d]", k+1)] = st
		}
	}
	if d := m.DMEStack; d != nil {
		if d.Any == nil || d.Severe == nil {
			return Model{}, fmt.Errorf("model diagnose: dme_stack needs any and severe")
		}
		stacks["dme_stack.any"], stacks["dme_stack.severe"] = d.Any, d.Severe
	}
	for name, st := range stacks {
		if st == nil {
			continue
		}
		n := len(st.Features)
		if n == 0 || len(st.Mean) != n || len(st.Std) != n || len(st.Coef) != n {
			return Model{}, fmt.Errorf("model diagnose: %s: %d features, %d means, %d stds, %d coefficients", name, n, len(st.Mean), len(st.Std), len(st.Coef))
		}
	}
	m.ONNX = onnx
	return m, nil
}

// Stack is a logistic regression over one of the classifier's logits (the
// feature named "…_logit") and measures from other sections (the quality
// gate's for cataract, the vertical cup-to-disc ratio for glaucoma) (train/diagnose/train.py --stack): features
// standardized by Mean and Std, a missing measure taken at its mean.
type Stack struct {
	Features  []string  `json:"features"` // "cataract_logit", then quality criterion names
	Mean      []float64 `json:"mean"`
	Std       []float64 `json:"std"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
	Threshold float64   `json:"threshold"` // Youden on out-of-fold probabilities
}

// Apply gives the combined probability from the raw cataract logit and the
// measures by name (as the report's quality section holds them: four
// significant digits).
func (s *Stack) Apply(logit float64, measures map[string]float64) float64 {
	z := s.Intercept
	for i, f := range s.Features {
		v, ok := measures[f]
		if strings.HasSuffix(f, "_logit") {
			v, ok = logit, true
		}
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) || s.Std[i] == 0 {
			continue
		}
		z += s.Coef[i] * (v - s.Mean[i]) / s.Std[i]
	}
	return sigmoid(z)
}

// Probabilities are the classifier's calibrated outputs.
type Probabilities struct {
	Logits   [numLogits]float32 // raw
	DR       [5]float64         // ICDR grade 0-4
	DME      [3]float64         // IDRiD risk 0-2
	Glaucoma float64
	Cataract float64
	Normal   float64
}

// Calibrate turns raw logits into probabilities.
func (m Model) Calibrate(logits []float32) (Probabilities, error) {
	if len(logits) != numLogits {
		return Probabilities{}, fmt.Errorf("model diagnose: %d logits, want %d", len(logits), numLogits)
	}
	c := m.Calibration
	var p Probabilities
	copy(p.Logits[:], logits)
	softmax(p.DR[:], logits[drLogits:drLogits+5], c.DRTemperature)
	softmax(p.DME[:], logits[dmeLogits:dmeLogits+3], c.DMETemperature)
	platt := func(ab [2]float64, z float32) float64 { return sigmoid(ab[0]*float64(z) + ab[1]) }
	p.Glaucoma = platt(c.GlaucomaPlatt, logits[glaucomaLogit])
	p.Cataract = platt(c.CataractPlatt, logits[cataractLogit])
	p.Normal = platt(c.NormalPlatt, logits[normalLogit])
	return p, nil
}

func softmax(dst []float64, z []float32, t float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v)/t)
	}
	var s float64
	for i, v := range z {
		dst[i] = math.Exp(float64(v)/t - mx)
		s += dst[i]
	}
	for i := range dst {
		dst[i] /= s
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Classifier runs the embedded image classifier.
type Classifier struct {
	model Model
	sess  *infer.Session
}

// NewClassifier loads the model into a session.
func NewClassifier(rt *infer.Runtime, m Model) (*Classifier, error) {
	s, err := rt.NewSession(infer.Model{Name: m.Name, ONNX: m.ONNX, Input: "image", Output: "logits"})
	if err != nil {
		return nil, err
	}
	return &Classifier{model: m, sess: s}, nil
}

// Model returns the classifier's metadata.
func (c *Classifier) Model() Model { return c.model }

// Close frees the session.
func (c *Classifier) Close() error { return c.sess.Close() }

// Classify crops the photo to its field of view exactly as training did
// (fundus.NormalizeFOV to CropSize, box-averaged to InputSize) and returns
// the raw logits and the calibrated probabilities.
func (c *Classifier) Classify(ctx context.Context, img *fundus.Image, fov fundus.FOV) ([]float32, Probabilities, error) {
	n := fundus.NormalizeFOV(img, fov, c.model.CropSize)
	logits, err := c.Logits(ctx, Input(n.Image, c.model.InputSize))
	if err != nil {
		return nil, Probabilities{}, err
	}
	p, err := c.model.Calibrate(logits)
	return logits, p, err
}

// ClassifyFrame is Classify from a field-of-view square already made for
// another stage (the pipeline's 1024 analysis frame): when its side is a
// whole multiple of InputSize and at least CropSize, the input is its box
// average (no second resampling of the original photo, which costs ~0.5 s
// for a 2144x1424 photo on two cores); otherwise it falls back to
// Classify's crop. The two inputs differ by the resampling filter (a few
// grey levels); models/diagnose.md gives the measured effect.
func (c *Classifier) ClassifyFrame(ctx context.Context, img *fundus.Image, n *fundus.Normalized) ([]float32, Probabilities, error) {
	if n.Size < c.model.CropSize || n.Size%c.model.InputSize != 0 {
		return c.Classify(ctx, img, n.FOV)
	}
	logits, err := c.Logits(ctx, Input(n.Image, c.model.InputSize))
	if err != nil {
		return nil, Probabilities{}, err
	}
	p, err := c.model.Calibrate(logits)
	return logits, p, err
}

// Logits runs the graph on a prepared input tensor [1,3,S,S].
func (c *Classifier) Logits(ctx context.Context, in infer.Tensor) ([]float32, error) {
	out, err := c.sess.Run(ctx, in)
	if err != nil {
		return nil, err
	}
	if len(out.Data) != numLogits {
		return nil, fmt.Errorf("model diagnose: output has %d values, want %d", len(out.Data), numLogits)
	}
	return out.Data, nil
}

// Input box-averages a square crop to size x size (each output pixel the
// rounded mean of a whole (side/size)^2 block, as train/diagnose/train.py's
// load_pixels does) and lays it out as a [1,3,size,size] tensor of 0..255
// values (the graph normalizes itself).
func Input(crop *image.NRGBA, size int) infer.Tensor {
	side := crop.Rect.Dx()
	f := side / size
	t := infer.NewTensor(1, 3, int64(size), int64(size))
	plane := size * size
	area := uint32(f * f)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var s [3]uint32
			for dy := 0; dy < f; dy++ {
				row := crop.Pix[(y*f+dy)*crop.Stride+x*f*4:]
				for dx := 0; dx < f; dx++ {
					s[0] += uint32(row[dx*4])
					s[1] += uint32(row[dx*4+1])
					s[2] += uint32(row[dx*4+2])
				}
			}
			for ch := 0; ch < 3; ch++ {
				t.Data[ch*plane+y*size+x] = float32((s[ch] + area/2) / area)
			}
		}
	}
	return t
}

// ParityPattern is train/diagnose/train.py's parity_pattern: the input
// whose logits models/diagnose.json records.
func ParityPattern(size int) infer.Tensor {
	t := infer.NewTensor(1, 3, int64(size), int64(size))
	plane := size * size
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			i := y*size + x
			t.Data[i] = float32((x*7 + y*3) % 256)
			t.Data[plane+i] = float32((x*5 + y*11) % 256)
			t.Data[2*plane+i] = float32((x * y) % 256)
		}
	}
	return t
}

// CataractLogit is the classifier's raw cataract logit (the stack's first
// feature).
func (p Probabilities) CataractLogit() float64 { return float64(p.Logits[cataractLogit]) }

// DMEStack is the two-step DME combination: Any gives P(any risk) (its
// Threshold decides), Severe P(risk 2 | any risk), both over DMEFeatures.
type DMEStack struct {
	// Set names the candidate feature set the fit chose (models/diagnose.md).
	Set    string `json:"set,omitempty"`
	Any    *Stack `json:"any"`
	Severe *Stack `json:"severe"`
	// Parity holds features and the risk probabilities the training
	// script computed from them, which Risks must reproduce.
	Parity []StackParity `json:"parity,omitempty"`
}

// Risks gives the three DME risk probabilities from DMEFeatures.
func (d *DMEStack) Risks(feats map[string]float64) [3]float64 {
	pa, ps := d.Any.Apply(0, feats), d.Severe.Apply(0, feats)
	return [3]float64{1 - pa, pa * (1 - ps), pa * ps}
}

// StackParity is one check case of a combination: the inputs and the
// probabilities train/diagnose/train.py computed from them.
type StackParity struct {
	Features      map[string]float64 `json:"features"`
	Probabilities []float64          `json:"probabilities"`
}

// DMEFeatures are the DME combination's inputs: the classifier's three DME
// logits ("dme0".."dme2"), the hard exudates' log(1+count) ("EX_count"),
// log(1 + 10⁴·area/FOV area) ("EX_area"), the nearest exudate's distance
// from the fovea in disc diameters, capped at 5 (5 when none or unknown:
// "EX_fovea_dd") and whether it is within 1 DD ("EX_within_1dd"), and
// every other lesion type's count and area as GradeFeatures gives them
// (DME goes with DR severity). Nil when the lesion model does not detect
// hard exudates, or without a lesion section.
func DMEFeatures(p Probabilities, l *report.Lesions, fovAreaPx int) map[string]float64 {
	ex := lesionType(l, "EX")
	if ex == nil || !ex.Detected || fovAreaPx <= 0 {
		return nil
	}
	f := GradeFeatures(p, l, fovAreaPx)
	d, within := 5.0, 0.0
	if ex.MinFoveaDistanceDD != nil {
		d = math.Min(*ex.MinFoveaDistanceDD, 5)
		if *ex.MinFoveaDistanceDD <= MaculaDD {
			within = 1
		}
	}
	f["dme0"], f["dme1"], f["dme2"] = float64(p.Logits[5]), float64(p.Logits[6]), float64(p.Logits[7])
	f["EX_fovea_dd"], f["EX_within_1dd"] = d, within
	return f
}

// GradeStack is the DR grade combination with the lesion evidence
// (train/diagnose/train.py --grade-stack): an ordinal logistic model, one
// regression per P(grade ≥ k), k = 1..4, over GradeFeatures.
type GradeStack struct {
	// Set names the candidate feature set the fit chose (models/diagnose.md).
	Set     string   `json:"set"`
	AtLeast []*Stack `json:"at_least"`
	// Threshold on P(grade ≥ 2) decides referable DR (Youden on the
	// fitting photos).
	Threshold float64 `json:"threshold"`
	// Parity holds features and the probabilities the training script
	// computed from them, which Grades must reproduce.
	Parity []StackParity `json:"parity,omitempty"`
}

// Grades gives the five grade probabilities: the P(grade ≥ k) made
// non-increasing in k (separately fitted regressions can cross), then
// differenced.
func (g *GradeStack) Grades(feats map[string]float64) [5]float64 {
	var atLeast [5]float64
	atLeast[0] = 1
	for k, st := range g.AtLeast {
		atLeast[k+1] = math.Min(st.Apply(0, feats), atLeast[k])
	}
	var p [5]float64
	for k := 0; k < 4; k++ {
		p[k] = atLeast[k] - atLeast[k+1]
	}
	p[4] = atLeast[4]
	return p
}

// GradeFeatures are the grade combination's inputs: the classifier's raw
// DR logits ("dr0".."dr4") and, for every lesion type, log(1+count)
// ("HE_count") and log(1 + 10⁴·area/FOV area) ("HE_area") — the
// microaneurysm channel's too, though its count is not reported as one
// (Detected is false): as an input whose weight was fitted it still
// carries grade information (models/diagnose.md) — and, when quadrants
// were assigned, log(1 + the fewest haemorrhages in a quadrant)
// ("HE_fewest_quadrant"). Nil without a lesion section or a field of view.
func GradeFeatures(p Probabilities, l *report.Lesions, fovAreaPx int) map[string]float64 {
	if l == nil || fovAreaPx <= 0 {
		return nil
	}
	f := map[string]float64{}
	for g := 0; g < 5; g++ {
		f[fmt.Sprintf("dr%d", g)] = float64(p.Logits[drLogits+g])
	}
	for _, t := range l.Types {
		f[t.Type+"_count"] = math.Log1p(float64(t.Count))
		f[t.Type+"_area"] = math.Log1p(1e4 * t.AreaPx / float64(fovAreaPx))
		if t.Type == "HE" && l.QuadrantBasis != "none" {
			q := t.Quadrants
			f["HE_fewest_quadrant"] = math.Log1p(float64(min(q.SuperiorTemporal, q.SuperiorNasal, q.InferiorTemporal, q.InferiorNasal)))
		}
	}
	return f
}

// GlaucomaLogit is the classifier's raw glaucoma logit.
func (p Probabilities) GlaucomaLogit() float64 { return float64(p.Logits[glaucomaLogit]) }
