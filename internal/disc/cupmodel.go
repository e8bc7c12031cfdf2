package disc

import (
	"fmt"
	"math"
)

// CupModel is the optic disc / cup segmentation model's ONNX graph and the
// part of its sidecar JSON (models/disccup.json, written by
// train/disccup/train.py) that inference depends on. Every number the Go
// path uses (crop side, radius prior, threshold, FOV threshold, input size)
// comes from here, so a retrained model with other settings needs no code
// change.
type CupModel struct {
	graph                 // input [1, 3, Size, Size]; output logits, [1, 2, Size, Size]
	Channels     []string `json:"output_channels"` // "disc", "cup", in output order
	Activation   string   `json:"output_activation"`
	Size         int      `json:"size"`          // side of the square crop fed to the model
	SizeMultiple int      `json:"size_multiple"` // the network's stride
	Threshold    float64  `json:"threshold"`     // probability at or above which a pixel is disc (cup)
	Crop         CropSpec `json:"crop"`
}

// CropSpec is how the training script cut the model's input out of a
// photograph (train.py's predict_crop and the "crop" object of the JSON).
type CropSpec struct {
	// SideOverRadius is the crop side over the estimated disc radius.
	SideOverRadius float64 `json:"side_over_disc_radius"`
	// RadiusPrior is the estimated disc radius over the FOV radius, used
	// when nothing better is known.
	RadiusPrior float64 `json:"disc_radius_prior_over_fov_radius"`
	// TrainedRadiusRange is the range of (estimated radius / true radius)
	// the model was trained on (log-uniform jitter).
	TrainedRadiusRange [2]float64 `json:"trained_r_est_over_r"`
	// TrainedCentreError is the largest centre error, in true disc radii,
	// the model was trained on.
	TrainedCentreError float64 `json:"trained_centre_error_over_r"`
	// RefineRadiusRange, when set, asks for a second pass (train.py's
	// segment_two_pass): the crop re-centred on the first pass's disc
	// centroid and sized by its equivalent radius, taken only when that
	// radius over the first crop's estimate lies within this range. Absent
	// (zero): one pass, as the model was evaluated then.
	RefineRadiusRange [2]float64 `json:"refine_r_over_r_est,omitempty"`
}

// ParseCupModel pairs a graph with its sidecar JSON and checks that this
// package knows how to feed it.
func ParseCupModel(onnx, meta []byte) (CupModel, error) {
	var m CupModel
	if err := parseSidecar("disc/cup model", onnx, meta, &m, &m.graph); err != nil {
		return CupModel{}, err
	}
	if m.Name == "" {
		m.Name = "disccup"
	}
	return m, nil
}

func (m CupModel) validate() error {
	c := m.Crop
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if err := m.check("disc/cup model"); err != nil {
		return err
	}
	switch {
	case m.Activation != "" && m.Activation != "sigmoid":
		return fmt.Errorf("disc/cup model %s: output activation %q, want sigmoid", m.Version, m.Activation)
	case len(m.Channels) != 2 || m.Channels[0] != "disc" || m.Channels[1] != "cup":
		return fmt.Errorf("disc/cup model %s: output channels %q, want [disc cup]", m.Version, m.Channels)
	case m.Size < 16 || m.Size > 2048 || (m.SizeMultiple > 0 && m.Size%m.SizeMultiple != 0):
		return fmt.Errorf("disc/cup model %s: input size %d is not a multiple of %d in 16..2048", m.Version, m.Size, m.SizeMultiple)
	case !(m.Threshold > 0 && m.Threshold < 1):
		return fmt.Errorf("disc/cup model %s: threshold %v, want 0 < t < 1", m.Version, m.Threshold)
	case !(finite(c.SideOverRadius) && c.SideOverRadius > 2):
		return fmt.Errorf("disc/cup model %s: crop side %v disc radii, want > 2 (the crop must hold the disc)", m.Version, c.SideOverRadius)
	case !(finite(c.RadiusPrior) && c.RadiusPrior > 0 && c.RadiusPrior < 1):
		return fmt.Errorf("disc/cup model %s: disc radius prior %v FOV radii, want 0..1", m.Version, c.RadiusPrior)
	case c.RefineRadiusRange != [2]float64{} && !(finite(c.RefineRadiusRange[0]) && finite(c.RefineRadiusRange[1]) &&
		c.RefineRadiusRange[0] > 0 && c.RefineRadiusRange[1] > c.RefineRadiusRange[0]):
		return fmt.Errorf("disc/cup model %s: second-pass radius range %v, want 0 < lo < hi", m.Version, c.RefineRadiusRange)
	}
	return nil
}

// String names the model as reports do: name@version.
func (m CupModel) String() string { return m.Name + "@" + m.Version }
