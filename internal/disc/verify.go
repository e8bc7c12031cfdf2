package disc

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// VerifyModel is the disc verifier's graph and the part of its sidecar
// JSON (models/discverify.json, written by train/discverify/train.py)
// that inference depends on.
type VerifyModel struct {
	graph             // output: one logit, [1, 1, 1, 1]
	Size      int     `json:"size"`             // side of the square input
	SideOverR float64 `json:"side_over_radius"` // the square's side in disc radii
	// Threshold is the least probability taken as "an optic disc", chosen
	// by cross-validation (models/discverify.md).
	Threshold float64 `json:"threshold"`
}

// ParseVerifyModel pairs a graph with its sidecar JSON and checks that
// this package knows how to feed it.
func ParseVerifyModel(onnx, meta []byte) (VerifyModel, error) {
	var m VerifyModel
	if err := parseSidecar("disc verifier", onnx, meta, &m, &m.graph); err != nil {
		return VerifyModel{}, err
	}
	return m, nil
}

func (m VerifyModel) validate() error {
	if err := m.check("disc verifier"); err != nil {
		return err
	}
	switch {
	case m.Size < 8:
		return fmt.Errorf("disc verifier %s: input size %d", m.Version, m.Size)
	case !(m.SideOverR > 0):
		return fmt.Errorf("disc verifier %s: side_over_radius %v", m.Version, m.SideOverR)
	case m.Threshold < 0 || m.Threshold >= 1:
		return fmt.Errorf("disc verifier %s: threshold %v, want 0 <= t < 1", m.Version, m.Threshold)
	}
	return nil
}

// Verifier runs the disc verifier: given a disc found in a photo, the
// probability that the square around it shows an optic disc rather than
// what the other two models can mistake for one (a round cluster of hard
// exudates, the fovea). Create one and share it: Probability is safe for
// concurrent use.
type Verifier struct {
	session
	model VerifyModel
}

// NewVerifier loads the model into an ONNX Runtime session.
func NewVerifier(rt *infer.Runtime, m VerifyModel) (*Verifier, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	s, err := m.open(rt, "disc verifier")
	if err != nil {
		return nil, err
	}
	return &Verifier{session: s, model: m}, nil
}

// Model describes the model in use.
func (v *Verifier) Model() VerifyModel { return v.model }

// Probability is the verifier's probability that the disc of the given
// radius (original pixels) centred on c is an optic disc: the square of
// side SideOverR x radius around c, cut from photo as the disc/cup crop is
// (bilinear, black beyond the photo).
func (v *Verifier) Probability(ctx context.Context, photo *image.NRGBA, c Point, radius float64) (float64, error) {
	if photo == nil || photo.Bounds().Empty() {
		return 0, errors.New("verify disc: no image")
	}
	if !(radius > 0) || math.IsInf(radius, 0) {
		return 0, fmt.Errorf("verify disc: radius %v", radius)
	}
	crop := cutOut(photo, CropAround(c, radius, v.model.SideOverR, v.model.Size))
	out, err := v.run.Run(ctx, infer.FOVStandardize(crop, v.model.FOVThreshold))
	if err != nil {
		return 0, fmt.Errorf("verify disc: %w", err)
	}
	if len(out.Data) != 1 {
		return 0, fmt.Errorf("verify disc: model output shape %v, want one logit", out.Shape)
	}
	return 1 / (1 + math.Exp(-float64(out.Data[0]))), nil
}
