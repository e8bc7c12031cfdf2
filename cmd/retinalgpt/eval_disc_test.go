package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The disc/cup command on two Drishti-GS1 photos, one glaucoma and one
// normal (both in the shipped model's training set: this checks the
// plumbing, not accuracy), as a table and as JSON.
func TestEvalDisc(t *testing.T) {
	requireORT(t)
	src := "../../../shared/datasets/drishti_gs1"
	labels, err := os.ReadFile(filepath.Join(src, "labels.csv"))
	if err != nil {
		t.Skipf("Drishti-GS1 copy not available: %v", err)
	}
	root := t.TempDir()
	lines := strings.Split(strings.TrimSpace(string(labels)), "\n")
	keep := []string{lines[0]}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "drishtiGS_002.jpg,") || strings.HasPrefix(l, "drishtiGS_008.jpg,") {
			keep = append(keep, l)
		}
	}
	if len(keep) != 3 {
		t.Fatalf("labels.csv lacks drishtiGS_002 or drishtiGS_008")
	}
	for _, l := range keep[1:] {
		id := strings.TrimSuffix(strings.Split(l, ",")[0], ".jpg")
		for _, f := range []string{"images/" + id + ".jpg", "softmaps/" + id + "_OD.png", "softmaps/" + id + "_cup.png"} {
			abs, _ := filepath.Abs(filepath.Join(src, f))
			os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
			if err := os.Symlink(abs, filepath.Join(root, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.WriteFile(filepath.Join(root, "labels.csv"), []byte(strings.Join(keep, "\n")+"\n"), 0o644)

	stdout, stderr, code := run(t, "eval", "disc", "--dataset", "drishti", "--root", root, "--json", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Model    string   `json:"model"`
		N        int      `json:"n"`
		NotFound int      `json:"disc_not_found"`
		DiscDice *float64 `json:"disc_dice"`
		CupDice  *float64 `json:"cup_dice"`
		VCDRMAE  *float64 `json:"vcdr_mae"`
		AUC      *float64 `json:"glaucoma_auc"`
		RefMAE   *float64 `json:"reference_mask_vcdr_mae"`
		Locator  *float64 `json:"locator_error_median_px"`
		Images   []struct {
			ID       string   `json:"image"`
			Glaucoma bool     `json:"glaucoma"`
			Found    bool     `json:"found"`
			Reason   string   `json:"reason"`
			DiscDice float64  `json:"disc_dice"`
			VCDR     *float64 `json:"vcdr"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
	}
	if got.N != 2 || len(got.Images) != 2 || got.Images[0].ID != "drishtiGS_002" || !got.Images[0].Glaucoma || got.Images[1].Glaucoma ||
		!strings.HasPrefix(got.Model, "disccup@") || got.DiscDice == nil || got.CupDice == nil || got.RefMAE == nil || got.Locator == nil {
		t.Fatalf("report %s", stdout)
	}
	rate := func(v *float64) bool { return v == nil || (*v >= 0 && *v <= 1) }
	if !rate(got.DiscDice) || !rate(got.CupDice) || !rate(got.VCDRMAE) || !rate(got.AUC) || got.NotFound < 0 || got.NotFound > 2 {
		t.Errorf("figures out of range: %s", stdout)
	}
	found := 0
	for _, im := range got.Images {
		if im.Found != (im.VCDR != nil) || im.Found == (im.Reason != "") || (!im.Found && im.DiscDice != 0) {
			t.Errorf("%s: found %v, vcdr %v, reason %q, dice %v", im.ID, im.Found, im.VCDR, im.Reason, im.DiscDice)
		}
		if im.Found {
			found++
		}
	}
	if found+got.NotFound != 2 || (found > 0) != (got.VCDRMAE != nil) {
		t.Errorf("%d found, %d not found, vCDR MAE %v", found, got.NotFound, got.VCDRMAE)
	}
	// A disc centre within a disc radius (~90 px here) of the label.
	if *got.Locator > 90 {
		t.Errorf("locator median error %.1f px", *got.Locator)
	}

	stdout, stderr, code = run(t, "eval", "disc", "--root", root, "--threads", "2")
	if code != 0 {
		t.Fatalf("table: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"drishtiGS_002", "drishtiGS_008", "disc Dice", "vCDR MAE", "glaucoma AUC", "disc not found"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

func TestEvalDiscUsage(t *testing.T) {
	for _, args := range [][]string{
		{"eval", "disc"},
		{"eval", "disc", "--dataset", "refuge", "--root", t.TempDir()},
	} {
		if _, stderr, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
}
