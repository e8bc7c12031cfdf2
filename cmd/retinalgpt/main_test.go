package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// run executes the CLI in-process and returns its output and exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCmd(&out, &errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil {
		errb.WriteString("retinalgpt: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), exitCode(err)
}

func requireORT(t *testing.T) {
	t.Helper()
	if _, err := infer.FindLibrary(""); err != nil && os.Getenv("RETINALGPT_REQUIRE_ORT") == "" {
		t.Skipf("ONNX Runtime not installed: %v", err)
	}
}

// pngHeaderOnly is a PNG whose IHDR claims w x h and which has no pixels.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func smallJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 64, 64)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAnalyzeBadInput(t *testing.T) {
	dir := t.TempDir()
	jp := smallJPEG(t)
	files := map[string][]byte{
		"empty.jpg":     {},
		"text.jpg":      []byte("this is not an image\n"),
		"random.png":    bytes.Repeat([]byte{0x13, 0x37, 0xde, 0xad}, 500),
		"truncated.jpg": jp[:len(jp)/2],
		"bomb.png":      pngHeaderOnly(100000, 100000),
		"black.jpg":     jp, // decodes, but no field of view: not a fundus photo
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		file     string
		wantCode int
		wantText string
	}{
		{"empty.jpg", exitBadImage, "empty"},
		{"text.jpg", exitBadImage, "not a supported image format"},
		{"random.png", exitBadImage, "not a supported image format"},
		{"truncated.jpg", exitBadImage, "corrupt"},
		{"bomb.png", exitBadImage, "too large"},
		{"missing.jpg", exitFailure, "no such file"},
		{"black.jpg", exitNotFundus, "field of view"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			if tc.file == "black.jpg" {
				requireORT(t)
			}
			out := t.TempDir()
			path := filepath.Join(dir, tc.file)
			_, stderr, code := run(t, "analyze", path, "--out", out)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tc.wantCode, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.file) || !strings.Contains(strings.ToLower(lines[0]), tc.wantText) {
				t.Errorf("want one line naming %s and saying %q, got %q", tc.file, tc.wantText, stderr)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("a failed analysis left files: %v", entries)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", "--size", "5"},
		{"analyze", "--no-such-flag"},
		{"eval", "vessels"},
		{"eval", "vessels", "--dataset", "drive", "--root", "/x", "extra"},
	} {
		if _, stderr, code := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit code %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
}

func TestAnalyzeSample(t *testing.T) {
	requireORT(t)
	out := t.TempDir()
	stdout, stderr, code := run(t, "analyze", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"idrid_055.jpg", "field of view", "vessels", "density", "CC BY 4.0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(filepath.Join(out, "idrid_055_report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := report.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Image.Width != 1072 || r.Image.Height != 712 {
		t.Errorf("image %dx%d, want 1072x712", r.Image.Width, r.Image.Height)
	}
	// IDRiD photos are cropped at top and bottom by the camera.
	if len(r.FOV.Clipped) == 0 || r.FOV.RadiusPx < 400 || r.FOV.RadiusPx > 560 {
		t.Errorf("FOV %+v: want a radius near 500 px clipped at top and bottom", r.FOV)
	}
	if r.Vessels == nil || r.Vessels.DensityFOV < 0.03 || r.Vessels.DensityFOV > 0.25 {
		t.Errorf("vessel section %+v: density outside the plausible 0.03..0.25", r.Vessels)
	}
	if st, err := os.Stat(filepath.Join(out, "idrid_055_overlay.png")); err != nil || st.Size() < 10000 {
		t.Errorf("overlay missing or tiny: %v", err)
	}
}

func TestAnalyzeWithoutRuntime(t *testing.T) {
	t.Setenv("ONNXRUNTIME_LIB", filepath.Join(t.TempDir(), "libonnxruntime.so"))
	out := t.TempDir()
	_, stderr, code := run(t, "analyze", "--out", out)
	if code != exitNoRuntime || !strings.Contains(stderr, infer.FetchCommand) {
		t.Fatalf("exit %d, stderr %q: want %d and the command that fixes it", code, stderr, exitNoRuntime)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("left files: %v", entries)
	}
}

// --json prints each Report as one line that decodes as a Report.
func TestAnalyzeJSONLines(t *testing.T) {
	requireORT(t)
	stdout, stderr, code := run(t, "analyze", "--json", "--no-files")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 1 {
		t.Fatalf("want one JSON line, got %d", len(lines))
	}
	r, err := report.Decode(strings.NewReader(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if r.Anatomy == nil || r.Vessels == nil || r.Vessels.Measures == nil {
		t.Errorf("report lacks a section: %+v", r)
	}
}
