package disc

import (
	"encoding/json"
	"fmt"

	"github.com/retinalgpt/retinalgpt/internal/infer"
)

// graph is what the sidecar JSON of each of this package's three models
// (locator, disc/cup, verifier) says about its ONNX graph and the input it
// takes; each model type embeds it and adds its own fields.
type graph struct {
	ONNX          []byte `json:"-"`
	Name          string `json:"name"`
	Version       string `json:"version"`
	Input         string `json:"input"`         // ONNX input name
	Output        string `json:"output"`        // ONNX output name
	Normalization string `json:"normalization"` // must be "fov_standardize"
	ColorChannels string `json:"channels"`      // must be "RGB"
	FOVThreshold  int    `json:"fov_threshold"`
}

// parseSidecar decodes meta into m, a model type embedding g, attaches
// the graph and checks that this package knows how to feed the model. what
// names the model in errors ("disc model").
func parseSidecar(what string, onnx, meta []byte, m interface{ validate() error }, g *graph) error {
	if err := json.Unmarshal(meta, m); err != nil {
		return fmt.Errorf("%s: metadata: %w", what, err)
	}
	g.ONNX = onnx
	return m.validate()
}

// check is what every model must satisfy for this package to feed it.
func (g graph) check(what string) error {
	switch {
	case len(g.ONNX) == 0:
		return fmt.Errorf("%s %s: empty ONNX graph", what, g.Version)
	case g.Normalization != "fov_standardize" || g.ColorChannels != "RGB":
		return fmt.Errorf("%s %s: unsupported input %s/%s", what, g.Version, g.ColorChannels, g.Normalization)
	case g.Input == "" || g.Output == "":
		return fmt.Errorf("%s %s: missing input or output name", what, g.Version)
	case g.FOVThreshold < 0 || g.FOVThreshold > 254:
		return fmt.Errorf("%s %s: fov_threshold %d out of 0..254", what, g.Version, g.FOVThreshold)
	}
	return nil
}

// open loads the graph into an ONNX Runtime session.
func (g graph) open(rt *infer.Runtime, what string) (session, error) {
	s, err := rt.NewSession(infer.Model{Name: g.Name, ONNX: g.ONNX, Input: g.Input, Output: g.Output})
	if err != nil {
		return session{}, fmt.Errorf("%s %s: %w", what, g.Version, err)
	}
	return session{run: s}, nil
}

// session is how the Locator, Segmenter and Verifier hold their model: an
// ONNX Runtime session, or a test's runner.
type session struct{ run infer.Runner }

// Close releases the session.
func (s session) Close() error {
	if c, ok := s.run.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
