package disc

import "fmt"

// Model is the disc/fovea locator's ONNX graph and the part of its sidecar
// JSON (models/disc.json, written by train/disc/train.py) that inference
// depends on.
type Model struct {
	graph             // output: logits, [1, 2, Size/stride, Size/stride]
	Channels []string `json:"output_channels"` // "disc", "fovea", in output order
	Size     int      `json:"size"`            // side of the square input: fundus.Normalize(img, Size)
	Window   int      `json:"window"`          // soft-argmax half-width in heatmap pixels
	Sigma    float64  `json:"sigma"`           // training target Gaussian, heatmap pixels (informational)
	// MinDiscConfidence is the least disc-channel peak probability taken
	// as "a disc is in the photo"; below it the disc is reported as not
	// found. Chosen by cross-validation on held-out photos and disc-less
	// crops (models/disc.md); 0 (models trained without disc-less
	// examples) means no such gate.
	MinDiscConfidence float64 `json:"min_disc_confidence"`
}

// ParseModel pairs a graph with its sidecar JSON and checks that this
// package knows how to feed it.
func ParseModel(onnx, meta []byte) (Model, error) {
	var m Model
	if err := parseSidecar("disc model", onnx, meta, &m, &m.graph); err != nil {
		return Model{}, err
	}
	return m, nil
}

func (m Model) validate() error {
	if err := m.check("disc model"); err != nil {
		return err
	}
	switch {
	case len(m.Channels) != 2 || m.Channels[0] != "disc" || m.Channels[1] != "fovea":
		return fmt.Errorf("disc model %s: output channels %q, want [disc fovea]", m.Version, m.Channels)
	case m.Size < 64 || m.Size%64 != 0:
		return fmt.Errorf("disc model %s: input size %d is not a positive multiple of 64", m.Version, m.Size)
	case m.Window < 1:
		return fmt.Errorf("disc model %s: window %d, want >= 1", m.Version, m.Window)
	case m.MinDiscConfidence < 0 || m.MinDiscConfidence >= 1:
		return fmt.Errorf("disc model %s: min_disc_confidence %g, want 0 <= c < 1", m.Version, m.MinDiscConfidence)
	}
	return nil
}
