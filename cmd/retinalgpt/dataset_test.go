package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/instruct"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// TestDatasetBuildDRIVE builds from two shared DRIVE photos and one
// corrupt one in a DRIVE-layout folder.
func TestDatasetBuildDRIVE(t *testing.T) {
	shared := "../../../shared/datasets/drive/training/images"
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("RETINALGPT_REQUIRE_ORT") != "" {
			t.Fatalf("shared DRIVE data missing: %v", err)
		}
		t.Skipf("shared DRIVE data not found at %s", shared)
	}
	requireORT(t)
	root := t.TempDir()
	imgs := filepath.Join(root, "training", "images")
	os.MkdirAll(filepath.Join(root, "test", "images"), 0o755)
	if err := os.MkdirAll(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"21_training.tif", "22_training.tif"} {
		abs, _ := filepath.Abs(filepath.Join(shared, n))
		if err := os.Symlink(abs, filepath.Join(imgs, n)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(imgs, "23_training.tif"), []byte("II*\x00 not really a tiff"), 0o644)
	out, cache := t.TempDir(), t.TempDir()
	stdout, stderr, code := run(t, "dataset", "build", "--datasets", "drive="+root, "--out", out, "--cache", cache, "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "[3/3") {
		t.Errorf("no progress on stderr: %s", stderr)
	}

	var m instruct.Manifest
	readJSON(t, filepath.Join(out, instruct.ManifestFile), &m)
	if d := m.Datasets["drive"]; d == nil || d.Analysed != 2 || d.Failed != 1 {
		t.Fatalf("manifest counts %+v", d)
	}
	if len(m.Failures) != 1 || m.Failures[0].ID != "23_training" || m.Failures[0].Kind != "bad_image" || m.Failures[0].Reason == "" {
		t.Errorf("failures %+v", m.Failures)
	}
	if m.Software.ReportSchema != report.SchemaVersion || len(m.Software.Models) < 4 || len(m.Command) == 0 || m.StartedAt.IsZero() {
		t.Errorf("manifest software/command/time: %+v %v %v", m.Software, m.Command, m.StartedAt)
	}

	reports := map[string]*report.Report{}
	f, err := os.Open(filepath.Join(out, instruct.FeaturesFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 {
		t.Fatalf("features.csv: %v, %d rows", err, len(rows))
	}
	hdr := strings.Join(rows[0], ",")
	for _, c := range []string{"dataset,image,split", "dr_grade", "Fractal_dimension", "Vessel_density", "Artery_Average_width", "Tortuosity_density_zone_b"} {
		if !strings.Contains(hdr, c) {
			t.Errorf("features.csv header lacks %s", c)
		}
	}
	for _, r := range rows[1:] {
		rf, err := os.Open(filepath.Join(cache, r[4]+".json"))
		if err != nil {
			t.Fatalf("no cached report for %s: %v", r[1], err)
		}
		rep, err := report.Decode(rf)
		rf.Close()
		if err != nil {
			t.Fatal(err)
		}
		reports[r[1]] = rep
	}

	for _, file := range []string{instruct.Stage1File, instruct.Stage2File} {
		var ss []instruct.Sample
		readJSON(t, filepath.Join(out, file), &ss)
		if len(ss) != 2 {
			t.Fatalf("%s: %d samples, want 2", file, len(ss))
		}
		lo, hi := 1, 1
		if file == instruct.Stage2File {
			lo, hi = 3, 6
		}
		for _, s := range ss {
			if err := s.Validate(lo, hi); err != nil {
				t.Error(err)
			}
			rep := reports[s.Image]
			if rep == nil {
				t.Fatalf("%s: image %q not in features.csv", file, s.Image)
			}
			for i, msg := range s.Conversations {
				if msg.From != instruct.FromGPT {
					continue
				}
				// DRIVE has no labels: every number must be the Report's.
				if bad := instruct.Verify(msg.Value, rep, emptyLabels); len(bad) > 0 {
					t.Errorf("%s %s turn %d quotes %v, not in the report: %s", file, s.ID, i, bad, msg.Value)
				}
			}
		}
		if file == instruct.Stage2File && testing.Verbose() {
			b, _ := json.MarshalIndent(ss[0], "", "  ")
			t.Logf("%s", b)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestDatasetBuildUsage(t *testing.T) {
	for _, args := range [][]string{
		{"dataset", "build", "--out", t.TempDir()},
		{"dataset", "build", "--datasets", "nosuch=/tmp", "--out", t.TempDir()},
		{"dataset", "build", "--datasets", "drive", "--out", t.TempDir()},
	} {
		if _, _, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

var emptyLabels = dataset.Labels{}
