package server

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

// listFiles lists every file under dirs (relative to its dir).
func listFiles(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() {
				rel, _ := filepath.Rel(d, p)
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

// TestStore: with a store, an analysed upload, its layers and its report
// are written (by report id, no temporary file left), and a new server on
// the same directory answers for it without running the models: the
// report and CSV from the stored JSON, the overlay (every layer choice)
// and report.html from the stored photo and layers, byte for byte as
// before the restart. An entry stored without layers (before they were
// stored) is analysed again from its photo, as before.
func TestStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	st, err := OpenStore(dir, StoreConfig{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("store dir: %v %v", fi.Mode(), err)
	}
	_, ts := newTest(t, Config{Analyzer: &fake{masks: true}, Store: st})
	img := testPNG(t, 41)
	resp, b := do(t, "POST", ts.URL+"/v1/analyses?name=eye.png", "", "image/png", img)
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	var r1 report.Report
	if err := json.Unmarshal(b, &r1); err != nil {
		t.Fatal(err)
	}
	id := r1.ID
	if got, want := listFiles(t, dir), []string{id + ".json", id + ".layers.zip", id + ".png"}; !slices.Equal(got, want) {
		t.Fatalf("store holds %v, want %v", got, want)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, id+".png")); !bytes.Equal(data, img) {
		t.Error("the stored photo is not the upload")
	}
	for _, name := range []string{id + ".png", id + ".layers.zip", id + ".json"} {
		if fi, _ := os.Stat(filepath.Join(dir, name)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	drawn := []string{"/overlay.png", "/overlay.png?layers=vessels", "/overlay.png?layers=av,disc", "/overlay.png?layers=none", "/report.html"}
	before := map[string][]byte{}
	for _, p := range drawn {
		resp, b := do(t, "GET", ts.URL+"/v1/analyses/"+id+p, "", "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, b)
		}
		before[p] = b
	}
	if bytes.Equal(before["/overlay.png"], before["/overlay.png?layers=none"]) {
		t.Fatal("the fake's masks draw nothing: the test would prove nothing")
	}

	// A restart: a new server (empty cache) on the same directory.
	restart := func() (*fake, string) {
		t.Helper()
		f := &fake{masks: true}
		st, err := OpenStore(dir, StoreConfig{Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		_, ts := newTest(t, Config{Analyzer: f, Store: st})
		return f, ts.URL
	}
	f2, url2 := restart()
	resp, b = do(t, "GET", url2+"/v1/analyses/"+id, "", "", nil)
	var r2 report.Report
	if resp.StatusCode != 200 || json.Unmarshal(b, &r2) != nil || r2.ID != id || !r2.CreatedAt.Equal(r1.CreatedAt) || r2.Image.File != "eye.png" {
		t.Fatalf("report after a restart: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(t, "GET", url2+"/v1/analyses/"+id+"/report.csv", "", "", nil); resp.StatusCode != 200 || !bytes.Contains(b, []byte("eye.png,")) {
		t.Errorf("report.csv after a restart: %d %s", resp.StatusCode, b)
	}
	for _, p := range drawn {
		resp, b := do(t, "GET", url2+"/v1/analyses/"+id+p, "", "", nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, before[p]) {
			t.Errorf("GET %s after a restart: %d, %d bytes; not the %d bytes served before", p, resp.StatusCode, len(b), len(before[p]))
		}
	}
	if n := f2.calls.Load(); n != 0 {
		t.Errorf("after a restart the report, CSV, overlay and report.html ran %d analyses, want 0", n)
	}
	_, m := do(t, "GET", url2+"/metrics", "", "", nil)
	for _, want := range []string{`retinalgpt_store_restores_total{outcome="ok"} 1`, "retinalgpt_store_entries 1\n", `retinalgpt_store_writes_total{outcome="ok"} 0`} {
		if !bytes.Contains(m, []byte(want)) {
			t.Errorf("metrics after a restart lack %q", want)
		}
	}
	if bytes.Contains(m, []byte("retinalgpt_analyses_total{")) {
		t.Errorf("metrics after a restart count analyses:\n%s", m)
	}
	for _, bad := range []string{"0000000000000000", "..%2F..%2Fetc%2Fpasswd", "ABCDEF0123456789"} {
		if resp, _ := do(t, "GET", url2+"/v1/analyses/"+bad, "", "", nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", bad, resp.StatusCode)
		}
	}

	// An entry stored before layers were: analysed again, drawn the same.
	if err := os.Remove(filepath.Join(dir, id+".layers.zip")); err != nil {
		t.Fatal(err)
	}
	f3, url3 := restart()
	if resp, b := do(t, "GET", url3+"/v1/analyses/"+id+"/overlay.png", "", "", nil); resp.StatusCode != 200 || !bytes.Equal(b, before["/overlay.png"]) {
		t.Errorf("overlay of an entry without layers: %d, %d bytes", resp.StatusCode, len(b))
	}
	if n := f3.calls.Load(); n != 1 {
		t.Errorf("the overlay of an entry without layers: %d analyses, want 1 (of the stored photo)", n)
	}
	_, m = do(t, "GET", url3+"/metrics", "", "", nil)
	if !bytes.Contains(m, []byte(`retinalgpt_store_writes_total{outcome="ok"} 1`)) {
		t.Errorf("metrics lack the store write of the re-analysis")
	}
	if got, want := listFiles(t, dir), []string{id + ".json", id + ".layers.zip", id + ".png"}; !slices.Equal(got, want) {
		t.Errorf("after the re-analysis the store holds %v, want %v (its layers back)", got, want)
	}

	// Unusable layers: logged, and the photo is analysed again.
	if err := os.WriteFile(filepath.Join(dir, id+".layers.zip"), []byte("not a zip"), 0o600); err != nil {
		t.Fatal(err)
	}
	f4, url4 := restart()
	if resp, b := do(t, "GET", url4+"/v1/analyses/"+id+"/overlay.png?layers=vessels", "", "", nil); resp.StatusCode != 200 || !bytes.Equal(b, before["/overlay.png?layers=vessels"]) {
		t.Errorf("overlay of an entry with broken layers: %d, %d bytes", resp.StatusCode, len(b))
	}
	if n := f4.calls.Load(); n != 1 {
		t.Errorf("broken layers: %d analyses, want 1", n)
	}

	// A photo deleted by hand: the report (and report.html without
	// pictures) still, the overlay 404.
	if err := os.Remove(filepath.Join(dir, id+".png")); err != nil {
		t.Fatal(err)
	}
	_, url5 := restart()
	if resp, b := do(t, "GET", url5+"/v1/analyses/"+id+"/report.html", "", "", nil); resp.StatusCode != 200 || bytes.Contains(b, []byte("data:image/jpeg;base64,")) {
		t.Errorf("report.html without its photo: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", url5+"/v1/analyses/"+id+"/overlay.png", "", "", nil); resp.StatusCode != 404 {
		t.Errorf("overlay without its photo: %d, want 404", resp.StatusCode)
	}
}

func TestStoreNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if _, err := OpenStore(dir, StoreConfig{Logger: discard}); err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("OpenStore of a read-only dir: %v", err)
	}
}

// TestNoDiskWrites: without a store, nothing the server does (uploads raw
// and multipart, a large multipart body, chat, overlay, reports) writes a
// file: HOME, TMPDIR and the working directory stay empty.
func TestNoDiskWrites(t *testing.T) {
	// The fake reads its report relative to the package: with the working
	// directory moved, it needs an absolute path.
	rep, err := filepath.Abs("../assistant/testdata/future_report.json")
	if err != nil {
		t.Fatal(err)
	}
	home, tmp, cwd := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("TMPDIR", tmp)
	t.Chdir(cwd)
	_, ts := newTest(t, Config{Analyzer: &fake{file: rep}})
	img := testPNG(t, 51)
	resp, b := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", img)
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/v1/analyses/")
	// Multipart with a 12 MiB field before the image: larger than
	// ParseMultipartForm keeps in memory, were it used.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("padding", "padding.bin")
	fw.Write(bytes.Repeat([]byte{7}, 12<<20))
	fw, _ = mw.CreateFormFile("image", "eye.png")
	fw.Write(testPNG(t, 52))
	mw.Close()
	if resp, b := do(t, "POST", ts.URL+"/v1/analyses", "", mw.FormDataContentType(), mp.Bytes()); resp.StatusCode != 201 {
		t.Fatalf("multipart upload: %d %s", resp.StatusCode, b)
	}
	for _, p := range []string{"", "/overlay.png", "/report.csv", "/report.html"} {
		if resp, _ := do(t, "GET", ts.URL+"/v1/analyses/"+id+p, "", "", nil); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	if resp, b := do(t, "POST", ts.URL+"/v1/chat/completions", "", "application/json", chatBody(t, img, true, "how many haemorrhages?")); resp.StatusCode != http.StatusOK {
		t.Errorf("chat: %d %s", resp.StatusCode, b)
	}
	if files := listFiles(t, home, tmp, cwd); len(files) > 0 {
		t.Errorf("files written without --store: %v", files)
	}
}
