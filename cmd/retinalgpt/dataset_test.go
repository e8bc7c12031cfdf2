package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/infer"
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
	if strings.Contains(stderr, "img/s") {
		t.Errorf("a progress bar on a stderr that is not a terminal: %s", stderr)
	}
	if !strings.Contains(stdout, "sets: ") {
		t.Errorf("no set summary: %s", stdout)
	}

	var m instruct.Manifest
	readJSON(t, filepath.Join(out, instruct.ManifestFile), &m)
	if d := m.Datasets["drive"]; d == nil || d.Analysed != 2 || d.Failed != 1 {
		t.Fatalf("manifest counts %+v", d)
	}
	if len(m.Failures) != 1 || m.Failures[0].ID != "23_training" || m.Failures[0].Kind != "bad_image" || m.Failures[0].Reason == "" {
		t.Errorf("failures %+v", m.Failures)
	}
	// Every answer's numbers are its own grounded values (instruct.Verify):
	// no turn of a real Report's conversation is dropped.
	if len(m.DroppedTurns) > 0 {
		t.Errorf("dropped turns %v", m.DroppedTurns)
	}
	if m.Software.ReportSchema != report.SchemaVersion || len(m.Software.Models) < 4 || len(m.Command) == 0 || m.StartedAt.IsZero() {
		t.Errorf("manifest software/command/time: %+v %v %v", m.Software, m.Command, m.StartedAt)
	}

	reports := map[string]*report.Report{}
	nStage2 := 0
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
	for _, c := range []string{"dataset,image,split,set,id,sha256,phash", "dr_grade", "Fractal_dimension", "Vessel_density", "Artery_Average_width", "Tortuosity_density_zone_b"} {
		if !strings.Contains(hdr, c) {
			t.Errorf("features.csv header lacks %s", c)
		}
	}
	for _, r := range rows[1:] {
		rf, err := os.Open(filepath.Join(cache, r[5]+".json"))
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

	for _, file := range []string{instruct.Stage1File, instruct.Stage2File, instruct.Stage1ValFile, instruct.Stage2ValFile,
		instruct.Stage1TestFile, instruct.Stage2TestFile} {
		var ss []instruct.Sample
		readJSON(t, filepath.Join(out, file), &ss)
		lo, hi := 1, 1
		if strings.HasPrefix(file, "stage2") {
			lo, hi = 3, 6
			nStage2 += len(ss)
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
				if bad := instruct.VerifyReport(msg.Value, rep, emptyLabels); len(bad) > 0 {
					t.Errorf("%s %s turn %d quotes %v, not in the report: %s", file, s.ID, i, bad, msg.Value)
				}
			}
		}
		if strings.HasPrefix(file, "stage2") && len(ss) > 0 && testing.Verbose() {
			b, _ := json.MarshalIndent(ss[0], "", "  ")
			t.Logf("%s", b)
		}
	}
	if nStage2 != 2 {
		t.Errorf("%d stage-2 samples over the three sets, want 2", nStage2)
	}

	// A second run resumes from the journal: nothing analysed, same data.
	first, _ := os.ReadFile(filepath.Join(out, instruct.Stage2File))
	stdout, stderr, code = run(t, "dataset", "build", "--datasets", "drive="+root, "--out", out, "--workers", "2")
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, stdout, stderr)
	}
	second, _ := os.ReadFile(filepath.Join(out, instruct.Stage2File))
	var m2 instruct.Manifest
	readJSON(t, filepath.Join(out, instruct.ManifestFile), &m2)
	if m2.Resumed != 3 || string(first) != string(second) {
		t.Errorf("rerun resumed %d records (want 3), same stage-2 data %v", m2.Resumed, string(first) == string(second))
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
		{"dataset", "build", "--datasets", "drive=/tmp", "--out", t.TempDir(), "--shard", "3/3"},
		{"dataset", "build", "--datasets", "drive=/tmp", "--out", t.TempDir(), "--shard", "1/2", "--shards", "2"},
		{"dataset", "build", "--datasets", "drive=/tmp", "--out", t.TempDir(), "--rewriter", "gpt"},
		{"dataset", "merge", "somedir"},
		{"dataset", "dedup"},
	} {
		if _, _, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

var emptyLabels = dataset.Labels{}

// TestDatasetShardFlags: --shard i/n and --shards n with
// $JOB_COMPLETION_INDEX name the shard.
func TestDatasetShardFlags(t *testing.T) {
	for _, c := range []struct {
		f       datasetBuildFlags
		env     string
		i, n    int
		wantErr bool
	}{
		{datasetBuildFlags{}, "", 0, 1, false},
		{datasetBuildFlags{shard: "2/5"}, "", 2, 5, false},
		{datasetBuildFlags{shard: "5/5"}, "", 0, 0, true},
		{datasetBuildFlags{shard: "x"}, "", 0, 0, true},
		{datasetBuildFlags{shards: 4}, "3", 3, 4, false},
		{datasetBuildFlags{shards: 4}, "4", 0, 0, true},
		{datasetBuildFlags{shards: 4}, "", 0, 0, true},
	} {
		t.Setenv("JOB_COMPLETION_INDEX", c.env)
		i, n, err := c.f.shardOf()
		if (err != nil) != c.wantErr || !c.wantErr && (i != c.i || n != c.n) {
			t.Errorf("%+v JOB_COMPLETION_INDEX=%q: %d/%d %v", c.f, c.env, i, n, err)
		}
	}
}

// BenchmarkDatasetBuild measures `dataset build` on the first
// RETINALGPT_BENCH_N (default 4) photos of the shared IDRiD grading set
// (2144x1424 JPEG), --workers = all CPUs, one model thread each:
// uncached (every photo analysed) and cached (the Reports already in
// --cache: hashing, fingerprint, conversations, outputs). It reports
// images per second and per second per core.
//
//	go test -run '^$' -bench DatasetBuild -benchtime 2x ./cmd/retinalgpt/
func BenchmarkDatasetBuild(b *testing.B) {
	root := "../../../shared/datasets/idrid/grading"
	if _, err := os.Stat(root); err != nil {
		b.Skip("shared IDRiD grading set not found")
	}
	if _, err := infer.FindLibrary(""); err != nil {
		b.Skip("ONNX Runtime not installed")
	}
	n := 4
	if s := os.Getenv("RETINALGPT_BENCH_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	build := func(b *testing.B, out, cache string) {
		var o, e bytes.Buffer
		cmd := newRootCmd(&o, &e)
		cmd.SetArgs([]string{"dataset", "build", "--datasets", "idrid_grading=" + root, "--limit", fmt.Sprint(n),
			"--out", out, "--cache", cache, "--quiet"})
		if err := cmd.Execute(); err != nil {
			b.Fatalf("%v\n%s", err, e.String())
		}
	}
	cores := float64(runtime.NumCPU())
	for _, cached := range []bool{false, true} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			warm := b.TempDir()
			if cached {
				build(b, b.TempDir(), warm)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cache := warm
				if !cached {
					cache = b.TempDir()
				}
				build(b, b.TempDir(), cache)
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(n)/per, "img/s")
			b.ReportMetric(float64(n)/per/cores, "img/s/core")
		})
	}
}

// TestDatasetBuildLesions builds the bundled sample photo (IDRiD_055, in
// an IDRiD segmentation layout) with --lesions: the Report has a lesions
// section, the conversation asks about lesions and every number of every
// answer (the boxes included) is the Report's; the Report is cached apart
// from plain ones, and a build without --lesions in the same folder is
// refused.
func TestDatasetBuildLesions(t *testing.T) {
	requireORT(t)
	if testing.Short() {
		t.Skip("the lesion stage takes seconds per photo")
	}
	root := t.TempDir()
	imgs := filepath.Join(root, "images")
	if err := os.MkdirAll(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../assets/sample/idrid_055.jpg")
	if err := os.Symlink(abs, filepath.Join(imgs, "IDRiD_55.jpg")); err != nil {
		t.Fatal(err)
	}
	out, cache := t.TempDir(), t.TempDir()
	stdout, stderr, code := run(t, "dataset", "build", "--datasets", "idrid_segmentation="+root, "--out", out, "--cache", cache,
		"--workers", "1", "--lesions", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var m instruct.Manifest
	readJSON(t, filepath.Join(out, instruct.ManifestFile), &m)
	if !m.Lesions || len(m.Failures) != 0 || m.Datasets["idrid_segmentation"].Analysed != 1 {
		t.Fatalf("manifest: lesions %v, failures %+v, counts %+v", m.Lesions, m.Failures, m.Datasets["idrid_segmentation"])
	}
	cached, _ := filepath.Glob(filepath.Join(cache, "*.json"))
	if len(cached) != 1 || !strings.HasSuffix(cached[0], "-lesions.json") {
		t.Fatalf("cache holds %v, want one <sha256>-lesions.json", cached)
	}
	rf, err := os.Open(cached[0])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Decode(rf)
	rf.Close()
	if err != nil || rep.Lesions == nil || len(rep.Lesions.Types) == 0 {
		t.Fatalf("cached Report: %v, lesions %+v", err, rep.Lesions)
	}
	if m.QuestionKinds[instruct.KindLesions] != 1 {
		t.Errorf("question kinds %v, want one lesion turn (dropped %v)", m.QuestionKinds, m.DroppedTurns)
	}
	var lesionTurn string
	for _, file := range []string{instruct.Stage1File, instruct.Stage1ValFile, instruct.Stage1TestFile,
		instruct.Stage2File, instruct.Stage2ValFile, instruct.Stage2TestFile} {
		var ss []instruct.Sample
		readJSON(t, filepath.Join(out, file), &ss)
		for _, s := range ss {
			for _, msg := range s.Conversations {
				if msg.From != instruct.FromGPT {
					continue
				}
				if bad := instruct.VerifyReport(msg.Value, rep, emptyLabels); len(bad) > 0 {
					t.Errorf("%s: answer quotes %v, not in the report: %s", file, bad, msg.Value)
				}
				if strings.HasPrefix(file, "stage2") && strings.HasPrefix(msg.Value, "The experimental lesion stage") {
					lesionTurn = msg.Value
				}
			}
		}
	}
	if lesionTurn == "" {
		t.Fatal("no lesion answer in the stage-2 data")
	}
	found := 0
	for _, ty := range rep.Lesions.Types {
		found += len(ty.Boxes)
	}
	if found > 0 && !strings.Contains(lesionTurn, "[x_min, y_min, x_max, y_max]") {
		t.Errorf("the Report has %d boxes, the lesion answer none: %s", found, lesionTurn)
	}
	t.Logf("lesion answer: %s", lesionTurn)

	_, stderr, code = run(t, "dataset", "build", "--datasets", "idrid_segmentation="+root, "--out", out, "--cache", cache, "--workers", "1", "--quiet")
	if code == 0 || !strings.Contains(stderr, "another build") {
		t.Errorf("a build without --lesions over a --lesions journal: exit %d, %s", code, stderr)
	}
}
