package assistant

import (
	"regexp"
	"sort"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
)

// This file is the registry: everything the built-in responder knows about
// the Report's content is a row here. To cover a new Report field, add a
// Measure (or a path to an existing one); the responder and the intent
// recognizer pick it up (its Phrases become recognizable words).

// Field is one value of a measure: an absolute Report path (or, in
// Measure.Set, a path relative to each vessel measure set), its unit, and
// a label. Fields that share a label are alternatives (the first present is
// quoted, the others follow in brackets: "68.3 µm (4.82 px)"); fields with
// different labels are components ("height 131 px, width 123 px").
type Field struct {
	Path  string
	Unit  string // "µm", "px", "°", "mm²", "1/px", "1/px²"; "" for unitless or text
	Label string
	// Optional fields are left out of the Report when empty (a list
	// with omitempty): absent means none, not unknown.
	Optional bool
}

// Scope is where a vascular measure is taken: the vessel tree ("all",
// "artery", "vein") and the zone ("whole", "B", "C").
type Scope struct{ Tree, Zone string }

// Measure is one thing the Report can say, and how to talk about it.
type Measure struct {
	Key     string
	Name    string
	Phrases []string      // how people name it (typos are handled by the recognizer)
	Intent  intent.Intent // the intent of a question about it
	// Fields per scope; a measure that is not split by tree or zone has
	// only whole (the zero Scope is normalized to {all, whole}).
	Fields map[Scope][]Field
	// Set fields are relative to every vessel measure set (vesselSets):
	// the measure exists for every tree and zone that the Report has.
	Set []Field
	// DefaultZone is the zone meant when none is said (CRAE: "B").
	DefaultZone string
	// Tree and Family pair measures that follow-ups switch between:
	// "and the veins?" after CRAE asks for the Family's vein member.
	Tree, Family string
	Confidence   []Field // confidences quoted with the value
	Unitless     bool    // say "(unitless)" after the value
	Explain      string  // what it is, in plain words
	Normal       string  // usual range where a published one exists
	Flag         *Flag   // a value worth a professional's look
	Summary      bool    // listed when its intent is asked about in general
	Where        string  // a Point path answering "where?"
}

// Flag marks a value that deserves a professional's review. It says so;
// it diagnoses nothing.
type Flag struct {
	Above, Below *float64 // on the first field
	Equals       string   // for text values
	Say          string
}

func f64(x float64) *float64 { return &x }

// vesselSets are the vascular measure sets of the Report, by scope (the
// artery and vein sets since schema 1.4.0).
var vesselSets = map[Scope]string{
	{"all", "whole"}:    "vessels.measures",
	{"all", "B"}:        "vessels.zones[zone=B].measures",
	{"all", "C"}:        "vessels.zones[zone=C].measures",
	{"artery", "whole"}: "vessels.artery",
	{"vein", "whole"}:   "vessels.vein",
	{"artery", "B"}:     "vessels.zones[zone=B].artery",
	{"vein", "B"}:       "vessels.zones[zone=B].vein",
	{"artery", "C"}:     "vessels.zones[zone=C].artery",
	{"vein", "C"}:       "vessels.zones[zone=C].vein",
}

// pending are Report sections this assistant expects from analysis stages
// that have not landed yet, and how to say so when a Report lacks them.
var pending = []struct{ Prefix, Say string }{}

// absence are the Report's own reasons for a missing section, checked in
// order: when Path is absent and the document matches When (a path that
// is false or absent: "!path"), the answer gives Say and the text at
// Detail.
var absence = []struct{ Prefix, When, Say, Detail string }{
	{"quality", "!quality", "this report was written before the analysis graded image quality (report schema 1.6.0 added it)", ""},
	{"diagnoses", "!diagnoses", "this report was written before the analysis judged diseases (report schema 1.7.0 added it)", ""},
	{"lesions", "!lesions", "lesions were not assessed for this photo", "not_assessed[section=lesions].reason"},
	{"vessels.artery", "!vessels.artery", "the artery/vein stage did not run for this photo", ""},
	{"vessels.vein", "!vessels.vein", "the artery/vein stage did not run for this photo", ""},
	{"vessels.av", "!vessels.av", "the artery/vein stage did not run for this photo", ""},
	{"vessels.calibre", "!vessels.calibre", "the artery/vein stage did not run for this photo, and calibres need it", ""},
	{"vessels.calibre", "!vessels.calibre.computed", "the calibres could not be computed", "vessels.calibre.absent"},
	{"vessels.zones", "!disc", "the optic disc stage did not run, so there are no zones around the disc", ""},
	{"vessels.zones", "!disc.found", "the optic disc was not found, so there are no zones around it", "disc.reason"},
	{"vessels.zones[zone=B].artery", "!vessels.artery", "the artery/vein stage did not run for this photo", ""},
	{"vessels.zones[zone=B].vein", "!vessels.vein", "the artery/vein stage did not run for this photo", ""},
	{"vessels.zones[zone=C].artery", "!vessels.artery", "the artery/vein stage did not run for this photo", ""},
	{"vessels.zones[zone=C].vein", "!vessels.vein", "the artery/vein stage did not run for this photo", ""},
	{"vessels.zones", "", "that zone lies outside the photo's field of view", ""},
	{"disc.", "!disc", "the optic disc and cup stage did not run", ""},
	{"disc.", "!disc.found", "the optic disc was not found", "disc.reason"},
	{"anatomy", "!anatomy", "the disc and fovea locator did not run", ""},
	{"vessels", "!vessels", "the vessel stage did not run", ""},
	{"calibration.um_per_px", "", "the photo is not calibrated", "calibration.note"},
}

var zoneWords = map[string]string{
	"B": "zone B (half to one disc diameter beyond the disc margin)",
	"C": "zone C (half to two disc diameters beyond the disc margin)",
}

// NotDiagnosis is the note every interpretation carries.
const NotDiagnosis = notDiagnosis

const notDiagnosis = "This is a measurement, not a diagnosis: RetinalGPT is a research tool, and an eye-care professional should interpret it."

// measures is the registry proper.
var measures = []Measure{
	// Image and its characteristics.
	{Key: "image_format", Name: "image", Intent: intent.Modality,
		Phrases: []string{"format", "what format", "file type", "jpg", "jpeg", "png", "tiff", "width and height", "height and width", "width of the image", "width of the picture", "width of the photo", "height of the image", "height of the picture", "height of the photo", "image width", "image height", "picture width", "picture height", "pixel dimensions", "image size in px", "image size in pixels", "file format", "image format", "image size", "how big is the image", "how large is the image", "image resolution", "resolution", "dimensions", "how many pixels", "image dimensions"},
		Fields:  map[Scope][]Field{{}: {{Path: "image.format"}, {Path: "image.width", Unit: "px", Label: "width"}, {Path: "image.height", Unit: "px", Label: "height"}}},
		Explain: "the file the analysis read: its decoder, width and height in pixels"},
	{Key: "calibration", Name: "calibration", Intent: intent.Modality,
		Phrases: []string{"how was the scale", "how is the scale", "where does the scale come from", "calibration source", "how was it calibrated", "how was the image calibrated", "um px", "um/px", "calibration", "calibrated", "pixel size", "size of a pixel", "pixel spacing", "micrometres per pixel", "micrometers per pixel", "microns per pixel", "um per px", "um per pixel", "scale", "pixel to micron", "real size", "millimetres", "micrometre", "micrometer", "micron"},
		Fields:  map[Scope][]Field{{}: {{Path: "calibration.um_per_px", Unit: "µm per pixel"}, {Path: "calibration.source", Label: "source"}, {Path: "calibration.note", Label: "note", Optional: true}}},
		Explain: "how pixels become micrometres: from the user's --um-per-px, the camera's field of view, or, as a fallback, by taking the optic disc as 1.8 mm across (the population mean; real discs range from about 1.5 to 2.2 mm)",
		Summary: true},
	{Key: "fov_coverage", Name: "field-of-view coverage", Intent: intent.Quality,
		Phrases: []string{"coverage", "fov coverage", "field of view coverage", "how much of the field of view", "cut off", "clipped", "cropped", "clipping", "field of view", "fov"},
		Fields:  map[Scope][]Field{{}: {{Path: "fov.coverage", Label: "share of the circle inside the photo"}, {Path: "fov.clipped", Label: "clipped at", Optional: true}}},
		Explain: "the camera's round aperture (the field of view) and how much of that circle lies inside the photo; many cameras crop its top and bottom",
		Summary: true, Where: "fov.center"},
	{Key: "warnings", Name: "warnings", Intent: intent.Quality,
		Phrases: []string{"warning", "warnings", "caveat", "caveats", "issues with the image", "anything i should know"},
		Fields:  map[Scope][]Field{{}: {{Path: "warnings", Optional: true}}},
		Explain: "notes the analysis left for the reader, such as little of the field of view inside the photo or the optic disc not found",
		Summary: true},
	{Key: "quality_grade", Name: "image quality grade", Intent: intent.Quality,
		Phrases: []string{"quality grade", "image grade", "gradable", "ungradable", "usable", "good enough", "retake"},
		Fields:  map[Scope][]Field{{}: {{Path: "quality.grade"}, {Path: "quality.reasons", Label: "because", Optional: true}}},
		Confidence: []Field{{Path: "quality.probabilities.good", Label: "P(good)"}, {Path: "quality.probabilities.usable", Label: "P(usable)"},
			{Path: "quality.probabilities.reject", Label: "P(reject)"}, {Path: "quality.reject_score", Label: "reject score"}},
		Explain: "the quality gate's three-level grade (EyeQ's): good (every structure gradable), usable (gradable with some loss: part blurred, uneven light, the disc not found) or reject (not gradable: retake the photo), from measured focus, exposure, haze, shadows and field coverage, with the reasons in words",
		Flag:    &Flag{Equals: "reject", Say: "the photo was graded reject (not gradable), so every measurement from it is doubtful: retake it if you can"},
		Summary: true},
	{Key: "fundus_check", Name: "modality check", Intent: intent.Modality,
		Phrases: []string{"modality check", "modality score", "is it a fundus photo", "really a fundus", "quality gate"},
		Fields: map[Scope][]Field{{}: {{Path: "quality.modality.is_fundus", Label: "colour fundus photograph"}, {Path: "quality.modality.score", Label: "modality score"},
			{Path: "quality.modality.reasons", Label: "because", Optional: true}, {Path: "quality.gate", Label: "gate"}}},
		Explain: "the gate's check that the image is a colour fundus photograph at all (a round bright field on a dark mask, retinal colours, photographic texture, a vessel network); an image that fails is refused before any model runs, unless the gate is turned off"},

	{Key: "confidences", Name: "model confidences", Intent: intent.Quality,
		Phrases: []string{"how sure are the model", "how sure is the model", "how confident are the model", "how confident is the model", "how certain are the model", "how certain is the model", "model confidence", "confidences", "how confident", "how sure are you", "how reliable", "reliability of the models", "locator confidence"},
		Fields: map[Scope][]Field{{}: {{Path: "anatomy.disc.confidence", Label: "disc locator"}, {Path: "anatomy.fovea.confidence", Label: "fovea locator"},
			{Path: "disc.confidence", Label: "disc segmentation"}, {Path: "disc.cup.confidence", Label: "cup segmentation"}, {Path: "vessels.mean_prob_fov", Label: "mean vessel probability"}}},
		Explain: "the models' own probabilities (0 to 1); they rank results (a low value means a hidden, absent or ambiguous structure) but are not calibrated chances of being right",
		Summary: true},

	// Landmarks.
	{Key: "laterality", Name: "eye (laterality)", Intent: intent.Anatomy,
		Phrases: []string{"laterality", "which eye", "left or right", "right or left", "left eye", "right eye", "what eye", "which side", "od or os", "os or od"},
		Fields:  map[Scope][]Field{{}: {{Path: "anatomy.laterality"}}},
		Explain: "whether the photo shows a right or a left eye, read from where the optic disc lies relative to the fovea (in a right eye the disc is to the viewer's right of the fovea); unknown when the two are not side by side",
		Summary: true},
	{Key: "field", Name: "photo's field (centring)", Intent: intent.Anatomy,
		Phrases: []string{"centred", "centered", "centring", "centering", "disc centred", "macula centred", "field type", "what is in the centre", "what is in the center"},
		Fields:  map[Scope][]Field{{}: {{Path: "anatomy.field"}}},
		Explain: "whether the photo is centred on the macula, on the optic disc, or elsewhere",
		Summary: true},
	{Key: "fovea_position", Name: "fovea", Intent: intent.Anatomy,
		Phrases: []string{"fovea coordinate", "macula coordinate", "foveal coordinate", "coordinates of the fovea", "coordinates of the macula", "location of the fovea", "location of the macula", "position of the fovea", "position of the macula", "fovea position", "fovea location", "foveal position", "fovea centre", "fovea center", "where is the fovea", "wheres the fovea", "where is the macula", "wheres the macula", "find the fovea", "locate the fovea", "find the macula", "locate the macula", "macula position", "macula location", "foveal", "macular"},
		Fields: map[Scope][]Field{{}: {{Path: "anatomy.fovea.center.x", Unit: "px", Label: "x"}, {Path: "anatomy.fovea.center.y", Unit: "px", Label: "y"},
			{Path: "anatomy.fovea.center.x_norm", Label: "normalized x"}, {Path: "anatomy.fovea.center.y_norm", Label: "normalized y"}}},
		Confidence: []Field{{Path: "anatomy.fovea.confidence", Label: "locator confidence"}},
		Explain:    "the centre of the macula, the small pit responsible for sharp central vision; positions are in pixels of the original photo (x to the right, y down) and normalized to 0..1",
		Summary:    true, Where: "anatomy.fovea.center"},
	{Key: "disc_fovea_distance", Name: "distance between the disc and the fovea", Intent: intent.Anatomy,
		Phrases: []string{"distance from optic disc to macula", "distance from the optic disc to the macula", "distance from optic disc to fovea", "distance from the optic disc to the fovea", "distance from disc to macula", "distance from the disc to the macula", "disc to macula", "macula to disc", "optic disc to macula", "optic disc to fovea", "disc macula distance", "distance between the disc and the macula", "distance between disc and macula", "distance between the optic disc and the macula", "how far is the disc from the fovea", "how far is the fovea from the disc", "how far apart are the disc and fovea", "distance from the fovea to the disc", "disc fovea distance", "distance between disc and fovea", "distance from disc to fovea", "disc to fovea", "fovea to disc", "how far is the fovea", "distance between the disc and the fovea", "distance between the disc and fovea", "distance between the optic disc and the fovea"},
		Fields:  map[Scope][]Field{{}: {{Path: "anatomy.disc_fovea_distance_px", Unit: "px"}}},
		Explain: "the distance between the centres of the optic disc and the fovea, in pixels of the original photo (typically about two and a half disc diameters)"},

	// Optic disc and cup.
	{Key: "disc_found", Name: "optic disc detection", Intent: intent.Disc,
		Phrases:    []string{"find the optic nerve", "found the optic nerve", "detect the optic nerve", "find the nerve head", "found the nerve head", "optic disc detected", "optic disc found", "disc found", "find the disc", "find the optic disc", "found the optic disc", "detect the optic disc", "found the disc", "detect the disc", "disc detected", "could you find the disc"},
		Fields:     map[Scope][]Field{{}: {{Path: "disc.found", Label: "found"}, {Path: "disc.reason", Label: "reason"}}},
		Confidence: []Field{{Path: "disc.confidence", Label: "mean disc probability"}, {Path: "disc.verification", Label: "disc verifier probability"}},
		Explain:    "whether an optic disc was found: the locator saw one, its segmentation passed the plausibility checks and the disc verifier took it for a disc (not, say, a ring of hard exudates); a doubtful disc is not measured"},
	{Key: "disc_position", Name: "optic disc position", Intent: intent.Disc,
		Phrases: []string{"location of the optic disc", "location of the disc", "position of the optic disc", "position of the disc", "optic disc location", "optic disc position", "disc coordinate", "optic disc coordinate", "coordinates of the disc", "disc position", "disc location", "disc centre", "disc center", "where is the disc", "where is the optic disc", "where is the optic nerve", "wheres the optic nerve", "wheres the optic disc", "wheres the disc"},
		Fields: map[Scope][]Field{{}: {{Path: "disc.center.x", Unit: "px", Label: "x"}, {Path: "anatomy.disc.center.x", Unit: "px", Label: "x"},
			{Path: "disc.center.y", Unit: "px", Label: "y"}, {Path: "anatomy.disc.center.y", Unit: "px", Label: "y"},
			{Path: "disc.center.x_norm", Label: "normalized x"}, {Path: "anatomy.disc.center.x_norm", Label: "normalized x"},
			{Path: "disc.center.y_norm", Label: "normalized y"}, {Path: "anatomy.disc.center.y_norm", Label: "normalized y"}}},
		Confidence: []Field{{Path: "anatomy.disc.confidence", Label: "locator confidence"}},
		Explain:    "where the optic disc (the optic nerve head, where vessels and nerve fibres leave the eye) lies in the photo",
		Where:      "disc.center"},
	{Key: "disc_size", Name: "optic disc size", Intent: intent.Disc,
		Phrases: []string{"optic disc area", "optic disk area", "area of the optic disc", "area of the disc", "how tall is the disc", "how tall is the optic disc", "how wide is the disc", "how wide is the optic disc", "optic disc height", "optic disc width", "how large is the optic nerve head", "how big is the optic nerve head", "how large is the nerve head", "how big is the nerve head", "how large is the disc", "optic nerve head diameter", "disc size", "size of the disc", "disc diameter", "how big is the optic disc", "how large is the optic disc", "optic disc size", "optic disk size", "size of the optic disc", "disk diameter", "optic disc diameter", "disc height", "disc width", "disc area", "how big is the disc", "disk size", "large disc", "small disc", "disc dimensions", "size of the optic nerve head", "size of the nerve head", "optic nerve head size"},
		Fields: map[Scope][]Field{{}: {{Path: "disc.height_um", Unit: "µm", Label: "height"}, {Path: "disc.height_px", Unit: "px", Label: "height"},
			{Path: "disc.width_um", Unit: "µm", Label: "width"}, {Path: "disc.width_px", Unit: "px", Label: "width"},
			{Path: "disc.area_mm2", Unit: "mm²", Label: "area"}, {Path: "disc.area_px", Unit: "px", Label: "area"},
			{Path: "disc.radius_px", Unit: "px", Label: "radius"}}},
		Confidence: []Field{{Path: "disc.confidence", Label: "mean disc probability"}},
		Explain:    "the extent of the segmented optic disc: height and width (rows and columns it spans) and area; in micrometres only when the calibration is not the disc's own assumed size",
		Summary:    true, Where: "disc.center"},
	{Key: "cup_size", Name: "optic cup size", Intent: intent.Disc,
		Phrases: []string{"cup size", "size of the cup", "cup height", "cup width", "cup area", "how big is the cup", "optic cup"},
		Fields: map[Scope][]Field{{}: {{Path: "disc.cup.height_um", Unit: "µm", Label: "height"}, {Path: "disc.cup.height_px", Unit: "px", Label: "height"},
			{Path: "disc.cup.width_um", Unit: "µm", Label: "width"}, {Path: "disc.cup.width_px", Unit: "px", Label: "width"},
			{Path: "disc.cup.area_mm2", Unit: "mm²", Label: "area"}, {Path: "disc.cup.area_px", Unit: "px", Label: "area"}}},
		Confidence: []Field{{Path: "disc.cup.confidence", Label: "mean cup probability"}},
		Explain:    "the optic cup is the pale central depression of the optic disc; its size relative to the disc is the cup-to-disc ratio"},
	{Key: "cdr_vertical", Name: "vertical cup-to-disc ratio", Intent: intent.Disc, Unitless: true,
		Phrases:    []string{"cup to disc ratio", "cup disc ratio", "cup to disk ratio", "cup disk ratio", "cup to disc", "cup disc", "cdr", "c d r", "c d ratio", "cd ratio", "vertical cdr", "vertical cup to disc ratio", "vcdr", "cupping", "cup ratio", "c/d", "cup compared to the disc", "cup relative to the disc", "cup versus disc", "cup vs disc"},
		Fields:     map[Scope][]Field{{}: {{Path: "disc.cdr.vertical"}}},
		Confidence: []Field{{Path: "disc.confidence", Label: "mean disc probability"}, {Path: "disc.cup.confidence", Label: "mean cup probability"}},
		Explain:    "the optic cup's height divided by the optic disc's height; a larger cup relative to the disc can be a sign of glaucomatous nerve damage",
		Normal:     "a vertical CDR of 0.5 or less is usual and above 0.7 is rare in normal eyes; the normal limit grows with disc size (its 97.5th percentile is about 0.6 for small and 0.75 for large discs)",
		Flag:       &Flag{Above: f64(0.7), Say: "the vertical cup-to-disc ratio is above 0.7, which is rare in normal eyes"},
		Summary:    true, Where: "disc.center"},
	{Key: "cdr_horizontal", Name: "horizontal cup-to-disc ratio", Intent: intent.Disc, Unitless: true,
		Phrases: []string{"horizontal cdr", "horizontal cup to disc ratio", "horizontal cup disc ratio", "horizontal ratio"},
		Fields:  map[Scope][]Field{{}: {{Path: "disc.cdr.horizontal"}}},
		Explain: "the optic cup's width divided by the optic disc's width"},
	{Key: "cdr_area", Name: "cup-to-disc area ratio", Intent: intent.Disc, Unitless: true,
		Phrases: []string{"cup area to disc area ratio", "cup area to disc area", "cup area over disc area", "ratio of cup area to disc area", "area cdr", "cup to disc area ratio", "area ratio", "cup disc area ratio", "cup area ratio"},
		Fields:  map[Scope][]Field{{}: {{Path: "disc.cdr.area"}}},
		Explain: "the optic cup's area divided by the optic disc's area"},
	{Key: "rim", Name: "neuroretinal rim width", Intent: intent.Disc,
		Phrases: []string{"rim", "rim width", "neuroretinal rim", "neuro retinal rim", "rim thickness", "rim widths"},
		Fields: map[Scope][]Field{{}: {{Path: "disc.rim.inferior_px", Unit: "px", Label: "inferior"}, {Path: "disc.rim.superior_px", Unit: "px", Label: "superior"},
			{Path: "disc.rim.nasal_px", Unit: "px", Label: "nasal"}, {Path: "disc.rim.temporal_px", Unit: "px", Label: "temporal"}}},
		Explain: "the neuroretinal rim is the tissue between the cup's edge and the disc's edge, made of nerve fibres; its width is measured in four 90° sectors (inferior, superior, nasal, temporal)"},
	{Key: "isnt", Name: "ISNT rule", Intent: intent.Disc,
		Phrases: []string{"isnt", "isnt rule", "i s n t", "inferior superior nasal temporal", "rim rule", "isn t rule", "ISNT pattern"},
		Fields:  map[Scope][]Field{{}: {{Path: "disc.rim.isnt"}, {Path: "disc.rim.isnt_violations", Label: "broken by", Optional: true}}},
		Explain: "in most healthy discs the rim is widest inferiorly, then superiorly, then nasally, then temporally (I ≥ S ≥ N ≥ T); a disc that breaks the rule can be a sign of rim loss, though many healthy discs break it too",
		Flag:    &Flag{Equals: "violated", Say: "the neuroretinal rim does not follow the ISNT rule"},
		Summary: true},

	// Vessels: every vessel measure set (whole tree, arteries, veins; whole photo, zones B and C).
	{Key: "vessel_density", Name: "vessel density", Intent: intent.Vessels, Unitless: true,
		Phrases: []string{"picture is blood vessel", "image is blood vessel", "photo is blood vessel", "picture is vessel", "image is vessel", "photo is vessel", "percentage of vessel", "proportion of vessel", "fraction of vessel", "percent vessel", "vessel density", "vascular density", "density", "dense", "density of vessels", "density of the vessels", "covered by vessels", "covered with vessels", "vessel coverage", "amount of vessels", "vessel area fraction", "vessel fraction", "how much vessel"},
		Fields: map[Scope][]Field{{"all", "whole"}: {{Path: "vessels.density_fov"}}, {"all", "B"}: {{Path: "vessels.zones[zone=B].density"}},
			{"all", "C"}: {{Path: "vessels.zones[zone=C].density"}}},
		// The artery and vein sets have only the frame density (AutoMorph's
		// denominator), so say so rather than mix it with the FOV density.
		Set:     []Field{{Path: "density_frame", Label: "over the whole square frame (AutoMorph's denominator)"}},
		Explain: "the share of the field of view (or of the zone) covered by vessels, from 0 to 1",
		Summary: true},
	{Key: "density_frame", Name: "AutoMorph-style vessel density (whole square frame)", Intent: intent.Vessels, Unitless: true,
		Phrases: []string{"automorph density", "frame density", "density frame", "vessel density frame", "automorph vessel density"},
		Set:     []Field{{Path: "density_frame"}},
		Explain: "vessel pixels over the whole square frame, black corners included, as AutoMorph's Vessel_density column computes it; the field-of-view density is the meaningful one"},
	{Key: "fractal_dimension", Name: "fractal dimension", Intent: intent.Vessels, Unitless: true,
		Phrases: []string{"fractal dimension", "fractal", "fd", "fractal dim", "complexity", "how complex", "branching complexity", "box counting", "box counting dimension"},
		Set:     []Field{{Path: "fractal_dimension_mask", Label: "on the mask (AutoMorph)"}, {Path: "fractal_dimension_skeleton", Label: "on the centrelines"}},
		Explain: "a number between 1 and 2 that says how completely the branching vessel pattern fills the image (box counting); lower values have been linked to age, hypertension and other systemic disease",
		Summary: true},
	{Key: "average_width", Name: "average vessel width", Intent: intent.Vessels,
		Phrases: []string{"average vessel calibre", "mean vessel calibre", "average vessel caliber", "mean vessel caliber", "average width", "mean width", "vessel width", "width", "wide", "how wide", "thickness", "thick", "how thick", "vessel diameter", "diameter of the vessels", "diameter", "mean diameter", "average diameter", "mean vessel width", "average vessel width", "vessel thickness", "vessel size"},
		Set:     []Field{{Path: "average_width_um", Unit: "µm"}, {Path: "average_width_px", Unit: "px"}},
		Explain: "the vessel area divided by the centreline length: a mean width of the vessels",
		Summary: true},
	{Key: "median_segment_width", Name: "median segment width", Intent: intent.Vessels,
		Phrases: []string{"median width", "median segment width", "segment width", "median vessel width", "profile width"},
		Set:     []Field{{Path: "median_segment_width_um", Unit: "µm"}, {Path: "median_segment_width_px", Unit: "px"}},
		Explain: "the median over vessel segments of each segment's median width, measured across the vessel (sub-pixel) where the vessel probability crosses 0.5"},
	{Key: "distance_tortuosity", Name: "distance tortuosity", Intent: intent.Vessels, Unitless: true,
		Phrases: []string{"tortuosity", "distance tortuosity", "tortuous", "twisty", "twisted", "twisting", "curvy", "wiggly", "winding", "how curved", "curliness", "straight", "straightness", "kinked", "kinky", "squiggly"},
		Set:     []Field{{Path: "distance_tortuosity"}},
		Explain: "how winding the vessels are: the mean over vessel segments of arc length divided by the straight-line distance between the segment's ends (1 is perfectly straight)",
		Normal:  "for comparison, on the manually traced vessels of the DRIVE set (40 photos) the median is 1.047, with half of the photos between 1.039 and 1.054; an automatic segmentation and another camera can shift it",
		Summary: true},
	{Key: "curvature_tortuosity", Name: "squared-curvature tortuosity", Intent: intent.Vessels,
		Phrases: []string{"curvature tortuosity", "squared curvature tortuosity", "squared curvature", "curvature"},
		Set:     []Field{{Path: "squared_curvature_tortuosity_per_px2", Unit: "1/px²"}},
		Explain: "the length-weighted mean over segments of the integral of squared curvature along the smoothed centreline, per unit length"},
	{Key: "tortuosity_density", Name: "tortuosity density", Intent: intent.Vessels,
		Phrases: []string{"tortuosity density", "grisan", "inflection", "inflections"},
		Set:     []Field{{Path: "tortuosity_density_per_px", Unit: "1/px"}},
		Explain: "Grisan's tortuosity density: each segment split at its inflection points, and how much the pieces bend, per unit length"},
	{Key: "branching_angle", Name: "mean branching angle", Intent: intent.Vessels,
		Phrases: []string{"branching angle", "branch angle", "bifurcation angle", "angle", "angles", "mean branching angle", "bifurcation"},
		Set:     []Field{{Path: "mean_branching_angle_deg", Unit: "°"}},
		Explain: "the mean angle between the two daughter vessels where a vessel splits in two"},
	{Key: "segment_count", Name: "number of vessel segments", Intent: intent.Vessels,
		Phrases: []string{"segment count", "number of segments", "how many segments", "segments", "vessel segments", "segment"},
		Set:     []Field{{Path: "segment_count"}},
		Explain: "the pieces of centreline between end points and branch points"},
	{Key: "branch_points", Name: "number of branch points", Intent: intent.Vessels,
		Phrases: []string{"vessel branching", "number of branching", "how many branching", "branch points", "branch point", "branch point count", "how many branches", "number of branches", "branches", "junctions", "number of bifurcations", "how many bifurcations", "forks", "branch", "how often do the vessels branch"},
		Set:     []Field{{Path: "branch_point_count"}},
		Explain: "places where the vessel centreline splits"},
	{Key: "end_points", Name: "number of end points", Intent: intent.Vessels,
		Phrases: []string{"end points", "end point", "endpoints", "vessel ends", "terminal points"},
		Set:     []Field{{Path: "end_point_count"}},
		Explain: "places where a vessel centreline ends (including where vessels leave the photo or fade out)"},
	{Key: "centreline_length", Name: "total vessel length", Intent: intent.Vessels,
		Phrases: []string{"how long is the vessel", "how long are the vessel", "how long is the vascular", "how long is the vessel network", "how long is the vessel tree", "how long is the vascular tree", "how long are the blood vessel", "length of the vessel network", "vessel network length", "centreline length", "centerline length", "vessel length", "total length", "length of the vessels", "how long are the vessels", "length", "total vessel length"},
		Set:     []Field{{Path: "centreline_length_um", Unit: "µm"}, {Path: "centreline_length_px", Unit: "px"}},
		Explain: "the total length of the smoothed vessel centrelines"},
	{Key: "vessel_probability", Name: "mean vessel probability", Intent: intent.Vessels, Unitless: true,
		Phrases: []string{"mean probability", "vessel probability", "probability map", "threshold", "segmentation threshold", "vessel pixels", "how many vessel pixels"},
		Fields: map[Scope][]Field{{}: {{Path: "vessels.mean_prob_fov", Label: "mean over the field of view"}, {Path: "vessels.threshold", Label: "threshold"},
			{Path: "vessels.vessel_px", Unit: "px", Label: "vessel pixels"}, {Path: "vessels.fov_px", Unit: "px", Label: "field-of-view pixels"}}},
		Explain: "the vessel model's probability per pixel, its mean over the field of view (a threshold-free companion of the density), and the fixed threshold that makes the vessel mask"},

	{Key: "av_labels", Name: "artery/vein labelling", Intent: intent.Vessels,
		Phrases: []string{"artery vein labelling", "artery vein labeling", "av labelling", "av labeling", "av classification", "artery vein classification", "how many arteries", "how many veins", "arteries and veins labelled", "labelled as arteries"},
		Fields: map[Scope][]Field{{}: {{Path: "vessels.av.artery_segment_count", Label: "artery segments"}, {Path: "vessels.av.vein_segment_count", Label: "vein segments"},
			{Path: "vessels.av.unlabelled_segment_count", Label: "unlabelled segments"}, {Path: "vessels.av.labelled_length_fraction", Label: "share of the centreline labelled"},
			{Path: "vessels.av.artery_px", Unit: "px", Label: "artery pixels"}, {Path: "vessels.av.vein_px", Unit: "px", Label: "vein pixels"}}},
		Confidence: []Field{{Path: "vessels.av.mean_label_confidence", Label: "mean label vote share"}},
		Explain:    "how the artery/vein model's pixel classes were turned into artery and vein trees, segment by segment (each segment takes the majority label of its pixels)"},
	{Key: "calibre_vessels", Name: "vessels behind CRAE and CRVE", Intent: intent.Calibre, DefaultZone: "B",
		Phrases: []string{"went into the calibre", "went into the caliber", "used for the calibre", "used for the caliber", "used in the calibre", "used in the caliber", "calibre calculation", "caliber calculation", "calibre computation", "how many arterioles", "how many venules", "vessels used", "how many vessels were used", "arteries used", "veins used", "six widest", "calibre warnings"},
		Fields: map[Scope][]Field{{"all", "B"}: {{Path: "vessels.calibre.six_widest.arteries_found", Label: "arterioles found"}, {Path: "vessels.calibre.six_widest.arteries_used", Label: "arterioles used"},
			{Path: "vessels.calibre.six_widest.veins_found", Label: "venules found"}, {Path: "vessels.calibre.six_widest.veins_used", Label: "venules used"},
			{Path: "vessels.calibre.six_widest.warnings", Label: "warnings", Optional: true},
			{Path: "vessels.calibre.multi_circle.arteries_found", Label: "multi-circle arterioles found", Optional: true}, {Path: "vessels.calibre.multi_circle.arteries_used", Label: "multi-circle arterioles used", Optional: true},
			{Path: "vessels.calibre.multi_circle.veins_found", Label: "multi-circle venules found", Optional: true}, {Path: "vessels.calibre.multi_circle.veins_used", Label: "multi-circle venules used", Optional: true}, {Path: "vessels.calibre.multi_circle.warnings", Label: "multi-circle warnings", Optional: true}}},
		Explain: "CRAE and CRVE combine the six widest arterioles and venules crossing zone B; with fewer the summary uses those found and says so"},

	// Calibre: CRAE, CRVE, AVR (zone B by default).
	{Key: "crae", Name: "CRAE (central retinal arteriolar equivalent)", Intent: intent.Calibre, DefaultZone: "B", Tree: "artery", Family: "calibre",
		Phrases: []string{"crae", "c r a e", "central retinal arteriolar equivalent", "central retinal artery equivalent", "arteriolar calibre", "arteriolar caliber", "arterial calibre", "arterial caliber", "artery calibre", "artery caliber", "arteriolar diameter"},
		Fields: map[Scope][]Field{
			{"all", "B"}: {{Path: "vessels.calibre.six_widest.knudtson.crae_um", Unit: "µm", Label: "Knudtson"}, {Path: "vessels.calibre.six_widest.knudtson.crae_px", Unit: "px", Label: "Knudtson"},
				{Path: "vessels.calibre.six_widest.hubbard.crae_um", Unit: "µm", Label: "Hubbard", Optional: true},
				{Path: "vessels.calibre.multi_circle.knudtson.crae_um", Unit: "µm", Label: "multi-circle Knudtson", Optional: true}, {Path: "vessels.calibre.multi_circle.knudtson.crae_px", Unit: "px", Label: "multi-circle Knudtson", Optional: true},
				{Path: "vessels.calibre.multi_circle.hubbard.crae_um", Unit: "µm", Label: "multi-circle Hubbard", Optional: true}}},
		Explain: "a summary of the width of the six widest arterioles crossing zone B, combined pairwise largest with smallest (Knudtson's or Hubbard's formulas); absolute values differ between tools by tens of micrometres, so the method is named",
		Summary: true},
	{Key: "crve", Name: "CRVE (central retinal venular equivalent)", Intent: intent.Calibre, DefaultZone: "B", Tree: "vein", Family: "calibre",
		Phrases: []string{"crve", "c r v e", "central retinal venular equivalent", "central retinal vein equivalent", "venular calibre", "venular caliber", "venous calibre", "venous caliber", "vein calibre", "vein caliber", "venular diameter"},
		Fields: map[Scope][]Field{
			{"all", "B"}: {{Path: "vessels.calibre.six_widest.knudtson.crve_um", Unit: "µm", Label: "Knudtson"}, {Path: "vessels.calibre.six_widest.knudtson.crve_px", Unit: "px", Label: "Knudtson"},
				{Path: "vessels.calibre.six_widest.hubbard.crve_um", Unit: "µm", Label: "Hubbard", Optional: true},
				{Path: "vessels.calibre.multi_circle.knudtson.crve_um", Unit: "µm", Label: "multi-circle Knudtson", Optional: true}, {Path: "vessels.calibre.multi_circle.knudtson.crve_px", Unit: "px", Label: "multi-circle Knudtson", Optional: true},
				{Path: "vessels.calibre.multi_circle.hubbard.crve_um", Unit: "µm", Label: "multi-circle Hubbard", Optional: true}}},
		Explain: "a summary of the width of the six widest venules crossing zone B, combined pairwise largest with smallest (Knudtson's or Hubbard's formulas)",
		Summary: true},
	{Key: "avr", Name: "arteriole-to-venule ratio (AVR)", Intent: intent.Calibre, DefaultZone: "B", Family: "calibre", Unitless: true,
		Phrases: []string{"avr", "a v r", "av ratio", "a v ratio", "arteriovenous ratio", "arterio venous ratio", "artery vein ratio", "artery to vein ratio", "arteriole to venule ratio", "arteriolar venular ratio", "ratio of arteries to veins", "a/v ratio"},
		Fields: map[Scope][]Field{
			{"all", "B"}: {{Path: "vessels.calibre.six_widest.knudtson.avr", Label: "Knudtson"}, {Path: "vessels.calibre.six_widest.hubbard.avr", Label: "Hubbard"},
				{Path: "vessels.calibre.multi_circle.knudtson.avr", Label: "multi-circle Knudtson", Optional: true}, {Path: "vessels.calibre.multi_circle.hubbard.avr", Label: "multi-circle Hubbard", Optional: true}}},
		Explain: "CRAE divided by CRVE; arteriolar narrowing (a low AVR) is the first sign of hypertensive retinopathy in the Keith-Wagener-Barker scale",
		Summary: true},
}

// Term is a word that can be explained but is not itself a value.
type Term struct {
	Key     string
	Name    string
	Phrases []string
	Intent  intent.Intent // of a question that names it without asking what it means
	Explain string
	See     string // a measure key whose value illustrates it
}

var terms = []Term{
	{Key: "fundus_photo", Name: "colour fundus photograph", Intent: intent.Modality, Phrases: []string{"fundus", "fundus photo", "fundus photograph", "fundus image", "fundus photography", "fundoscopy", "funduscopy", "retinal photo", "retinal photograph"},
		Explain: "a colour photograph of the back of the eye (the retina, optic disc, macula and vessels), taken through the pupil with a fundus camera"},
	{Key: "optic_disc", Name: "optic disc", Intent: intent.Disc, Phrases: []string{"optic disc", "optic disk", "optic nerve head", "onh", "papilla", "blind spot"},
		Explain: "the round, pale spot where the optic nerve and the retinal vessels leave the eye; it has no photoreceptors (the blind spot)", See: "disc_size"},
	{Key: "zone_b", Name: "zone B", Intent: intent.FollowUp, Phrases: []string{"zone b"},
		Explain: "the ring from 2 to 3 disc radii around the disc centre, i.e. half to one disc diameter beyond the disc margin: the standard place to measure CRAE and CRVE (Knudtson 2003)"},
	{Key: "zone_c", Name: "zone C", Intent: intent.FollowUp, Phrases: []string{"zone c"},
		Explain: "the ring from 2 to 5 disc radii around the disc centre, half to two disc diameters beyond the disc margin (used by SIVA and VAMPIRE)"},
	{Key: "artery", Name: "arteries (arterioles)", Intent: intent.FollowUp, Phrases: []string{"arteriole"},
		Explain: "retinal arterioles carry oxygenated blood from the central retinal artery into the retina; in photos they are lighter red and narrower than the veins"},
	{Key: "vein", Name: "veins (venules)", Intent: intent.FollowUp, Phrases: []string{"venule"},
		Explain: "retinal venules carry blood back to the central retinal vein; in photos they are darker and wider than the arteries"},
	{Key: "fovea", Name: "fovea", Intent: intent.Anatomy, Phrases: []string{"fovea", "macula", "centre of vision", "center of vision"},
		Explain: "the centre of the macula, a small pit at the centre of the retina that gives sharp central vision", See: "fovea_position"},
	{Key: "segmentation", Name: "segmentation", Intent: intent.Overview, Phrases: []string{"segmentation", "segmented", "vessel mask", "mask"},
		Explain: "a model's pixel-by-pixel map of a structure (vessels, disc, cup); the measures are computed on these maps"},
	{Key: "centreline", Name: "centreline", Intent: intent.Vessels, Phrases: []string{"centreline", "centerline", "skeleton", "skeletonization"},
		Explain: "the one-pixel-wide line along the middle of each vessel, from which lengths, branch points and tortuosity are measured"},
	{Key: "confidence", Name: "confidence", Intent: intent.Quality, Phrases: []string{"confidence", "confident", "how sure", "certainty", "uncertainty", "how certain", "how accurate", "accuracy", "reliability", "error bars", "margin of error"},
		Explain: "the models' probabilities (for example the mean disc probability over the disc found); they rank results but are not calibrated probabilities of being right"},
}

// Lesion is a lesion type the assistant can be asked about. Code is its
// type in the Report's lesion section ("" for one the lesion stage does
// not look for).
type Lesion struct {
	Key, Name, Plural string
	Code              string
	Phrases           []string
	Explain           string
}

// The Report's lesion section (schema 1.5.0, present only when the
// experimental lesion stage ran; otherwise not_assessed says why). Per type
// the entry is lesionTypePath(code); the lesionTypeFields are relative to
// it, lesionObjectFields to one of its objects ("objects[N]") and
// lesionBoxFields to one of its boxes ("boxes[N]").
const (
	lesionsPath      = "lesions"
	lesionCaveatPath = "lesions.caveat"
	lesionExperPath  = "lesions.experimental"
)

func lesionTypePath(code string) string { return "lesions.types[type=" + code + "]" }

var (
	lesionTypeFields = []string{"type", "name", "count", "detected_by_model", "cv_aupr", "min_fovea_distance_dd", "objects_omitted",
		"quadrants.superior_temporal", "quadrants.superior_nasal", "quadrants.inferior_temporal", "quadrants.inferior_nasal", "quadrants.unknown"}
	lesionObjectFields = []string{"quadrant", "fovea_distance_dd"}
	lesionBoxFields    = []string{"box"}
	// lesionQuadrants name the quadrant fields in words.
	lesionQuadrants = []struct{ Field, Words string }{
		{"superior_temporal", "superior temporal"}, {"superior_nasal", "superior nasal"},
		{"inferior_temporal", "inferior temporal"}, {"inferior_nasal", "inferior nasal"},
	}
)

// LesionPaths lists every Report path the lesion answers read, with
// selectors (for the registry-versus-docs test).
func (r *Registry) LesionPaths() []string {
	out := []string{lesionCaveatPath, lesionExperPath}
	for _, l := range r.Lesions {
		if l.Code == "" {
			continue
		}
		t := lesionTypePath(l.Code)
		for _, f := range lesionTypeFields {
			out = append(out, t+"."+f)
		}
		for _, f := range lesionObjectFields {
			out = append(out, t+".objects[0]."+f)
		}
		for _, f := range lesionBoxFields {
			out = append(out, t+".boxes[0]."+f)
		}
	}
	return out
}

// lesionCaution is said with every lesion answer whose Report has no
// caveat of its own (and when the stage did not run).
const lesionCaution = "The lesion stage is experimental and its model is weak: it does not detect microaneurysms at all, and it finds many false exudates and haemorrhages (see models/lesions.md)."

var lesionTypes = []Lesion{
	{Key: "microaneurysm", Name: "microaneurysm", Plural: "microaneurysms", Code: "MA", Phrases: []string{"microaneurysm", "micro aneurysm", "microaneurism", "aneurysm", "ma", "red dot", "red dots", "tiny red dots"},
		Explain: "tiny round bulges in the capillary walls, seen as small red dots; the earliest sign of diabetic retinopathy"},
	{Key: "haemorrhage", Name: "haemorrhage", Plural: "haemorrhages", Code: "HE", Phrases: []string{"haemorrhage", "hemorrhage", "hemorhage", "bleed", "bleeds", "bleeding", "blood spot", "blot haemorrhage", "dot haemorrhage", "flame haemorrhage", "blood"},
		Explain: "bleeding into the retina from damaged vessels, seen as red dots, blots or flame shapes"},
	{Key: "hard_exudate", Name: "hard exudate", Plural: "hard exudates", Code: "EX", Phrases: []string{"hard exudate", "exudate", "exudates", "yellow deposit", "yellow spot", "lipid", "lipid deposit"},
		Explain: "yellow, waxy deposits of lipid and protein leaked from damaged vessels; near the macula they signal macular oedema"},
	{Key: "soft_exudate", Name: "soft exudate (cotton-wool spot)", Plural: "soft exudates (cotton-wool spots)", Code: "SE", Phrases: []string{"soft exudate", "cotton wool spot", "cotton wool", "cottonwool", "cws", "white fluffy spot"},
		Explain: "fluffy white patches where nerve fibres swelled after a small loss of blood supply"},
	{Key: "drusen", Name: "drusen", Plural: "drusen", Phrases: []string{"drusen", "druse", "yellow dots"},
		Explain: "yellow deposits under the retina; large drusen (125 µm or more) are a sign of age-related macular degeneration"},
}

// Disease is a condition the assistant can be asked about. Finding is its
// key in the Report's diagnoses.findings (schema 1.7.0; "" when the
// analysis does not judge it), Positive what the finding's probability is
// the probability of, Related the measures that bear on it.
type Disease struct {
	Key, Name string
	Phrases   []string
	Finding   string
	Positive  string
	Scale     string
	Related   []string
	Explain   string
}

var diseases = []Disease{
	{Key: "dr", Name: "diabetic retinopathy", Phrases: []string{"diabetic retinopathy", "dr", "diabetes", "diabetic", "retinopathy", "diabetic eye disease", "npdr", "pdr", "proliferative", "dr grade", "icdr"},
		Finding: "dr", Positive: "referable diabetic retinopathy (ICDR grade 2 or more)",
		Scale:   "ICDR grades 0 (none) to 4 (proliferative); grade 2 or more, or any macular oedema, is referable",
		Explain: "damage to the retina's small vessels caused by diabetes: microaneurysms, haemorrhages and exudates, and in its advanced stage new fragile vessels"},
	{Key: "dme", Name: "diabetic macular oedema", Phrases: []string{"diabetic maculopathy", "maculopathy", "macular oedema", "macular edema", "dme", "dmo", "diabetic macular oedema", "diabetic macular edema", "swelling of the macula", "macula swelling", "swollen macula", "macular swelling", "macula swollen", "macular thickening"},
		Finding: "dme", Positive: "any diabetic macular oedema risk (IDRiD grade 1 or 2)",
		Scale:   "risk 0 (no exudates), 1 (exudates farther than one disc diameter from the macula centre), 2 (within one disc diameter)",
		Explain: "fluid and lipid leaking into the macula, the centre of sharp vision, in diabetes"},
	{Key: "glaucoma", Name: "glaucoma", Phrases: []string{"glaucoma", "glaucomatous", "glaucoma suspect", "optic neuropathy", "eye pressure", "intraocular pressure", "iop", "glucoma"},
		Finding: "glaucoma", Positive: "glaucoma", Related: []string{"cdr_vertical", "isnt"},
		Explain: "damage to the optic nerve, usually slowly progressive, seen in photos as an enlarged cup and a thinning neuroretinal rim"},
	{Key: "cataract", Name: "cataract", Phrases: []string{"cataract", "cataracts", "cloudy", "cloudiness", "cloudy lens", "lens cloudy", "clouded lens", "lens opacity", "opaque lens", "cloudy vision", "misty vision", "hazy lens"},
		Finding: "cataract", Positive: "cataract",
		Explain: "clouding of the eye's lens; in a fundus photo it shows only indirectly, as a hazy, low-contrast image (which a poor photo can also cause)"},
	{Key: "abnormal", Name: "any abnormality", Phrases: []string{"normal eye", "healthy eye", "normal retina", "healthy retina", "eye normal", "eye healthy", "retina normal", "retina healthy"},
		Finding: "abnormal", Positive: "any finding (not a normal photo)",
		Explain: "whether the photo shows any of the findings the classifier knows (diabetic retinopathy, macular oedema, glaucoma, cataract) rather than a normal eye"},
	{Key: "amd", Name: "age-related macular degeneration", Phrases: []string{"amd", "armd", "macular degeneration", "age related macular degeneration", "wet amd", "dry amd"},
		Related: []string{"fovea_position"},
		Explain: "degeneration of the macula with age: drusen and pigment changes, later atrophy or new vessels under the retina"},
	{Key: "hypertensive", Name: "hypertensive retinopathy", Phrases: []string{"hypertensive retinopathy", "hypertension", "hypertensive", "high blood pressure", "blood pressure", "bp"},
		Related: []string{"avr", "crae"},
		Explain: "retinal vessel changes from high blood pressure: arteriolar narrowing (low AVR), then AV nicking, haemorrhages, exudates and cotton-wool spots, and at worst a swollen disc (Keith-Wagener-Barker grades I-IV)"},
	{Key: "myopia", Name: "myopic maculopathy", Phrases: []string{"myopia", "myopic", "myopic maculopathy", "short sighted", "short sightedness", "nearsighted", "near sighted", "pathologic myopia"},
		Related: []string{"disc_size"},
		Explain: "degenerative changes of the macula in high myopia (lacquer cracks, atrophy, choroidal neovascularization, Fuchs spot)"},
	{Key: "cardiovascular", Name: "cardiovascular or dementia risk", Phrases: []string{"cardiovascular", "heart disease", "stroke", "dementia", "alzheimer", "alzheimers", "systemic disease", "heart"},
		Related: []string{"fractal_dimension", "distance_tortuosity", "avr"},
		Explain: "research links retinal vessel measures (fractal dimension, calibres, tortuosity) with cardiovascular disease and dementia on average across populations; they do not predict one person's risk"},
}

// The Report's diagnoses section (schema 1.7.0): per judged disease the
// entry is findingPath(key), with findingFields relative to it and
// evidenceFields relative to each "evidence[N]"; a disease that could not
// be judged has its reason at notJudgedPath(key).
const (
	diagnosesPath        = "diagnoses"
	diagnosesCaveatPath  = "diagnoses.caveat"
	diagnosesSourcesPath = "diagnoses.sources"
)

func findingPath(key string) string   { return "diagnoses.findings[key=" + key + "]" }
func notJudgedPath(key string) string { return "diagnoses.not_judged[section=" + key + "].reason" }

var (
	findingFields  = []string{"key", "name", "label", "grade", "scale", "probability", "threshold", "positive", "probabilities"}
	evidenceFields = []string{"text", "source", "value", "unit"}
)

// DiagnosisPaths lists every Report path the disease answers read, with
// selectors (for the registry-versus-docs test).
func (r *Registry) DiagnosisPaths() []string {
	out := []string{diagnosesCaveatPath, diagnosesSourcesPath}
	for _, d := range r.Diseases {
		if d.Finding == "" {
			continue
		}
		for _, f := range findingFields {
			out = append(out, findingPath(d.Finding)+"."+f)
		}
		for _, f := range evidenceFields {
			out = append(out, findingPath(d.Finding)+".evidence[0]."+f)
		}
		out = append(out, notJudgedPath(d.Finding))
	}
	return out
}

// Registry is the assistant's knowledge of the Report, indexed.
type Registry struct {
	Measures []Measure
	Terms    []Term
	Lesions  []Lesion
	Diseases []Disease
	byKey    map[string]*Measure
}

// DefaultRegistry returns the built-in registry.
func DefaultRegistry() *Registry {
	r := &Registry{Measures: measures, Terms: terms, Lesions: lesionTypes, Diseases: diseases, byKey: map[string]*Measure{}}
	for i := range r.Measures {
		r.byKey[r.Measures[i].Key] = &r.Measures[i]
	}
	return r
}

// Measure returns the entry for key, or nil.
func (r *Registry) Measure(key string) *Measure { return r.byKey[key] }

// Vocabulary is what the intent recognizer needs to know of the registry.
func (r *Registry) Vocabulary() intent.Vocabulary {
	var v intent.Vocabulary
	for _, m := range r.Measures {
		v = append(v, intent.Entry{Key: m.Key, Kind: intent.KindMeasure, Intent: m.Intent, Phrases: m.Phrases})
	}
	for _, t := range r.Terms {
		v = append(v, intent.Entry{Key: t.Key, Kind: intent.KindTerm, Intent: t.Intent, Phrases: t.Phrases})
	}
	for _, l := range r.Lesions {
		v = append(v, intent.Entry{Key: l.Key, Kind: intent.KindLesion, Intent: intent.Lesions, Phrases: l.Phrases})
	}
	for _, d := range r.Diseases {
		v = append(v, intent.Entry{Key: d.Key, Kind: intent.KindDisease, Intent: intent.Disease, Phrases: d.Phrases})
	}
	return v
}

// normalize fills a scope's defaults for a measure.
func (m *Measure) normalize(s Scope) Scope {
	if s.Tree == "" {
		s.Tree = "all"
	}
	if s.Zone == "" {
		s.Zone = "whole"
		if m.DefaultZone != "" {
			s.Zone = m.DefaultZone
		}
	}
	return s
}

// FieldsAt returns the fields of a measure at a scope (nil when the
// measure is not defined there: the CDR has no arteries).
func (m *Measure) FieldsAt(s Scope) []Field {
	s = m.normalize(s)
	if m.Fields != nil {
		if fs, ok := m.Fields[s]; ok {
			return fs
		}
		if s == (Scope{"all", "whole"}) {
			if fs, ok := m.Fields[Scope{}]; ok {
				return fs
			}
		}
	}
	if set, ok := vesselSets[s]; ok && m.Set != nil {
		fs := make([]Field, len(m.Set))
		for i, f := range m.Set {
			f.Path = set + "." + f.Path
			fs[i] = f
		}
		return fs
	}
	return nil
}

// Scopes lists the scopes where a measure is defined.
func (m *Measure) Scopes() []Scope {
	var out []Scope
	for _, t := range []string{"all", "artery", "vein"} {
		for _, z := range []string{"whole", "B", "C"} {
			if m.FieldsAt(Scope{t, z}) != nil {
				out = append(out, Scope{t, z})
			}
		}
	}
	return out
}

// whereNames name the Points that answer "where?".
var whereNames = map[string]string{"disc.center": "The optic disc", "anatomy.fovea.center": "The fovea", "fov.center": "The field of view"}

func pendingSay(path string) string {
	for _, p := range pending {
		if strings.HasPrefix(path, p.Prefix) {
			return p.Say
		}
	}
	return ""
}

// templateNumbers are the only numbers the responder's own templates
// (builtin.go) may write: the population disc diameter (1.8 mm) behind the
// disc calibration, also in the calibration entry's explanation. Anything
// else an answer says must come from the Report, or from the registry's
// documented reference texts (ReferenceNumbers). A count, limit or size of
// a model's training or calibration set is not a reference value: word it
// without the number, or have the Report carry it.
var templateNumbers = []string{"1.8"}

var referenceNumberRE = regexp.MustCompile(`\d+(?:\.\d+)*%?`)

// ReferenceNumbers lists the numbers an answer may quote that are not
// Report values: those written in the registry's documented reference
// texts (explanations, usual ranges from docs/REFERENCE.md, flags, disease
// scales, reasons for absence such as the report schema that added a
// section) and templateNumbers. Anything else an answer says is a Report
// value (or derived from Report values, path "derived:").
func (r *Registry) ReferenceNumbers() []string {
	var texts []string
	for _, m := range r.Measures {
		texts = append(texts, m.Explain, m.Normal)
		if m.Flag != nil {
			texts = append(texts, m.Flag.Say)
		}
	}
	for _, t := range r.Terms {
		texts = append(texts, t.Explain)
	}
	for _, l := range r.Lesions {
		texts = append(texts, l.Explain)
	}
	for _, d := range r.Diseases {
		texts = append(texts, d.Explain, d.Scale, d.Positive)
	}
	for _, a := range absence {
		texts = append(texts, a.Say)
	}
	for _, p := range pending {
		texts = append(texts, p.Say)
	}
	for _, z := range zoneWords {
		texts = append(texts, z)
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range append(referenceNumberRE.FindAllString(strings.Join(texts, " "), -1), templateNumbers...) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
