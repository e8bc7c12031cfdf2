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

// TestStore: with a store, an analysed upload and its report are written
// (by report id, no temporary file left), and a new server on the same
// directory answers for it: the report and CSV from the stored JSON, the
// overlay by re-analysing the stored photo.
func TestStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	st, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("store dir: %v %v", fi.Mode(), err)
	}
	_, ts := newTest(t, Config{Analyzer: &fake{}, Store: st})
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
	if got, want := listFiles(t, dir), []string{id + ".json", id + ".png"}; !slices.Equal(got, want) {
		t.Fatalf("store holds %v, want %v", got, want)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, id+".png")); !bytes.Equal(data, img) {
		t.Error("the stored photo is not the upload")
	}
	for _, name := range []string{id + ".png", id + ".json"} {
		if fi, _ := os.Stat(filepath.Join(dir, name)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}

	// A restart: a new server (empty cache) on the same directory.
	f2 := &fake{}
	st2, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, ts2 := newTest(t, Config{Analyzer: f2, Store: st2})
	resp, b = do(t, "GET", ts2.URL+"/v1/analyses/"+id, "", "", nil)
	var r2 report.Report
	if resp.StatusCode != 200 || json.Unmarshal(b, &r2) != nil || r2.ID != id || !r2.CreatedAt.Equal(r1.CreatedAt) || r2.Image.File != "eye.png" {
		t.Fatalf("report after a restart: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(t, "GET", ts2.URL+"/v1/analyses/"+id+"/report.csv", "", "", nil); resp.StatusCode != 200 || !bytes.Contains(b, []byte("eye.png,")) {
		t.Errorf("report.csv after a restart: %d %s", resp.StatusCode, b)
	}
	if f2.calls.Load() != 0 {
		t.Errorf("the report and CSV re-ran the analysis (%d calls)", f2.calls.Load())
	}
	if resp, b := do(t, "GET", ts2.URL+"/v1/analyses/"+id+"/overlay.png", "", "", nil); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("overlay after a restart: %d %s", resp.StatusCode, b)
	}
	if f2.calls.Load() != 1 {
		t.Errorf("the overlay after a restart: %d analyses, want 1 (of the stored photo)", f2.calls.Load())
	}
	if resp, b := do(t, "GET", ts2.URL+"/v1/analyses/"+id+"/report.html", "", "", nil); resp.StatusCode != 200 || !bytes.Contains(b, []byte("data:image/jpeg;base64,")) {
		t.Errorf("report.html after a restart: %d", resp.StatusCode)
	}
	for _, bad := range []string{"0000000000000000", "..%2F..%2Fetc%2Fpasswd", "ABCDEF0123456789"} {
		if resp, _ := do(t, "GET", ts2.URL+"/v1/analyses/"+bad, "", "", nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", bad, resp.StatusCode)
		}
	}
	_, m := do(t, "GET", ts2.URL+"/metrics", "", "", nil)
	if !bytes.Contains(m, []byte(`retinalgpt_store_writes_total{outcome="ok"} 1`)) {
		t.Errorf("metrics lack the store write of the re-analysis")
	}
}

func TestStoreNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if _, err := OpenStore(dir); err == nil || !strings.Contains(err.Error(), "not writable") {
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
