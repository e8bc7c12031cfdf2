package instruct

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

// photoPNG is a small fundus-like PNG: a bright disc on black with a
// random texture drawn from seed, so different seeds are different photos.
func photoPNG(t testing.TB, seed uint64, flip bool) []byte {
	t.Helper()
	const n = 192
	r := rand.New(rand.NewPCG(seed, 7))
	// A coarse random field, upsampled: structure at the pHash's frequencies.
	var coarse [8][8]float64
	for y := range 8 {
		for x := range 8 {
			coarse[y][x] = r.Float64()
		}
	}
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			dx, dy := float64(x)-n/2+0.5, float64(y)-n/2+0.5
			if dx*dx+dy*dy > (0.47*n)*(0.47*n) {
				img.Set(x, y, color.NRGBA{0, 0, 0, 255})
				continue
			}
			// bilinear in the coarse field: smooth, like a real retina at this scale
			fx, fy := min(max(float64(x)*7/(n-1), 0), 7), min(max(float64(y)*7/(n-1), 0), 7)
			x0, y0 := min(int(fx), 6), min(int(fy), 6)
			ax, ay := fx-float64(x0), fy-float64(y0)
			v := (1-ay)*((1-ax)*coarse[y0][x0]+ax*coarse[y0][x0+1]) + ay*((1-ax)*coarse[y0+1][x0]+ax*coarse[y0+1][x0+1])
			img.Set(x, y, color.NRGBA{uint8(120 + 100*v), uint8(60 + 60*v), uint8(20 + 30*v), 255})
		}
	}
	if flip {
		f := image.NewNRGBA(img.Bounds())
		for y := range n {
			for x := range n {
				f.Set(n-1-x, y, img.At(x, y))
			}
		}
		img = f
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// driveTree makes a DRIVE-layout folder: n training photos (the last one
// corrupt) and two test photos, one of them a flipped copy of training
// photo 21.
func driveTree(t testing.TB, n int) string {
	root := t.TempDir()
	for _, d := range []string{"training/images", "test/images"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for i := range n {
		p := filepath.Join(root, "training/images", fmt.Sprintf("%02d_training.tif", 21+i))
		data := photoPNG(t, uint64(i), false)
		if i == n-1 {
			data = []byte("II*\x00 not really a tiff")
		}
		os.WriteFile(p, data, 0o644)
	}
	os.WriteFile(filepath.Join(root, "test/images/01_test.tif"), photoPNG(t, 0, true), 0o644)
	os.WriteFile(filepath.Join(root, "test/images/02_test.tif"), photoPNG(t, 1000, false), 0o644)
	return root
}

var errCorrupt = errors.New("decode: corrupt")

func fakeAnalyze(rep *report.Report, calls *atomic.Int64, delay time.Duration) AnalyzeFunc {
	return func(ctx context.Context, data []byte, name string) (*report.Report, error) {
		calls.Add(1)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if bytes.HasPrefix(data, []byte("II*")) {
			return nil, fmt.Errorf("%s: %w", name, errCorrupt)
		}
		return rep, nil
	}
}

var fixedNow = func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }

func baseConfig(t testing.TB, root, out string, analyze AnalyzeFunc) Config {
	return Config{Sources: []Source{{"drive", root}}, Out: out, Workers: 2, Analyze: analyze,
		Classify: func(err error) string {
			if errors.Is(err, errCorrupt) {
				return "bad_image"
			}
			return "error"
		}, Command: []string{"test"}, Now: fixedNow}
}

// outputs reads every output file of a build; the manifest with its run
// fields cleared.
func outputs(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []string{FeaturesFile, FeaturesParquetFile, Stage1File, Stage2File, Stage1ValFile, Stage2ValFile, Stage1TestFile, Stage2TestFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m.StartedAt, m.FinishedAt, m.Command, m.Resumed, m.Shards = time.Time{}, time.Time{}, nil, 0, 0
	for _, d := range m.Datasets {
		d.FromCache = 0
	}
	mb, _ := json.MarshalIndent(m, "", " ")
	out[ManifestFile] = string(mb)
	return out
}

func sameOutputs(t *testing.T, what string, a, b map[string]string) {
	t.Helper()
	for k := range a {
		if a[k] != b[k] {
			t.Errorf("%s: %s differs:\n%.2000s\n----\n%.2000s", what, k, a[k], b[k])
		}
	}
}

// TestRunFake runs the whole build on a DRIVE-layout folder with a fake
// analysis: one photo fails, the test split is left out and its flipped
// copy in training goes to test; a rerun resumes everything from the
// journal; a fresh run with the cache analyses nothing.
func TestRunFake(t *testing.T) {
	root := driveTree(t, 4)
	var calls atomic.Int64
	cfg := baseConfig(t, root, t.TempDir(), fakeAnalyze(sampleReport(t), &calls, 0))
	cfg.Cache = t.TempDir()
	m, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc := m.Datasets["drive"]
	if dc.Records != 6 || dc.ExcludedTest != 2 || dc.Analysed != 3 || dc.Failed != 1 || len(m.Failures) != 1 ||
		m.Failures[0].Kind != "bad_image" || !strings.Contains(m.Failures[0].Reason, "corrupt") {
		t.Errorf("counts %+v failures %+v", dc, m.Failures)
	}
	if calls.Load() != 4 {
		t.Errorf("%d analyses, want 4 (test split not analysed)", calls.Load())
	}
	// 21_training is a flipped copy of 01_test: same group, test set.
	if len(m.Splits.Groups) != 1 || m.Splits.NearPairs != 1 || m.Splits.Groups[0].Set != SetTest ||
		!reflect.DeepEqual(m.Splits.Groups[0].Members, []string{"drive/21_training", "drive/01_test"}) {
		t.Errorf("duplicate groups %+v", m.Splits)
	}
	rows := readCSV(t, filepath.Join(cfg.Out, FeaturesFile))
	if len(rows) != 4 || rows[0][colSet] != "set" {
		t.Fatalf("features.csv: %d rows, header %v", len(rows), rows[0][:8])
	}
	for _, r := range rows[1:] {
		if r[4] == "21_training" && r[colSet] != SetTest {
			t.Errorf("21_training (a copy of a test photo) in set %q", r[colSet])
		}
	}
	validateLLaVA(t, cfg.Out)
	first := outputs(t, cfg.Out)

	calls.Store(0)
	m2, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 0 || m2.Resumed != 6 {
		t.Errorf("rerun: %d analyses, %d resumed; want 0 and 6", calls.Load(), m2.Resumed)
	}
	sameOutputs(t, "rerun", first, outputs(t, cfg.Out))

	cfg.Out = t.TempDir()
	m3, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || m3.Datasets["drive"].FromCache != 3 {
		t.Errorf("fresh run with cache: %d analyses (want 1, the corrupt photo), %d from cache", calls.Load(), m3.Datasets["drive"].FromCache)
	}
	sameOutputs(t, "cached run", first, outputs(t, cfg.Out))

	// Another build in the same folder is refused.
	cfg.Limit = 1
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "another build") {
		t.Errorf("different build in the same folder: %v", err)
	}
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// validateLLaVA checks every LLaVA file of a build against the
// conversation schema, from the raw JSON: an array of objects with
// exactly id (non-empty string), image (non-empty relative path) and
// conversations (objects with exactly from and value, from human and gpt
// alternating, human first, gpt last), "<image>" exactly once, in the
// first human turn; stage 1 one exchange, stage 2 three to six.
func validateLLaVA(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{Stage1File, Stage2File, Stage1ValFile, Stage2ValFile, Stage1TestFile, Stage2TestFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var doc []map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: not an array of objects: %v", f, err)
		}
		lo, hi := 1, 1
		if strings.HasPrefix(f, "stage2") {
			lo, hi = 3, 6
		}
		for n, s := range doc {
			if len(s) != 3 || s["id"] == nil || s["image"] == nil || s["conversations"] == nil {
				t.Errorf("%s[%d]: keys %v, want id, image, conversations", f, n, keys(s))
				continue
			}
			var id, img string
			var conv []map[string]string
			if json.Unmarshal(s["id"], &id) != nil || id == "" || json.Unmarshal(s["image"], &img) != nil || img == "" ||
				filepath.IsAbs(img) || strings.Contains(img, "..") || json.Unmarshal(s["conversations"], &conv) != nil {
				t.Errorf("%s[%d]: bad id/image/conversations", f, n)
				continue
			}
			if len(conv)%2 != 0 || len(conv)/2 < lo || len(conv)/2 > hi {
				t.Errorf("%s %s: %d messages", f, id, len(conv))
			}
			tokens := 0
			for i, m := range conv {
				want := "human"
				if i%2 == 1 {
					want = "gpt"
				}
				if len(m) != 2 || m["from"] != want || strings.TrimSpace(m["value"]) == "" {
					t.Errorf("%s %s message %d: %v, want from %s and a value", f, id, i, m, want)
				}
				c := strings.Count(m["value"], "<image>")
				tokens += c
				if c > 0 && i != 0 {
					t.Errorf("%s %s: <image> in message %d", f, id, i)
				}
			}
			if tokens != 1 {
				t.Errorf("%s %s: %d <image> tokens", f, id, tokens)
			}
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestShardsMerge builds in three shards and merges them: the same
// outputs as one process; an incomplete or missing shard is refused.
func TestShardsMerge(t *testing.T) {
	root := driveTree(t, 6)
	rep := sampleReport(t)
	var calls atomic.Int64
	single := baseConfig(t, root, t.TempDir(), fakeAnalyze(rep, &calls, 0))
	if _, err := Run(context.Background(), single); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	var dirs []string
	for i := range 3 {
		c := baseConfig(t, root, filepath.Join(parent, fmt.Sprintf("shard-%d-of-3", i)), fakeAnalyze(rep, &calls, 0))
		c.Shard, c.Shards = i, 3
		m, err := Run(context.Background(), c)
		if err != nil || m != nil {
			t.Fatalf("shard %d: %v %v", i, m, err)
		}
		dirs = append(dirs, c.Out)
	}
	if _, err := Merge(context.Background(), t.TempDir(), dirs[:2], fixedNow); err == nil || !strings.Contains(err.Error(), "missing [2]") {
		t.Errorf("two of three shards: %v", err)
	}
	out := t.TempDir()
	m, err := Merge(context.Background(), out, dirs, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if m.Shards != 3 {
		t.Errorf("manifest shards %d", m.Shards)
	}
	sameOutputs(t, "merged shards", outputs(t, single.Out), outputs(t, out))
}

// TestKillResume runs the build in a child process (this test binary
// again), kills it with SIGKILL after a few records, runs it again to the
// end and compares with an uninterrupted run: byte-identical outputs, the
// manifest apart from its run fields.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	root := driveTree(t, 12)
	child := func(out string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBuildChild$")
		cmd.Env = append(os.Environ(), "INSTRUCT_CHILD_ROOT="+root, "INSTRUCT_CHILD_OUT="+out)
		return cmd
	}
	whole := t.TempDir()
	if b, err := child(whole).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, b)
	}
	killed := t.TempDir()
	cmd := child(killed)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	jdir := filepath.Join(killed, JournalDir)
	deadline := time.Now().Add(30 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		ents, _ := filepath.Glob(filepath.Join(jdir, "*.json"))
		if n = len(ents); n >= 4 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	ents, _ := filepath.Glob(filepath.Join(jdir, "*.json"))
	if len(ents) < 4 || len(ents) >= 14 {
		t.Fatalf("killed after %d journal entries, want 4..13 of 14", len(ents))
	}
	if _, err := os.Stat(filepath.Join(killed, FeaturesFile)); err == nil {
		t.Fatal("a killed run wrote outputs")
	}
	b, err := child(killed).CombinedOutput()
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, b)
	}
	var m Manifest
	mb, _ := os.ReadFile(filepath.Join(killed, ManifestFile))
	json.Unmarshal(mb, &m)
	if m.Resumed < 4 {
		t.Errorf("resumed run took %d records from the journal, want ≥4", m.Resumed)
	}
	t.Logf("killed after %d records; resumed %d", len(ents), m.Resumed)
	sameOutputs(t, "resumed", outputs(t, whole), outputs(t, killed))
}

// TestBuildChild is TestKillResume's child: a slow build.
func TestBuildChild(t *testing.T) {
	root, out := os.Getenv("INSTRUCT_CHILD_ROOT"), os.Getenv("INSTRUCT_CHILD_OUT")
	if root == "" {
		t.Skip("child of TestKillResume")
	}
	var calls atomic.Int64
	cfg := baseConfig(t, root, out, fakeAnalyze(sampleReport(t), &calls, 150*time.Millisecond))
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

// TestParquetReadBack reads features.parquet back: FeatureHeader's
// columns in order, and the CSV's cells (null where empty).
func TestParquetReadBack(t *testing.T) {
	root := driveTree(t, 3)
	var calls atomic.Int64
	cfg := baseConfig(t, root, t.TempDir(), fakeAnalyze(sampleReport(t), &calls, 0))
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(cfg.Out, FeaturesFile))
	f, err := os.Open(filepath.Join(cfg.Out, FeaturesParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range pf.Schema().Columns() {
		names = append(names, c[0])
	}
	if !reflect.DeepEqual(names, rows[0]) {
		t.Fatalf("parquet columns\n%v\nwant\n%v", names, rows[0])
	}
	if pf.NumRows() != int64(len(rows)-1) {
		t.Fatalf("%d parquet rows, %d CSV rows", pf.NumRows(), len(rows)-1)
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, len(rows))
	got, _ := r.ReadRows(buf)
	if got != len(rows)-1 {
		t.Fatalf("read %d rows", got)
	}
	checked := 0
	for i, pr := range buf[:got] {
		csvRow := rows[i+1]
		for _, v := range pr {
			c := v.Column()
			cell := csvRow[c]
			if v.IsNull() {
				if cell != "" {
					t.Errorf("row %d %s: null, CSV %q", i, names[c], cell)
				}
				continue
			}
			var s string
			switch v.Kind() {
			case parquet.ByteArray:
				s = string(v.ByteArray())
			case parquet.Int32:
				s = fmt.Sprint(v.Int32())
			case parquet.Boolean:
				s = fmt.Sprint(v.Boolean())
				if cell == "1" || cell == "0" {
					s = map[bool]string{true: "1", false: "0"}[v.Boolean()]
				}
			case parquet.Double:
				var want float64
				fmt.Sscan(cell, &want)
				if v.Double() != want {
					t.Errorf("row %d %s: %v, CSV %q", i, names[c], v.Double(), cell)
				}
				checked++
				continue
			}
			if s != cell {
				t.Errorf("row %d %s: %q, CSV %q", i, names[c], s, cell)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("only %d cells compared", checked)
	}
}

// TestExcludeEval: a benchmark list naming one photo by path (a flipped
// copy of a training photo is in the data), one by SHA-256 and one by
// pHash keeps all three out of every output.
func TestExcludeEval(t *testing.T) {
	root := driveTree(t, 5)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bench.png"), photoPNG(t, 2, true), 0o644) // 23_training flipped
	sha := func(p string) string {
		b, _ := os.ReadFile(p)
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	ph, _ := fingerprint(t, photoPNG(t, 3, false)) // 24_training
	list := "# benchmark images\nbench.png\n" + sha(filepath.Join(root, "training/images/22_training.tif")) + "\n\n" + ph[0] + "\n"
	lp := filepath.Join(dir, "eval.txt")
	os.WriteFile(lp, []byte(list), 0o644)
	eval, err := ReadEvalList(lp)
	if err != nil || len(eval) != 3 || len(eval[0].PHash) != 8 || eval[1].SHA256 == "" || len(eval[2].PHash) != 1 {
		t.Fatalf("ReadEvalList: %v %+v", err, eval)
	}
	var calls atomic.Int64
	cfg := baseConfig(t, root, t.TempDir(), fakeAnalyze(sampleReport(t), &calls, 0))
	cfg.ExcludeEval = eval
	m, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Datasets["drive"].ExcludedEval != 3 || m.Splits.ExcludedEval != 3 || m.Datasets["drive"].Analysed != 1 {
		t.Errorf("excluded %d/%d, analysed %d; want 3, 3, 1 (21_training)", m.Datasets["drive"].ExcludedEval, m.Splits.ExcludedEval, m.Datasets["drive"].Analysed)
	}
	rows := readCSV(t, filepath.Join(cfg.Out, FeaturesFile))
	if len(rows) != 2 || rows[1][4] != "21_training" {
		t.Errorf("features rows %v", rows[1:])
	}
}
