package analysis

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/lesions"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// The bundled sample (IDRiD_055, an IDRiD photo with hard exudates) with
// the lesion stage on: at least one hard exudate, boxes inside [0, 1],
// objects capped, the caveat naming microaneurysms, the lesion model in
// the models list and the stage in the timings. Off, the section is absent
// and not_assessed says why.
func TestAnalyzeSampleLesions(t *testing.T) {
	an := newAnalyzer(t)
	img, err := fundus.Decode(bytes.NewReader(sample.Photo()), sample.Name, fundus.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := an.Analyze(context.Background(), img, Options{Lesions: true})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	l := r.Lesions
	if l == nil || res.Lesions == nil || !l.Experimental || !strings.HasPrefix(l.Model, "lesions@") || len(l.Types) != int(lesions.NumKinds) {
		t.Fatalf("lesion section %+v", l)
	}
	if len(r.NotAssessed) != 0 {
		t.Errorf("not_assessed %+v with the stage on", r.NotAssessed)
	}
	exCV := fmt.Sprintf("EX %.3f", *l.Types[lesions.EX].CVAUPR)
	if !strings.Contains(l.Caveat, "Microaneurysms are not detected by this model") || !strings.Contains(l.Caveat, exCV) {
		t.Errorf("caveat %q, want the microaneurysm warning and %q", l.Caveat, exCV)
	}
	var stages []string
	for _, tm := range r.Timings {
		stages = append(stages, tm.Stage)
		if tm.Stage == "lesions" {
			t.Logf("lesion stage %.0f ms", tm.Ms)
		}
	}
	if len(stages) < 2 || stages[len(stages)-2] != "lesions" || stages[len(stages)-1] != "diagnose" {
		t.Errorf("stages %v, want lesions then diagnose last", stages)
	}
	checkDiagnoses(t, r)
	if !slices.ContainsFunc(r.Models, func(m report.Model) bool { return m.Name == "lesions" && len(m.SHA256) == 64 }) {
		t.Errorf("models %+v lack the lesion model", r.Models)
	}
	in01 := func(b [4]float64) bool {
		return b[0] >= 0 && b[1] >= 0 && b[2] <= 1 && b[3] <= 1 && b[0] <= b[2] && b[1] <= b[3]
	}
	for _, ty := range l.Types {
		q := ty.Quadrants
		if q.SuperiorTemporal+q.SuperiorNasal+q.InferiorTemporal+q.InferiorNasal+q.Unknown != ty.Count {
			t.Errorf("%s: quadrant counts %+v do not add up to %d", ty.Type, q, ty.Count)
		}
		if len(ty.Objects) > MaxLesionObjects || len(ty.Objects)+ty.ObjectsOmitted != ty.Count || len(ty.Boxes) > lesions.DefaultMaxBoxes {
			t.Errorf("%s: %d objects listed + %d omitted, count %d, %d boxes", ty.Type, len(ty.Objects), ty.ObjectsOmitted, ty.Count, len(ty.Boxes))
		}
		for _, b := range ty.Boxes {
			if !in01(b.Box) || b.BoxPx[2] > float64(r.Image.Width) || b.BoxPx[3] > float64(r.Image.Height) {
				t.Errorf("%s: box %v (px %v) outside the photo", ty.Type, b.Box, b.BoxPx)
			}
		}
		for _, o := range ty.Objects {
			if !in01(o.Box) || o.AreaPx <= 0 || o.Quadrant == "" || (l.DiscDiameterPx > 0) != (o.FoveaDistanceDD != nil) {
				t.Errorf("%s: object %+v", ty.Type, o)
				break
			}
		}
		t.Logf("%s: %d objects (%d listed), %d boxes, quadrants %+v, area %.0f px, cv AUPR %v", ty.Type, ty.Count, len(ty.Objects), len(ty.Boxes), q, ty.AreaPx, *ty.CVAUPR)
	}
	ex := l.Types[lesions.EX]
	if ex.Type != "EX" || ex.Count < 1 || len(ex.Boxes) < 1 || !ex.Detected {
		t.Errorf("hard exudates: %+v, want at least one object and box", ex)
	}
	if ma := l.Types[lesions.MA]; ma.Detected {
		t.Errorf("microaneurysms marked detected by a model with CV AUPR %v", *ma.CVAUPR)
	}
	if m := LesionMask(res.Lesions, lesions.EX); m.Bounds() != res.Image.Pix.Bounds() || countSet(m.Pix) == 0 {
		t.Errorf("EX mask at the original resolution: %v, %d px", m.Bounds(), countSet(m.Pix))
	}
	// The overlay draws detected types and only names undetected ones.
	for i, layer := range res.lesionLayers() {
		ty := l.Types[i]
		if drawn := layer.Mask != nil || len(layer.Boxes) > 0; drawn != ty.Detected {
			t.Errorf("overlay %s: drawn %v (label %q), detected %v", ty.Type, drawn, layer.Label, ty.Detected)
		}
	}

	off, err := an.Analyze(context.Background(), img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if off.Report.Lesions != nil || off.Lesions != nil || len(off.Report.NotAssessed) != 1 || off.Report.NotAssessed[0].Section != "lesions" ||
		!strings.Contains(off.Report.NotAssessed[0].Reason, "--lesions") {
		t.Errorf("stage off: lesions %v, not_assessed %+v", off.Report.Lesions, off.Report.NotAssessed)
	}
}

func countSet(p []uint8) int {
	n := 0
	for _, v := range p {
		if v != 0 {
			n++
		}
	}
	return n
}
