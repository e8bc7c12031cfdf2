// Package models holds the embedded ONNX models and their metadata.
//
// Each model NAME has NAME.onnx (the graph, produced by train/NAME), NAME.json
// (what Go needs to feed it: normalization, threshold, provenance) and
// NAME.md (the model card). This package only embeds and parses; it imports
// nothing but the standard library.
package models

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

//go:embed vessels.onnx
var vesselsONNX []byte

//go:embed vessels.json
var vesselsJSON []byte

//go:embed disc.onnx
var discONNX []byte

//go:embed disc.json
var discJSON []byte

//go:embed disccup.onnx
var disccupONNX []byte

//go:embed disccup.json
var disccupJSON []byte

//go:embed discverify.onnx
var discverifyONNX []byte

//go:embed discverify.json
var discverifyJSON []byte

//go:embed av.onnx
var avONNX []byte

//go:embed av.json
var avJSON []byte

//go:embed lesions.onnx
var lesionsONNX []byte

//go:embed lesions.json
var lesionsJSON []byte

//go:embed diagnose.onnx
var diagnoseONNX []byte

//go:embed diagnose.json
var diagnoseJSON []byte

// Meta is a model's sidecar JSON.
type Meta struct {
	Name             string   `json:"name"`
	Version          string   `json:"version"`
	Task             string   `json:"task"`
	Input            string   `json:"input"`
	Output           string   `json:"output"`
	OutputActivation string   `json:"output_activation"`
	Channels         string   `json:"channels"`
	Normalization    string   `json:"normalization"`
	FOVThreshold     int      `json:"fov_threshold"`
	SizeMultiple     int      `json:"size_multiple"`
	Threshold        float64  `json:"threshold"`
	TrainData        string   `json:"train_data"`
	Classes          []string `json:"classes,omitempty"` // output channel names, in order; empty for a one-channel model
	// TestTimeOrientations is how many orientations of the image the
	// model's outputs are averaged over (1, 2, 4 or 8; 0 means 1): the
	// image as it is, mirrored, upside down, both, then the same
	// transposed (internal/vessels).
	TestTimeOrientations int `json:"test_time_orientations,omitempty"`
}

// Model is an embedded model: its graph, metadata and content digest.
type Model struct {
	Meta   Meta
	ONNX   []byte
	SHA256 string
}

// Vessels returns the binary vessel segmentation model.
func Vessels() (Model, error) { return load("vessels", vesselsONNX, vesselsJSON) }

// AV returns the artery/vein segmentation model: independent sigmoid
// channels named by Meta.Classes (vessel, artery, vein), with Meta.Threshold
// the vessel channel's operating threshold.
func AV() (Model, error) { return load("av", avONNX, avJSON) }

// DiscFiles returns the optic disc / fovea locator's graph and sidecar JSON
// (parsed by disc.ParseModel, whose metadata differs from Meta).
func DiscFiles() (onnx, meta []byte) { return discONNX, discJSON }

// DiscCupFiles returns the optic disc / cup segmentation model's graph and
// sidecar JSON (parsed by disc.ParseCupModel, whose metadata differs from
// Meta).
func DiscCupFiles() (onnx, meta []byte) { return disccupONNX, disccupJSON }

// DiscVerifyFiles returns the optic disc verifier's graph and sidecar JSON
// (parsed by disc.ParseVerifyModel).
func DiscVerifyFiles() (onnx, meta []byte) { return discverifyONNX, discverifyJSON }

// LesionsFiles returns the diabetic-retinopathy lesion segmentation model's
// graph and sidecar JSON (parsed by lesions.ParseModel, whose metadata
// differs from Meta: per-class thresholds and the working scale).
func LesionsFiles() (onnx, meta []byte) { return lesionsONNX, lesionsJSON }

// DiagnoseFiles returns the diagnosis classifier's graph and sidecar JSON
// (parsed by diagnose.ParseModel, whose metadata differs from Meta: input
// sizes, the logit layout and the calibration).
func DiagnoseFiles() (onnx, meta []byte) { return diagnoseONNX, diagnoseJSON }

func load(name string, onnx, meta []byte) (Model, error) {
	var m Model
	if err := json.Unmarshal(meta, &m.Meta); err != nil {
		return Model{}, fmt.Errorf("model %s: metadata: %w", name, err)
	}
	if len(onnx) == 0 {
		return Model{}, fmt.Errorf("model %s: embedded ONNX file is empty", name)
	}
	switch m.Meta.TestTimeOrientations {
	case 0, 1, 2, 4, 8:
	default:
		return Model{}, fmt.Errorf("model %s: test_time_orientations %d: want 1, 2, 4 or 8", name, m.Meta.TestTimeOrientations)
	}
	sum := sha256.Sum256(onnx)
	m.ONNX, m.SHA256 = onnx, hex.EncodeToString(sum[:])
	return m, nil
}
