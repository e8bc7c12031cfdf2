package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
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
