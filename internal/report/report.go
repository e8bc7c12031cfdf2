package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// SchemaVersion is the version of the Report's JSON layout.
const SchemaVersion = "1.8.0"

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
	// Quality is the quality and modality gate's verdict (absent in
	// reports written before schema 1.6.0).
	Quality *Quality `json:"quality,omitempty"`
	Anatomy *Anatomy `json:"anatomy,omitempty"`
	Disc    *Disc    `json:"disc,omitempty"`
	Vessels *Vessels `json:"vessels,omitempty"`
	Lesions *Lesions `json:"lesions,omitempty"`
	// Diagnoses are the disease judgements drawn from the other sections
	// and an image classifier (absent before schema 1.7.0).
	Diagnoses *Diagnoses `json:"diagnoses,omitempty"`
	// NotAssessed lists the sections an analysis deliberately left out
	// (an opt-in stage not requested), so a reader can tell "not looked
	// for" from "looked for and found nothing".
	NotAssessed []NotAssessed `json:"not_assessed,omitempty"`
	Timings     []Timing      `json:"timings"`
	Warnings    []string      `json:"warnings,omitempty"`
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

// Quality is the quality and modality gate's verdict on the photo
// (internal/quality, docs/quality.md): is it a colour fundus photograph at
// all, and is it good enough to analyse.
type Quality struct {
	// Gate is "on" when a photo that is not a colour fundus photograph
	// is refused, "off" when the analysis was told to go on regardless.
	Gate     string          `json:"gate"`
	Modality QualityModality `json:"modality"`
	// Grade is "good", "usable" or "reject" (EyeQ's three grades).
	Grade         string               `json:"grade"`
	Probabilities QualityProbabilities `json:"probabilities"`
	RejectScore   float64              `json:"reject_score"`
	// Reasons say why the grade is not good; empty when it is.
	Reasons  []string           `json:"reasons,omitempty"`
	Criteria []QualityCriterion `json:"criteria"`
}

// QualityModality says whether the image is a colour fundus photograph.
type QualityModality struct {
	IsFundus bool               `json:"is_fundus"`
	Score    float64            `json:"score"` // 0..1, >= 0.5 exactly when is_fundus
	Reasons  []string           `json:"reasons,omitempty"`
	Criteria []QualityCriterion `json:"criteria"`
}

// QualityProbabilities are the calibrated grade model's probabilities,
// before the criteria's hard limits and the modality check.
type QualityProbabilities struct {
	Good   float64 `json:"good"`
	Usable float64 `json:"usable"`
	Reject float64 `json:"reject"`
}

// QualityCriterion is one measured property with its limits. Value and
// the limits are null when not measured or not set.
type QualityCriterion struct {
	Name           string   `json:"name"`
	Value          *float64 `json:"value"`
	HigherIsBetter bool     `json:"higher_is_better"`
	UsableLimit    *float64 `json:"usable_limit"`
	RejectLimit    *float64 `json:"reject_limit"`
	// Grade is what this criterion alone allows.
	Grade   string `json:"grade"`
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
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

// Disc is the optic disc and cup segmentation around the located disc
// centre. When Found is false, Reason says why and only Model, Confidence
// and Crop are set: no measure of a doubtful disc is reported.
type Disc struct {
	Model string `json:"model"`
	Found bool   `json:"found"`
	// Reason says why the disc was not found (empty when it was).
	Reason string `json:"reason,omitempty"`
	// Confidence is the mean disc probability over the disc found (0..1;
	// ranks results, not calibrated).
	Confidence float64 `json:"confidence"`
	// Verification is the disc verifier's probability (0..1) that what
	// was found is an optic disc; absent when the verifier did not run
	// (a disc that failed an earlier check).
	Verification *float64 `json:"verification,omitempty"`
	Crop         DiscCrop `json:"crop"`
	// Center is the disc's centroid, RadiusPx a quarter of height + width.
	Center   *Point  `json:"center,omitempty"`
	RadiusPx float64 `json:"radius_px,omitempty"`
	HeightPx int     `json:"height_px,omitempty"`
	WidthPx  int     `json:"width_px,omitempty"`
	AreaPx   int     `json:"area_px,omitempty"`
	// HeightUm, WidthUm and AreaMm2 are set when the calibration is the
	// user's or the camera angle's, not the disc's own diameter.
	HeightUm float64 `json:"height_um,omitempty"`
	WidthUm  float64 `json:"width_um,omitempty"`
	AreaMm2  float64 `json:"area_mm2,omitempty"`
	Cup      *Cup    `json:"cup,omitempty"`
	CDR      *CDR    `json:"cdr,omitempty"`
	Rim      *Rim    `json:"rim,omitempty"`
	Zones    *Zones  `json:"zones,omitempty"`
}

// DiscCrop is the square of the photo the disc/cup model saw.
type DiscCrop struct {
	Center Point `json:"center"` // the located disc centre (anatomy.disc.center)
	// RadiusEstimatePx is the disc radius the crop was sized for;
	// RadiusSource says where it came from ("fov_prior": a fixed share
	// of the FOV radius, as the model was trained).
	RadiusEstimatePx float64 `json:"radius_estimate_px"`
	RadiusSource     string  `json:"radius_source"`
	SidePx           float64 `json:"side_px"`
	InputPx          int     `json:"input_px"`
}

// Cup is the optic cup's size (all zero when the model found no cup).
type Cup struct {
	HeightPx   int     `json:"height_px"`
	WidthPx    int     `json:"width_px"`
	AreaPx     int     `json:"area_px"`
	HeightUm   float64 `json:"height_um,omitempty"`
	WidthUm    float64 `json:"width_um,omitempty"`
	AreaMm2    float64 `json:"area_mm2,omitempty"`
	Confidence float64 `json:"confidence"`
	// Box bounds the cup, [x_min, y_min, x_max, y_max] normalized to the
	// image (4 decimals); BoxPx the same in original pixels. Absent
	// without a cup.
	Box   *[4]float64 `json:"box,omitempty"`
	BoxPx *[4]float64 `json:"box_px,omitempty"`
}

// CDR holds the cup-to-disc ratios (unitless, 0..1).
type CDR struct {
	Vertical   float64 `json:"vertical"`
	Horizontal float64 `json:"horizontal"`
	Area       float64 `json:"area"`
}

// Rim is the neuroretinal rim width per ISNT sector, in original pixels.
type Rim struct {
	InferiorPx float64 `json:"inferior_px"`
	SuperiorPx float64 `json:"superior_px"`
	// NasalPx and TemporalPx are absent when the laterality is unknown.
	NasalPx    *float64 `json:"nasal_px,omitempty"`
	TemporalPx *float64 `json:"temporal_px,omitempty"`
	// NasalSide is the viewer's side that is nasal: "right", "left" or
	// "unknown".
	NasalSide string `json:"nasal_side"`
	// ISNT is "holds" (I >= S >= N >= T), "violated" or "unknown".
	ISNT           string   `json:"isnt"`
	ISNTViolations []string `json:"isnt_violations,omitempty"`
}

// Zones are the measurement rings around the disc.
type Zones struct {
	B Zone `json:"b"`
	C Zone `json:"c"`
}

// Zone is a ring around the disc centre, radii in original pixels.
type Zone struct {
	Center  Point   `json:"center"`
	InnerPx float64 `json:"inner_px"`
	OuterPx float64 `json:"outer_px"`
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
	// Artery and Vein are the same biomarkers of the artery and the vein
	// tree alone (absent when the A/V stage did not run).
	Artery *VesselMeasures `json:"artery,omitempty"`
	Vein   *VesselMeasures `json:"vein,omitempty"`
	// AV summarises the artery/vein labelling behind Artery and Vein.
	AV *AVLabels `json:"av,omitempty"`
	// Zones are the same biomarkers within zones B and C around the optic
	// disc (absent when the disc was not found).
	Zones []VesselZone `json:"zones,omitempty"`
	// Calibre is CRAE, CRVE and AVR around the optic disc, or why they
	// could not be computed (absent when the A/V stage did not run).
	Calibre *Calibre `json:"calibre,omitempty"`
}

// AVLabels summarises the artery/vein labelling: the A/V model's per-pixel
// classes of the vessel mask, made consistent segment by segment.
type AVLabels struct {
	Model   string `json:"model"`    // name@version
	InputPx int    `json:"input_px"` // side of the square the A/V model saw
	// Segment counts of the whole tree's centreline graph by label.
	ArterySegments     int `json:"artery_segment_count"`
	VeinSegments       int `json:"vein_segment_count"`
	UnlabelledSegments int `json:"unlabelled_segment_count"`
	// LabelledLengthFraction is the share of the centreline length in
	// segments labelled artery or vein (0..1).
	LabelledLengthFraction float64 `json:"labelled_length_fraction"`
	// MeanConfidence is the length-weighted mean of the labelled segments'
	// vote shares (0.5..1).
	MeanConfidence float64 `json:"mean_label_confidence"`
	// ArteryPx and VeinPx are the vessel pixels of each tree inside the
	// FOV at the original resolution (a crossing counts in both).
	ArteryPx int `json:"artery_px"`
	VeinPx   int `json:"vein_px"`
}

// Calibre is the summary vessel calibres around the optic disc: CRAE
// (central retinal arteriolar equivalent), CRVE (venular) and their ratio
// AVR, from the vessels crossing zone B. When Computed is false, Absent
// says why and nothing else is set.
type Calibre struct {
	Computed bool   `json:"computed"`
	Absent   string `json:"absent,omitempty"`
	// Zone is the ring the vessels were measured in (zone B), in original
	// pixels.
	Zone *Zone `json:"zone,omitempty"`
	// Calibration is the one the µm values use (the report's).
	Calibration *Calibration `json:"calibration,omitempty"`
	// SixWidest uses the six widest arterioles and venules measured along
	// their stretch inside the zone; MultiCircle is the median over
	// Circles concentric circles across the zone.
	SixWidest   *CalibreEstimate `json:"six_widest,omitempty"`
	MultiCircle *CalibreEstimate `json:"multi_circle,omitempty"`
	Circles     int              `json:"circles,omitempty"`
}

// CalibreEstimate is CRAE/CRVE/AVR by one method, with both formulas.
type CalibreEstimate struct {
	// ArteriesFound and VeinsFound are the vessels measured (for the
	// multi-circle method, the median per circle); ArteriesUsed and
	// VeinsUsed those that entered the formulas (at most six; for the
	// multi-circle method, the fewest on any circle).
	ArteriesFound int      `json:"arteries_found"`
	VeinsFound    int      `json:"veins_found"`
	ArteriesUsed  int      `json:"arteries_used"`
	VeinsUsed     int      `json:"veins_used"`
	Knudtson      Knudtson `json:"knudtson"`
	Hubbard       Hubbard  `json:"hubbard"`
	Warnings      []string `json:"warnings,omitempty"`
}

// Knudtson is CRAE, CRVE and AVR by the Knudtson 2003 formulas, linear in
// the widths: in pixels, and in µm when calibrated. A value that could not
// be computed is absent and Absent says why.
type Knudtson struct {
	CRAEPx *float64 `json:"crae_px,omitempty"`
	CRVEPx *float64 `json:"crve_px,omitempty"`
	CRAEUm *float64 `json:"crae_um,omitempty"`
	CRVEUm *float64 `json:"crve_um,omitempty"`
	AVR    *float64 `json:"avr,omitempty"`
	Absent string   `json:"absent,omitempty"`
}

// Hubbard is CRAE, CRVE and AVR by the Parr-Hubbard 1999 formulas, whose
// constants are in µm: computed only when calibrated.
type Hubbard struct {
	CRAEUm *float64 `json:"crae_um,omitempty"`
	CRVEUm *float64 `json:"crve_um,omitempty"`
	AVR    *float64 `json:"avr,omitempty"`
	Absent string   `json:"absent,omitempty"`
}

// VesselZone is the vascular biomarkers of the vessels inside one ring
// around the optic disc (and inside the FOV).
type VesselZone struct {
	Zone    string  `json:"zone"` // "B" or "C" (disc.zones)
	InnerPx float64 `json:"inner_px"`
	OuterPx float64 `json:"outer_px"`
	// Density is vessel pixels over the zone's pixels inside the FOV, on
	// the analysis frame (unitless, 0..1).
	Density  float64         `json:"density"`
	Measures *VesselMeasures `json:"measures"`
	// Artery and Vein are the measures of each tree inside the zone.
	Artery *VesselMeasures `json:"artery,omitempty"`
	Vein   *VesselMeasures `json:"vein,omitempty"`
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

// NotAssessed names a section the analysis did not produce, and why.
type NotAssessed struct {
	Section string `json:"section"` // e.g. "lesions"
	Reason  string `json:"reason"`
}

// Lesions is the experimental diabetic-retinopathy lesion stage: objects
// and boxes of microaneurysms (MA), haemorrhages (HE), hard exudates (EX)
// and soft exudates (SE), in original-image pixels. Caveat says, in words,
// how far the findings can be trusted.
type Lesions struct {
	Model        string `json:"model"` // name@version
	Experimental bool   `json:"experimental"`
	Caveat       string `json:"caveat"`
	// GridScalePx is original pixels per pixel of the working grid the
	// model ran on; GridWidthPx and GridHeightPx are the grid's size.
	GridScalePx  float64 `json:"grid_scale_px"`
	GridWidthPx  int     `json:"grid_width_px"`
	GridHeightPx int     `json:"grid_height_px"`
	// QuadrantBasis is how quadrants were assigned: "disc_fovea_axis",
	// "laterality" or "none" (every quadrant unknown).
	QuadrantBasis string `json:"quadrant_basis"`
	// DiscDiameterPx is the disc diameter distances are measured in (0:
	// the disc was not found, and no distance is given).
	DiscDiameterPx float64 `json:"disc_diameter_px,omitempty"`
	// MaxObjectsPerType caps each type's Objects list.
	MaxObjectsPerType int          `json:"max_objects_per_type"`
	MaxBoxesPerType   int          `json:"max_boxes_per_type"`
	Types             []LesionType `json:"types"`
	Notes             []string     `json:"notes,omitempty"`
}

// Diagnoses holds every disease judgement with its evidence. Each source
// of evidence is optional; Sources says which ones were used.
type Diagnoses struct {
	Model string `json:"model,omitempty"` // name@version of the classifier, when one ran
	// Sources lists the evidence used: "classifier", "lesions", "disc_cup",
	// "quality", "vessels".
	Sources []string `json:"sources"`
	// Findings in a fixed order: "dr", "dme", "glaucoma", "cataract",
	// "abnormal". A finding that could not be judged is absent and listed
	// in NotJudged with the reason.
	Findings  []Diagnosis   `json:"findings"`
	NotJudged []NotAssessed `json:"not_judged,omitempty"`
	Caveat    string        `json:"caveat"` // "not a diagnosis" wording
}

// Diagnosis is one disease judgement.
type Diagnosis struct {
	Key  string `json:"key"`  // "dr", "dme", "glaucoma", "cataract", "abnormal"
	Name string `json:"name"` // e.g. "diabetic retinopathy"
	// Grade is the most probable grade on Scale on the side of Threshold
	// the decision fell, so it never contradicts Positive (ICDR 0-4 for "dr", IDRiD
	// 0-2 for "dme", 0/1 for the binary ones); Label names it.
	Grade int    `json:"grade"`
	Label string `json:"label"` // e.g. "moderate NPDR", "suspect", "absent"
	Scale string `json:"scale"` // e.g. "ICDR 0-4"
	// Probabilities per grade, summing to 1 (two entries for binary ones).
	Probabilities []float64 `json:"probabilities"`
	// Probability is the probability of the positive finding: referable
	// DR (grade >= 2) for "dr", any DME risk for "dme", the disease for
	// the binary ones.
	Probability float64 `json:"probability"`
	Positive    bool    `json:"positive"`  // Probability >= Threshold
	Threshold   float64 `json:"threshold"` // chosen on training folds
	// Evidence are short, checkable statements with their numbers.
	Evidence []Evidence `json:"evidence"`
}

// Evidence is one fact a diagnosis rests on.
type Evidence struct {
	Source string   `json:"source"` // one of Diagnoses.Sources
	Text   string   `json:"text"`   // e.g. "3 haemorrhages in the inferior temporal quadrant"
	Value  *float64 `json:"value,omitempty"`
	Unit   string   `json:"unit,omitempty"`
}

// LesionType is one lesion type's findings.
type LesionType struct {
	Type      string  `json:"type"` // "MA", "HE", "EX" or "SE"
	Name      string  `json:"name"` // e.g. "hard exudates"
	Threshold float64 `json:"threshold"`
	// CVAUPR, CVObjectSensitivity and CVFalseObjectsPerImage are the
	// model's cross-validated figures for this type (absent when the
	// model records none).
	CVAUPR                 *float64 `json:"cv_aupr,omitempty"`
	CVObjectSensitivity    *float64 `json:"cv_object_sensitivity,omitempty"`
	CVFalseObjectsPerImage *float64 `json:"cv_false_objects_per_image,omitempty"`
	// Detected is false when the model cannot detect this type at all
	// (cross-validated AUPR below 0.02): its count means nothing.
	Detected bool    `json:"detected_by_model"`
	Count    int     `json:"count"`
	AreaPx   float64 `json:"area_px"`
	AreaUm2  float64 `json:"area_um2,omitempty"`
	// MinFoveaDistanceDD is the smallest object distance from the fovea,
	// disc diameters.
	MinFoveaDistanceDD *float64       `json:"min_fovea_distance_dd,omitempty"`
	Quadrants          QuadrantCounts `json:"quadrants"`
	Boxes              []LesionBox    `json:"boxes"`
	// Objects are the largest objects (by probability mass), at most
	// Lesions.MaxObjectsPerType; ObjectsOmitted counts the rest.
	Objects        []LesionObject `json:"objects"`
	ObjectsOmitted int            `json:"objects_omitted,omitempty"`
}

// QuadrantCounts are object counts per retinal quadrant.
type QuadrantCounts struct {
	SuperiorTemporal int `json:"superior_temporal"`
	SuperiorNasal    int `json:"superior_nasal"`
	InferiorTemporal int `json:"inferior_temporal"`
	InferiorNasal    int `json:"inferior_nasal"`
	Unknown          int `json:"unknown"`
}

// LesionBox is one of RetinalGPT's lesion boxes.
type LesionBox struct {
	Box             [4]float64 `json:"box"`    // [x_min, y_min, x_max, y_max] normalized, 4 decimals
	BoxPx           [4]float64 `json:"box_px"` // the same in original pixels
	AreaPx          float64    `json:"area_px"`
	Objects         int        `json:"objects"`
	MeanProbability float64    `json:"mean_probability"`
	MaxProbability  float64    `json:"max_probability"`
}

// LesionObject is one connected lesion.
type LesionObject struct {
	AreaPx          float64    `json:"area_px"`
	AreaUm2         float64    `json:"area_um2,omitempty"`
	Centroid        Point      `json:"centroid"`
	Box             [4]float64 `json:"box"`
	BoxPx           [4]float64 `json:"box_px"`
	MeanProbability float64    `json:"mean_probability"`
	MaxProbability  float64    `json:"max_probability"`
	FoveaDistanceDD *float64   `json:"fovea_distance_dd,omitempty"`
	DiscDistanceDD  *float64   `json:"disc_distance_dd,omitempty"`
	Quadrant        string     `json:"quadrant"`
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
