package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/synth"
)

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := png.Encode(out, img); err != nil {
		t.Fatal(err)
	}
}

func TestBiomarkersFromMask(t *testing.T) {
	f, err := synth.Generate(synth.Spec{Size: 384, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mask, fov := filepath.Join(dir, "vessels.png"), filepath.Join(dir, "fov.png")
	writePNG(t, mask, f.VesselMask)
	writePNG(t, fov, f.FOVMask)

	stdout, stderr, code := run(t, "biomarkers", "--mask", mask, "--fov", fov, "--format", "csv", "--um-per-px", "10")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("want a header and one row, got %d rows (%v):\n%s", len(rows), err, stdout)
	}
	autoMorph := []string{"Name", "Fractal_dimension", "Vessel_density", "Average_width", "Distance_tortuosity", "Squared_curvature_tortuosity", "Tortuosity_density"}
	for i, want := range autoMorph {
		if rows[0][i] != want {
			t.Errorf("column %d is %q, want AutoMorph's %q", i, rows[0][i], want)
		}
	}
	if !strings.Contains(strings.Join(rows[0], ","), "average_width_um") {
		t.Error("no µm columns although --um-per-px was given")
	}

	stdout, stderr, code = run(t, "biomarkers", "--mask", mask, "--fov", fov, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Measures struct {
			Density float64 `json:"vessel_density_fov"`
			FD      float64 `json:"fractal_dimension_mask"`
		} `json:"measures"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	var vessel, inFOV int
	for i, v := range f.FOVMask.Pix {
		if v > 0 {
			inFOV++
			if f.VesselMask.Pix[i] > 0 {
				vessel++
			}
		}
	}
	if want := float64(vessel) / float64(inFOV); got.Measures.Density < want-1e-9 || got.Measures.Density > want+1e-9 {
		t.Errorf("density %v, the drawn mask has %v", got.Measures.Density, want)
	}
	if got.Measures.FD < 1 || got.Measures.FD > 2 {
		t.Errorf("fractal dimension %v outside (1, 2)", got.Measures.FD)
	}

	// Zones around the drawn disc: the ring columns follow, named as AutoMorph's.
	d := f.Disc
	stdout, stderr, code = run(t, "biomarkers", "--mask", mask, "--fov", fov, "--format", "csv",
		"--disc-x", fmt.Sprint(d.X), "--disc-y", fmt.Sprint(d.Y), "--disc-radius", fmt.Sprint(d.R))
	if code != 0 {
		t.Fatalf("zones: exit %d: %s", code, stderr)
	}
	zrows, _ := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	head := strings.Join(zrows[0], ",")
	for _, want := range []string{"Fractal_dimension_zone_b", "Vessel_density_zone_c", "vessel_density_fov_zone_b"} {
		if !strings.Contains(head, want) {
			t.Errorf("no column %s with --disc-*", want)
		}
	}
	if len(zrows) != 2 || len(zrows[1]) != len(zrows[0]) || len(zrows[0]) < 3*14 {
		t.Errorf("zone CSV has %d columns in its header, rows %d", len(zrows[0]), len(zrows))
	}

	for _, args := range [][]string{
		{"biomarkers"},
		{"biomarkers", "--disc-radius", "10", mask, mask},
		{"biomarkers", "--mask", mask, "--format", "xml"},
		{"biomarkers", "--fov", fov, mask, mask},
	} {
		if _, _, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if _, _, code := run(t, "biomarkers", "--mask", filepath.Join(dir, "none.png")); code == 0 {
		t.Error("a missing mask succeeded")
	}
}

// Every manual vessel mask of DRIVE and CHASE_DB1 must measure without error.
func TestBiomarkersOnManualMasks(t *testing.T) {
	globs := []string{
		"../../../shared/datasets/drive/*/1st_manual/*.gif",
		"../../../shared/datasets/chase_db1/manual/*_1stHO.png",
	}
	var masks []string
	for _, g := range globs {
		m, _ := filepath.Glob(g)
		masks = append(masks, m...)
	}
	if len(masks) == 0 {
		t.Skip("../shared/datasets not available")
	}
	stdout, stderr, code := run(t, append([]string{"biomarkers", "--format", "csv"}, masks...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != len(masks)+1 {
		t.Fatalf("%d CSV rows for %d masks (%v)", len(rows), len(masks), err)
	}
	stdout, _, code = run(t, append([]string{"biomarkers", "--summary", "--format", "json"}, masks...)...)
	var sum []struct {
		Measure        string
		N              int
		Median, Q1, Q3 float64
	}
	if err := json.Unmarshal([]byte(stdout), &sum); code != 0 || err != nil || len(sum) == 0 {
		t.Fatalf("summary: exit %d, %v", code, err)
	}
	for _, s := range sum {
		if s.N != len(masks) || s.Q1 > s.Median || s.Median > s.Q3 {
			t.Errorf("%s: n %d, quartiles %v <= %v <= %v broken", s.Measure, s.N, s.Q1, s.Median, s.Q3)
		}
	}
}

// riteImage draws synth's artery and vein masks in the RITE colour code:
// red artery, blue vein, green where they cross.
func riteImage(f *synth.Fundus) *image.NRGBA {
	b := f.VesselMask.Bounds()
	img := image.NewNRGBA(b)
	for i := range f.VesselMask.Pix {
		a, v := f.ArteryMask.Pix[i] != 0, f.VeinMask.Pix[i] != 0
		c := color.NRGBA{A: 255}
		switch {
		case a && v:
			c.G = 255
		case a:
			c.R = 255
		case v:
			c.B = 255
		}
		img.SetNRGBA(i%b.Dx(), i/b.Dx(), c)
	}
	return img
}

// csvRecord runs the command and returns its one CSV row by column name,
// and the header in order.
func csvRecord(t *testing.T, args ...string) (map[string]string, []string) {
	t.Helper()
	stdout, stderr, code := run(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 2 || len(rows[0]) != len(rows[1]) {
		t.Fatalf("want a header and one row of the same length (%v):\n%s", err, stdout)
	}
	rec := map[string]string{}
	for i, h := range rows[0] {
		if _, dup := rec[h]; dup {
			t.Errorf("column %s twice", h)
		}
		rec[h] = rows[1][i]
	}
	return rec, rows[0]
}

func TestBiomarkersAV(t *testing.T) {
	f, err := synth.Generate(synth.Spec{Size: 384, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mask, fov, av := filepath.Join(dir, "vessels.png"), filepath.Join(dir, "fov.png"), filepath.Join(dir, "av.png")
	writePNG(t, mask, f.VesselMask)
	writePNG(t, fov, f.FOVMask)
	writePNG(t, av, riteImage(f))
	d := f.Disc
	discArgs := []string{"--disc-x", fmt.Sprint(d.X), "--disc-y", fmt.Sprint(d.Y), "--disc-radius", fmt.Sprint(d.R)}
	base := []string{"biomarkers", "--mask", mask, "--fov", fov, "--av", av, "--format", "csv"}

	t.Run("csv with disc", func(t *testing.T) {
		rec, head := csvRecord(t, append(base, discArgs...)...)
		// AutoMorph's names (capitalised) all come before our own
		// (snake_case), after Name.
		own := false
		for _, h := range head[1:] {
			isOwn := h[0] >= 'a' && h[0] <= 'z'
			if own && !isOwn {
				t.Errorf("AutoMorph column %s after RetinalGPT's own", h)
			}
			own = own || isOwn
		}
		for _, name := range []string{
			"Artery_Fractal_dimension", "Artery_Vessel_density", "Artery_Average_width", "Artery_Distance_tortuosity",
			"Artery_Squared_curvature_tortuosity", "Artery_Tortuosity_density",
			"Vein_Fractal_dimension", "Vein_Tortuosity_density",
			"Artery_Fractal_dimension_zone_b", "Vein_Average_width_zone_c",
			"CRAE_Knudtson_zone_b", "CRVE_Knudtson_zone_b", "AVR_Knudtson_zone_b", "AVR_Knudtson_zone_c",
			"artery_fractal_dimension_skeleton", "vein_vessel_density_fov", "artery_vessel_density_fov_zone_b",
			"crae_knudtson_circles_zone_b", "avr_knudtson_circles_zone_b", "crae_vessel_count_zone_b",
			"av_labelled_length_fraction", "av_mean_label_confidence",
		} {
			v, ok := rec[name]
			if !ok {
				t.Errorf("no column %s", name)
				continue
			}
			if x, err := strconv.ParseFloat(v, 64); err != nil || !(x > 0) {
				t.Errorf("%s = %q, want a positive number", name, v)
			}
		}
		if a, v := rec["Artery_Vessel_density"], rec["Vein_Vessel_density"]; a == v {
			t.Errorf("artery and vein densities both %s", a)
		}
		// Hubbard needs µm: absent, with the reason.
		for _, name := range []string{"CRAE_Hubbard_zone_b", "CRVE_Hubbard_zone_b", "AVR_Hubbard_zone_b", "crae_hubbard_circles_zone_b"} {
			if v, ok := rec[name]; !ok || v != "" {
				t.Errorf("%s = %q (present %v), want an empty column without --um-per-px", name, v, ok)
			}
		}
		if !strings.Contains(rec["calibre_notes"], "--um-per-px") {
			t.Errorf("calibre_notes %q does not say Hubbard needs --um-per-px", rec["calibre_notes"])
		}
		rec, _ = csvRecord(t, append(append(base, discArgs...), "--um-per-px", "10")...)
		for _, name := range []string{"CRAE_Hubbard_zone_b", "AVR_Hubbard_zone_b", "crae_knudtson_um_zone_b", "crae_hubbard_circles_zone_b"} {
			if x, err := strconv.ParseFloat(rec[name], 64); err != nil || !(x > 0) {
				t.Errorf("with --um-per-px: %s = %q, want a positive number", name, rec[name])
			}
		}
	})

	t.Run("csv without disc", func(t *testing.T) {
		rec, _ := csvRecord(t, base...)
		if _, ok := rec["Artery_Fractal_dimension"]; !ok {
			t.Error("no artery columns")
		}
		if !strings.Contains(rec["calibre_notes"], "no optic disc") {
			t.Errorf("calibre_notes %q does not say the disc is missing", rec["calibre_notes"])
		}
		for _, name := range []string{"Artery_Fractal_dimension_zone_b", "CRAE_Knudtson_zone_b", "crae_vessel_count_zone_b"} {
			if _, ok := rec[name]; ok {
				t.Errorf("zone column %s without a disc", name)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		stdout, stderr, code := run(t, append([]string{"biomarkers", "--mask", mask, "--fov", fov, "--av", av, "--format", "json"}, discArgs...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got struct {
			Artery *struct {
				Density float64 `json:"vessel_density_fov"`
			} `json:"artery"`
			Vein *struct {
				Density float64 `json:"vessel_density_fov"`
			} `json:"vein"`
			AVLabels *struct {
				Arteries int `json:"artery_segment_count"`
			} `json:"av_labels"`
			Zones map[string]struct {
				Artery *struct {
					Density float64 `json:"vessel_density_fov"`
				} `json:"artery"`
				Calibre *struct {
					Zone struct {
						Knudtson struct{ CRAE, CRVE, AVR *float64 }
						Hubbard  struct{ Absent string }
					} `json:"zone"`
					MultiCircle struct {
						Knudtson struct{ AVR *float64 }
					} `json:"multi_circle"`
				} `json:"calibre"`
			} `json:"zones"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		switch {
		case got.Artery == nil || got.Vein == nil || !(got.Artery.Density > 0) || !(got.Vein.Density > 0):
			t.Errorf("artery/vein measures missing: %s", stdout[:min(len(stdout), 300)])
		case got.AVLabels == nil || got.AVLabels.Arteries == 0:
			t.Error("no segment label counts")
		case got.Zones["zone_b"].Artery == nil:
			t.Error("no zone B artery measures")
		}
		c := got.Zones["zone_b"].Calibre
		switch {
		case c == nil || c.Zone.Knudtson.CRAE == nil || c.Zone.Knudtson.AVR == nil || c.MultiCircle.Knudtson.AVR == nil:
			t.Error("no CRAE/AVR in zone B")
		case c.Zone.Hubbard.Absent == "":
			t.Error("Hubbard absent without a reason")
		case got.Zones["zone_c"].Calibre == nil:
			t.Error("no calibre in zone C")
		}
		stdout, _, _ = run(t, "biomarkers", "--mask", mask, "--av", av, "--format", "json")
		if !strings.Contains(stdout, `"calibre_absent": "no optic disc`) {
			t.Error("JSON without a disc does not say why CRAE is absent")
		}
	})

	t.Run("bad A/V files", func(t *testing.T) {
		small := filepath.Join(dir, "small.png")
		writePNG(t, small, image.NewNRGBA(image.Rect(0, 0, 10, 12)))
		corrupt := filepath.Join(dir, "corrupt.png")
		if err := os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
			t.Fatal(err)
		}
		missing := filepath.Join(dir, "missing.png")
		for _, tc := range []struct {
			name, file, want string
			code             int
		}{
			{"wrong size", small, "is 10x12, the mask 384x384", exitFailure},
			{"corrupt", corrupt, "corrupt", exitBadImage},
			{"missing", missing, "no such file", exitFailure},
		} {
			_, stderr, code := run(t, "biomarkers", "--mask", mask, "--av", tc.file)
			if code != tc.code || !strings.Contains(stderr, tc.file) || !strings.Contains(stderr, tc.want) ||
				strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("%s: exit %d, stderr %q; want exit %d and one line naming %s and %q", tc.name, code, stderr, tc.code, tc.file, tc.want)
			}
		}
		if _, _, code := run(t, "biomarkers", "--av", av, mask, mask); code != exitUsage {
			t.Errorf("--av with two masks: exit %d, want %d", code, exitUsage)
		}
	})
}
