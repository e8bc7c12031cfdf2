package lesions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Kind is a lesion type.
type Kind int

// The lesion types, in the order of Kinds. Arrays indexed by Kind have
// NumKinds entries.
const (
	MA Kind = iota // microaneurysms
	HE             // haemorrhages
	EX             // hard exudates
	SE             // soft exudates (cotton-wool spots)
	NumKinds
)

// Kinds lists every lesion type.
var Kinds = [NumKinds]Kind{MA, HE, EX, SE}

var kindCodes = [NumKinds]string{"MA", "HE", "EX", "SE"}
var kindNames = [NumKinds]string{"microaneurysms", "haemorrhages", "hard exudates", "soft exudates"}

// String returns the short code: "MA", "HE", "EX" or "SE".
func (k Kind) String() string {
	if k >= 0 && k < NumKinds {
		return kindCodes[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Name returns the plural English name, e.g. "hard exudates".
func (k Kind) Name() string {
	if k >= 0 && k < NumKinds {
		return kindNames[k]
	}
	return k.String()
}

// MarshalText writes the short code, so a Kind is a readable JSON value
// and map key.
func (k Kind) MarshalText() ([]byte, error) {
	if k < 0 || k >= NumKinds {
		return nil, fmt.Errorf("lesion kind %d out of range", int(k))
	}
	return []byte(kindCodes[k]), nil
}

// ParseKind reads a short code ("MA", "HE", "EX", "SE", any case).
func ParseKind(s string) (Kind, error) {
	for k, c := range kindCodes {
		if strings.EqualFold(s, c) {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("lesion kind %q: want one of %v", s, kindCodes)
}

// Model is the lesion model's ONNX graph and the part of its sidecar JSON
// (models/lesions.json, written by train/lesions/train.py) that inference
// depends on.
type Model struct {
	ONNX          []byte
	SHA256        string             // of ONNX
	Name          string             `json:"name"`
	Version       string             `json:"version"`
	Input         string             `json:"input"`  // ONNX input name: [1, 3, H, W]
	Output        string             `json:"output"` // ONNX output name: logits [1, len(Classes), H, W]
	Activation    string             `json:"output_activation"`
	Classes       []string           `json:"classes"` // output channels, by short code
	Normalization string             `json:"normalization"`
	ColorChannels string             `json:"channels"`
	FOVThreshold  int                `json:"fov_threshold"`
	SizeMultiple  int                `json:"size_multiple"`
	FOVDiameterPx float64            `json:"fov_diameter_px"` // the FOV width, in pixels, of the photos the model was trained on
	Thresholds    map[string]float64 `json:"thresholds"`      // per class code, probability at or above which a pixel is lesion
	Widths        []int              `json:"widths"`
	TrainSteps    int                `json:"train_steps"`
	TrainData     string             `json:"train_data"`
	// CV holds the training script's cross-validated figures, when the
	// export recorded them.
	CV *CV `json:"cv,omitempty"`

	channel   [NumKinds]int     // output channel of each Kind
	threshold [NumKinds]float64 // per Kind
}

// CV is the "cv" object of the metadata: train/lesions/train.py's
// cross-validation, pooled over folds.
type CV struct {
	Folds         int                 `json:"folds"`
	HeldOutImages int                 `json:"held_out_images"`
	Threshold     float64             `json:"threshold"`
	Region        string              `json:"region"`
	Classes       map[string]CVScores `json:"classes"` // by class code
}

// CVScores are one class's cross-validated figures.
type CVScores struct {
	AUPR              *float64  `json:"aupr"` // mean over folds
	AUPRPerFold       []float64 `json:"aupr_per_fold"`
	ObjectSensitivity *float64  `json:"object_sensitivity"` // held-out images pooled
	FPPerImage        float64   `json:"fp_per_image"`
}

// ParseModel pairs a graph with its sidecar JSON and checks that this
// package knows how to feed it.
func ParseModel(onnx, meta []byte) (Model, error) {
	var m Model
	if err := json.Unmarshal(meta, &m); err != nil {
		return Model{}, fmt.Errorf("lesion model: metadata: %w", err)
	}
	m.ONNX = onnx
	sum := sha256.Sum256(onnx)
	m.SHA256 = hex.EncodeToString(sum[:])
	if m.Name == "" {
		m.Name = "lesions"
	}
	if err := m.validate(); err != nil {
		return Model{}, err
	}
	return m, nil
}

func (m *Model) validate() error {
	switch {
	case len(m.ONNX) == 0:
		return fmt.Errorf("lesion model %s: empty ONNX graph", m.Version)
	case m.Normalization != "fov_standardize" || m.ColorChannels != "RGB":
		return fmt.Errorf("lesion model %s: unsupported input %s/%s", m.Version, m.ColorChannels, m.Normalization)
	case m.Activation != "sigmoid":
		return fmt.Errorf("lesion model %s: output activation %q, want sigmoid", m.Version, m.Activation)
	case m.Input == "" || m.Output == "":
		return fmt.Errorf("lesion model %s: missing input or output name", m.Version)
	case m.SizeMultiple < 1:
		return fmt.Errorf("lesion model %s: size multiple %d", m.Version, m.SizeMultiple)
	case !(m.FOVDiameterPx >= 64 && m.FOVDiameterPx <= 8192):
		return fmt.Errorf("lesion model %s: fov_diameter_px %v, want 64..8192", m.Version, m.FOVDiameterPx)
	}
	for _, k := range Kinds {
		c := slices.IndexFunc(m.Classes, func(s string) bool { return strings.EqualFold(s, k.String()) })
		if c < 0 {
			return fmt.Errorf("lesion model %s: classes %q lack %s", m.Version, m.Classes, k)
		}
		m.channel[k] = c
		t, ok := m.Thresholds[k.String()]
		if !ok || !(t > 0 && t < 1) {
			return fmt.Errorf("lesion model %s: threshold of %s is %v, want one in (0, 1)", m.Version, k, m.Thresholds[k.String()])
		}
		m.threshold[k] = t
	}
	return nil
}

// Threshold is the probability at or above which a pixel counts as lesion
// k (the model's fixed operating point).
func (m Model) Threshold(k Kind) float64 { return m.threshold[k] }

// String is name@version.
func (m Model) String() string { return m.Name + "@" + m.Version }
