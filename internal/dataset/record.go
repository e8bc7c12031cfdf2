package dataset

import (
	"errors"
	"fmt"
	"sort"
)

// Splits as the datasets publish them. A dataset without an official split
// leaves Split empty.
const (
	SplitTrain = "train"
	SplitVal   = "val"
	SplitTest  = "test"
)

// Record is one image of a dataset with everything its publishers labelled.
type Record struct {
	// ID is unique within the dataset (usually the file name without extension).
	ID      string `json:"id"`
	Dataset string `json:"dataset"`
	// Image is the image path: the dataset root joined with the published
	// relative path. The file is not opened.
	Image string `json:"image"`
	Split string `json:"split,omitempty"`
	// Group ties images of one person (patient, child) together so that a
	// split can keep them on the same side; empty when unknown.
	Group string `json:"group,omitempty"`
	// Eye is "L" or "R" when the dataset says; empty otherwise.
	Eye    string `json:"eye,omitempty"`
	Labels Labels `json:"labels"`
	// Source is the label text as published: column name to cell text.
	Source map[string]string `json:"source,omitempty"`
	Masks  Masks             `json:"masks,omitzero"`
	// Boxes are in pixels of Image (x right, y down).
	Boxes []Box `json:"boxes,omitempty"`
	// Disc and Fovea centres in pixels of Image.
	Disc  *Point `json:"disc,omitempty"`
	Fovea *Point `json:"fovea,omitempty"`
}

// Labels is the common vocabulary. A nil field means the dataset does not
// say; it never means "no" or grade 0.
type Labels struct {
	// DRGrade is the ICDR diabetic retinopathy grade, 0 none … 4 PDR.
	DRGrade *int `json:"dr_grade,omitempty"`
	// DR is "diabetic retinopathy present" (grade ≥1, or a dataset's
	// ungraded DR label).
	DR *bool `json:"dr,omitempty"`
	// ReferableDR is ICDR grade ≥2 or any DME (set only when the grade is known).
	ReferableDR *bool `json:"referable_dr,omitempty"`
	// DMERisk is IDRiD's 0-2 macular oedema risk.
	DMERisk *int `json:"dme_risk,omitempty"`
	// DME is "macular oedema present" (IDRiD risk ≥1, Messidor-2 adjudicated_dme).
	DME      *bool `json:"dme,omitempty"`
	Glaucoma *bool `json:"glaucoma,omitempty"`
	Cataract *bool `json:"cataract,omitempty"`
	// Normal is "no abnormality", as the dataset states it.
	Normal       *bool `json:"normal,omitempty"`
	AMD          *bool `json:"amd,omitempty"`
	Hypertension *bool `json:"hypertension,omitempty"`
	Myopia       *bool `json:"myopia,omitempty"`
	// Other is "some other abnormality" (ODIR's O, RFMiD's other classes).
	Other *bool `json:"other,omitempty"`
	// MyopicMaculopathy is the META-PM category 0-4 (MMAC).
	MyopicMaculopathy *int `json:"myopic_maculopathy,omitempty"`
	// Quality is EyeQ's three grades: 0 good, 1 usable, 2 reject.
	Quality *int `json:"quality,omitempty"`
	// Gradable is a dataset's gradability flag (Messidor-2).
	Gradable *bool `json:"gradable,omitempty"`
	// CDR is the vertical cup-to-disc ratio (mean of the experts).
	CDR *float64 `json:"cdr,omitempty"`
	// Findings are the positive findings in the dataset's own codes
	// (RFMiD's column names, ODIR's keywords), sorted.
	Findings []string `json:"findings,omitempty"`
}

// Masks are paths of ground-truth masks; empty when absent.
type Masks struct {
	Vessel  string `json:"vessel,omitempty"`  // first observer
	Vessel2 string `json:"vessel2,omitempty"` // second observer
	FOV     string `json:"fov,omitempty"`
	AV      string `json:"av,omitempty"` // artery/vein colour labels (RITE)
	Disc    string `json:"disc,omitempty"`
	Cup     string `json:"cup,omitempty"`
	// Lesions maps a lesion name (microaneurysms, haemorrhages,
	// hard_exudates, soft_exudates) to its mask.
	Lesions map[string]string `json:"lesions,omitempty"`
}

// Box is a labelled rectangle in pixels.
type Box struct {
	Label string  `json:"label"`
	XMin  float64 `json:"x_min"`
	YMin  float64 `json:"y_min"`
	XMax  float64 `json:"x_max"`
	YMax  float64 `json:"y_max"`
}

// Point is a position in pixels.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Problem is a row or column an adapter could not take as published: an
// unknown column, a malformed row, a missing file. Line is 1-based in File;
// 0 when the problem concerns a whole file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

var (
	// ErrMissingColumn: a label file lacks a required column.
	ErrMissingColumn = errors.New("missing required column")
	// ErrUnknownDataset: Load was given a name not in Names().
	ErrUnknownDataset = errors.New("unknown dataset")
)

// Loader reads one dataset from its root folder.
type Loader func(root string) ([]Record, []Problem, error)

var loaders = map[string]Loader{}

func register(name string, l Loader) { loaders[name] = l }

// Names lists the datasets Load knows, sorted.
func Names() []string {
	names := make([]string, 0, len(loaders))
	for n := range loaders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load reads dataset name from root (the folder of its published layout;
// see docs/datasets.md). Records come in label-file or file-name order.
func Load(name, root string) ([]Record, []Problem, error) {
	l, ok := loaders[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownDataset, name, Names())
	}
	return l(root)
}

func ptr[T any](v T) *T { return &v }
