package fundus

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzFundusDecode checks that Decode never panics, that every failure is
// one line wrapping one of the sentinels, and that what decodes is usable by
// DetectFOV (which must not panic either).
func FuzzFundusDecode(f *testing.F) {
	small := gradient(12, 9)
	disc := syntheticFundus(discSpec{w: 48, h: 40, cx: 24, cy: 20, r: 17, background: 3, bright: 200, seed: 9})
	for _, format := range []string{"png", "jpeg", "gif", "tiff", "bmp"} {
		f.Add(encode(f, format, small))
		f.Add(encode(f, format, disc))
	}
	jpg := encode(f, "jpeg", disc)
	f.Add(jpg[:len(jpg)/2])
	f.Add(hugePNG(100000, 100000))
	f.Add(lzwTIFF(f, lzwNoEOI))
	f.Add(lzwTIFF(f, lzwGarbageTail))
	for _, s := range []string{
		"", "P2 2 2 255 0 1 2 3", "P3 1 1 65535 1 2 3", "P5 2 1 255\n\x00\xff",
		"P6 1 1 255\n\x01\x02\x03", "P6 100000 100000 255\n", "hello world",
	} {
		f.Add([]byte(s))
	}
	sentinels := []error{ErrEmpty, ErrTooLarge, ErrCorrupt, ErrUnsupported}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Small limits keep the fuzzer from spending its time (and memory)
		// on legitimately large images.
		img, err := Decode(bytes.NewReader(data), "fuzz.img", Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20})
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, "fuzz.img") || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("bad error message %q", msg)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error %q wraps no sentinel", msg)
		}
		if img.Pix == nil || img.Pix.Rect.Min.X != 0 || img.Pix.Rect.Min.Y != 0 ||
			img.Width != img.Pix.Rect.Dx() || img.Height != img.Pix.Rect.Dy() || int64(img.Width)*int64(img.Height) > 1<<20 {
			t.Fatalf("inconsistent image: %+v", img)
		}
		if len(img.Pix.Pix) != 4*img.Width*img.Height {
			t.Fatalf("pixel buffer %d bytes for %dx%d", len(img.Pix.Pix), img.Width, img.Height)
		}
		if fov, err := DetectFOV(img.Pix); err == nil && (fov.Radius <= 0 || fov.Coverage < 0 || fov.Coverage > 1) {
			t.Fatalf("implausible FOV %+v", fov)
		}
	})
}
