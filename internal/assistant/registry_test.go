package assistant

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	docPathRE = regexp.MustCompile("`([a-z_]+(?:\\.[a-z0-9_]+)+)`")
	docRowRE  = regexp.MustCompile("(?m)^\\| `([a-z_0-9.]+)`")
)

// documentedFields reads the Report's field list from docs/report.md.
func documentedFields(t *testing.T) map[string]bool {
	b, err := os.ReadFile("../../docs/report.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range docPathRE.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	for _, m := range docRowRE.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out
}

var selectorRE = regexp.MustCompile(`\[[^\]]*\]`)

// registryPaths lists every Report path the registry reads, selectors removed.
func registryPaths() map[string]bool {
	out := map[string]bool{}
	reg := DefaultRegistry()
	for i := range reg.Measures {
		m := &reg.Measures[i]
		var fs []Field
		for _, sc := range m.Scopes() {
			fs = append(fs, m.FieldsAt(sc)...)
		}
		fs = append(fs, m.Confidence...)
		for _, f := range fs {
			if pendingSay(f.Path) != "" {
				continue
			}
			out[selectorRE.ReplaceAllString(f.Path, "")] = true
		}
		if m.Where != "" {
			out[m.Where] = true
		}
	}
	for _, p := range reg.LesionPaths() {
		out[selectorRE.ReplaceAllString(p, "")] = true
	}
	for _, p := range reg.DiagnosisPaths() {
		out[selectorRE.ReplaceAllString(p, "")] = true
	}
	for _, a := range absence {
		if a.Detail != "" {
			out[selectorRE.ReplaceAllString(a.Detail, "")] = true
		}
	}
	return out
}

// notAsked are documented Report fields the assistant deliberately does
// not talk about (provenance, geometry of the analysis frame, the points
// behind "where" answers).
var notAsked = []string{"schema_version", "id", "created_at", "software", "models", "image.bytes", "image.sha256", "image.file",
	"fov.center", "fov.radius_px", "fov.area_px", "analysis_frame", "anatomy.model", "anatomy.disc.center", "anatomy.fovea.center",
	"disc.model", "disc.crop", "disc.zones", "vessels.model", "vessels.resolution", "vessels.zones.zone", "vessels.zones.inner_px",
	"vessels.zones.outer_px", "measured_at", "timings", "disc.rim.nasal_side", "crop",
	// the cup box is for drawing (the web app rings the cup), not for saying
	"disc.cup.box", "disc.cup.box_px",
	"vessels.av.model", "vessels.av.input_px", "vessels.calibre.zone", "vessels.calibre.calibration", "vessels.calibre.circles", "vessels.calibre.computed", "absent",
	// The lesion section's provenance, geometry and per-object detail: the
	// answers give counts, quadrants, distances, boxes and the caveat.
	"lesions.model", "lesions.grid_scale_px", "lesions.grid_width_px", "lesions.grid_height_px", "lesions.quadrant_basis",
	"lesions.disc_diameter_px", "lesions.max_objects_per_type", "lesions.max_boxes_per_type", "lesions.notes",
	"lesions.types.threshold", "lesions.types.cv_object_sensitivity", "lesions.types.cv_false_objects_per_image",
	"lesions.types.area_px", "lesions.types.area_um2", "lesions.types.boxes.box_px", "lesions.types.boxes.area_px",
	"lesions.types.boxes.objects", "lesions.types.boxes.mean_probability", "lesions.types.boxes.max_probability",
	"lesions.types.objects.area_px", "lesions.types.objects.area_um2", "lesions.types.objects.centroid",
	"lesions.types.objects.box", "lesions.types.objects.box_px", "lesions.types.objects.mean_probability",
	"lesions.types.objects.max_probability", "lesions.types.objects.disc_distance_dd", "not_assessed.section",
	// The quality gate's per-criterion detail: the answers give the grade,
	// its reasons and probabilities, and the modality verdict.
	"quality.criteria", "quality.modality.criteria",
	// The diagnoses section's provenance (the caveat and sources are said).
	"diagnoses.model", "diagnoses.not_judged.section"}

// Every path the registry reads (outside the sections expected from stages
// not landed yet) is a documented Report field, and every documented
// measure is in the registry or deliberately left out: when a new field is
// documented in docs/report.md, this test names it until a registry entry
// (or a notAsked line) covers it.
func TestRegistryMatchesReportDocs(t *testing.T) {
	doc := documentedFields(t)
	reg := registryPaths()
	for p := range reg {
		if !doc[p] {
			t.Errorf("registry reads %s, which docs/report.md does not document", p)
		}
	}
	for p := range doc {
		if reg[p] || strings.Contains(p, ".") && !isLeaf(p, doc) {
			continue
		}
		ignored := false
		for _, n := range notAsked {
			if p == n || strings.HasPrefix(p, n+".") || strings.HasSuffix(p, "."+n) {
				ignored = true
			}
		}
		if !ignored && strings.Contains(p, ".") {
			t.Errorf("docs/report.md documents %s but no assistant registry entry reads it (add one in registry.go, or to notAsked)", p)
		}
	}
}

// isLeaf: no other documented field lies under p.
func isLeaf(p string, doc map[string]bool) bool {
	for q := range doc {
		if strings.HasPrefix(q, p+".") {
			return false
		}
	}
	return true
}

// Every measure has a name, an explanation, phrases and fields, and every
// scope it claims resolves on the Report layout the registry expects.
func TestRegistryEntriesComplete(t *testing.T) {
	reg := DefaultRegistry()
	seen := map[string]bool{}
	for _, m := range reg.Measures {
		if seen[m.Key] {
			t.Errorf("duplicate key %s", m.Key)
		}
		seen[m.Key] = true
		if m.Name == "" || m.Explain == "" || len(m.Phrases) == 0 || m.Intent == "" {
			t.Errorf("%s: name, explanation, phrases and intent are required", m.Key)
		}
		if len(m.Scopes()) == 0 {
			t.Errorf("%s: no fields at any scope", m.Key)
		}
	}
}
