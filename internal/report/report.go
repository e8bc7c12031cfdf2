package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// SchemaVersion is the version of the Report's JSON layout.
const SchemaVersion = "1.2.0"

// Report is everything one analysis of one photograph found.
type Report struct {
	SchemaVersion string        `json:"schema_version"`
	ID            string        `json:"id"` // first 16 hex digits of the image's SHA-256
	CreatedAt     time.Time     `json:"created_at"`
	Software      Software      `json:"software"`
	Models        []Model       `json:"models"`
	Image         Image         `json:"image"`
	FOV           FOV           `json:"fov"`
	Analysis      AnalysisFrame `json:"analysis_frame"`
	Calibration   Calibration   `json:"calibration"`
	Anatomy       *Anatomy      `json:"anatomy,omitempty"`
	Vessels       *Vessels      `json:"vessels,omitempty"`
	Timings       []Timing      `json:"timings"`
	Warnings      []string      `json:"warnings,omitempty"`
}

// Software names the program that wrote the report.
type Software struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	GoVersion   string `json:"go_version"`
	ONNXRuntime string `json:"onnxruntime,omitempty"`
}

// Model identifies a model that contributed to the report.
type Model struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Image describes the input file.
type Image struct {
	File   string `json:"file"`
	Format string `json:"format"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Point is a position in the original image, in pixels (x right, y down)
// and normalized to 0..1 by the image width and height.
type Point struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	XNorm float64 `json:"x_norm"`
	YNorm float64 `json:"y_norm"`
}

// NewPoint makes a Point from original-image pixels.
func NewPoint(x, y float64, width, height int) Point {
	return Point{X: Round(x, 2), Y: Round(y, 2), XNorm: Round(x/float64(width), 4), YNorm: Round(y/float64(height), 4)}
}

// FOV is the circular field of view.
type FOV struct {
	Center   Point   `json:"center"`
	RadiusPx float64 `json:"radius_px"`
	// Clipped lists the image sides that cut the circle ("top", "bottom", "left", "right").
	Clipped  []string `json:"clipped,omitempty"`
	Coverage float64  `json:"coverage"` // share of the circle inside the image, 0..1
	AreaPx   int      `json:"area_px"`  // pixels of the original image inside the FOV
}

// AnalysisFrame is the square image the models saw and how it maps back:
// original = analysis × ScalePx + Offset.
type AnalysisFrame struct {
	SizePx  int     `json:"size_px"`
	ScalePx float64 `json:"scale_px"` // original pixels per analysis pixel
	OffsetX float64 `json:"offset_x_px"`
	OffsetY float64 `json:"offset_y_px"`
}

// Calibration says how pixels become micrometres, and on what authority.
type Calibration struct {
	UmPerPx float64 `json:"um_per_px,omitempty"`
	// Source is "user" (--um-per-px), "fov_angle" (camera field of view),
	// "disc_diameter" (optic disc assumed 1.8 mm) or "uncalibrated".
	Source string `json:"source"`
	Note   string `json:"note,omitempty"`
}

// Anatomy is where the optic disc and the fovea are, and what follows.
type Anatomy struct {
	Model string   `json:"model"`
	Disc  Landmark `json:"disc"`
	Fovea Landmark `json:"fovea"`
	// Laterality is "right", "left" or "unknown" (disc and fovea not side
	// by side): in a photo of a right eye the disc lies right of the fovea.
	Laterality string `json:"laterality"`
	// Field is "disc-centred", "macula-centred" or "other".
	Field               string  `json:"field"`
	DiscFoveaDistancePx float64 `json:"disc_fovea_distance_px"`
}

// Landmark is a located point with the model's confidence (the heatmap's
// peak probability: it ranks results, it is not calibrated).
type Landmark struct {
	Center     Point   `json:"center"`
	Confidence float64 `json:"confidence"`
}

// Vessels is the vessel segmentation result, in original-image pixels.
type Vessels struct {
	Model       string  `json:"model"`
	Threshold   float64 `json:"threshold"`
	VesselPx    int     `json:"vessel_px"` // vessel pixels inside the FOV
	FOVPx       int     `json:"fov_px"`
	DensityFOV  float64 `json:"density_fov"`   // vessel_px / fov_px (unitless, 0..1)
	MeanProbFOV float64 `json:"mean_prob_fov"` // mean vessel probability over the FOV
	Resolution  string  `json:"resolution"`    // "original": counts are at the original resolution
	// Measures are the vascular biomarkers of the whole vessel tree.
	Measures *VesselMeasures `json:"measures,omitempty"`
}

// VesselMeasures are whole-tree vascular biomarkers. They are measured on
// the analysis frame (the same square size for every photo, so fractal
// dimension and counts are comparable across cameras); lengths and widths
// are converted to original-image pixels, and to micrometres when the
// report is calibrated.
type VesselMeasures struct {
	MeasuredAt               string  `json:"measured_at"` // "analysis_frame"
	FractalDimensionMask     float64 `json:"fractal_dimension_mask"`
	FractalDimensionSkeleton float64 `json:"fractal_dimension_skeleton"`
	DensityFrame             float64 `json:"density_frame"`
	AverageWidthPx           float64 `json:"average_width_px"`
	AverageWidthUm           float64 `json:"average_width_um,omitempty"`
	MedianSegmentWidthPx     float64 `json:"median_segment_width_px"`
	MedianSegmentWidthUm     float64 `json:"median_segment_width_um,omitempty"`
	DistanceTortuosity       float64 `json:"distance_tortuosity"`
	SquaredCurvatureTort     float64 `json:"squared_curvature_tortuosity_per_px2"`
	TortuosityDensity        float64 `json:"tortuosity_density_per_px"`
	MeanBranchingAngleDeg    float64 `json:"mean_branching_angle_deg"`
	SegmentCount             int     `json:"segment_count"`
	BranchPoints             int     `json:"branch_point_count"`
	EndPoints                int     `json:"end_point_count"`
	CentrelineLengthPx       float64 `json:"centreline_length_px"`
	CentrelineLengthUm       float64 `json:"centreline_length_um,omitempty"`
}

// Timing is the wall time of one stage.
type Timing struct {
	Stage string  `json:"stage"`
	Ms    float64 `json:"ms"`
}

// Encode writes the report as indented JSON.
func (r *Report) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// Decode reads a report and checks that its major schema version is one
// this package understands.
func Decode(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	if major(r.SchemaVersion) != major(SchemaVersion) {
		return nil, fmt.Errorf("decode report: schema version %q is not compatible with %s", r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}

func major(v string) string {
	for i, c := range v {
		if c == '.' {
			return v[:i]
		}
	}
	return v
}

// Round rounds x to n decimals; reports carry no false precision.
func Round(x float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}
