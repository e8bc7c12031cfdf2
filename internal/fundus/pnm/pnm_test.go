package pnm

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io"
	"runtime"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		format string
		want   []color.Color // row-major pixels
		w, h   int
	}{
		{
			name: "P2 plain grey with comments", format: "pgm", w: 2, h: 2,
			data: "P2\n# made by hand\n2 2 # size\n255\n0 255\n# mid-raster comment\n128 7\n",
			want: []color.Color{color.Gray{0}, color.Gray{255}, color.Gray{128}, color.Gray{7}},
		},
		{
			name: "P2 maxval 15 rescaled", format: "pgm", w: 3, h: 1,
			data: "P2 3 1 15 0 15 20",
			want: []color.Color{color.Gray{0}, color.Gray{255}, color.Gray{255}}, // 20 clamps to maxval
		},
		{
			name: "P2 16-bit", format: "pgm", w: 2, h: 1,
			data: "P2 2 1 65535\n1000 65535\n",
			want: []color.Color{color.Gray16{1000}, color.Gray16{65535}},
		},
		{
			name: "P3 plain colour", format: "ppm", w: 2, h: 1,
			data: "P3\n2 1\n255\n255 0 0  0 0 255\n",
			want: []color.Color{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}},
		},
		{
			name: "P3 12-bit", format: "ppm", w: 1, h: 1,
			data: "P3 1 1 4095 4095 0 2048",
			want: []color.Color{color.NRGBA64{65535, 0, 32776, 65535}},
		},
		{
			name: "P5 raw grey, raster starts with a whitespace byte", format: "pgm", w: 3, h: 1,
			data: "P5 3 1 255\n\x0a\x20\xff",
			want: []color.Color{color.Gray{0x0a}, color.Gray{0x20}, color.Gray{0xff}},
		},
		{
			name: "P5 raw maxval 1", format: "pgm", w: 2, h: 1,
			data: "P5 2 1 1\n\x00\x01",
			want: []color.Color{color.Gray{0}, color.Gray{255}},
		},
		{
			name: "P5 raw 16-bit big-endian", format: "pgm", w: 2, h: 1,
			data: "P5\n2 1\n65535\n\x01\x02\xff\xfe",
			want: []color.Color{color.Gray16{0x0102}, color.Gray16{0xfffe}},
		},
		{
			name: "P6 raw colour, comment after maxval", format: "ppm", w: 2, h: 1,
			data: "P6 2 1 255# c\n\x01\x02\x03\xfa\xfb\xfc",
			want: []color.Color{color.NRGBA{1, 2, 3, 255}, color.NRGBA{250, 251, 252, 255}},
		},
		{
			name: "P6 raw 16-bit", format: "ppm", w: 1, h: 1,
			data: "P6 1 1 65535\n\x12\x34\x00\x00\xff\xff",
			want: []color.Color{color.NRGBA64{0x1234, 0, 0xffff, 0xffff}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, format, err := image.DecodeConfig(strings.NewReader(tc.data))
			if err != nil {
				t.Fatalf("DecodeConfig: %v", err)
			}
			if format != tc.format || cfg.Width != tc.w || cfg.Height != tc.h {
				t.Fatalf("DecodeConfig = %s %dx%d, want %s %dx%d", format, cfg.Width, cfg.Height, tc.format, tc.w, tc.h)
			}
			img, format, err := image.Decode(strings.NewReader(tc.data))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if format != tc.format {
				t.Errorf("format = %q, want %q", format, tc.format)
			}
			if img.ColorModel() != cfg.ColorModel {
				t.Errorf("colour model differs between Decode and DecodeConfig")
			}
			if got := img.Bounds(); got != image.Rect(0, 0, tc.w, tc.h) {
				t.Fatalf("bounds = %v", got)
			}
			for i, want := range tc.want {
				got := img.At(i%tc.w, i/tc.w)
				gr, gg, gb, ga := got.RGBA()
				wr, wg, wb, wa := want.RGBA()
				if gr != wr || gg != wg || gb != wb || ga != wa {
					t.Errorf("pixel %d = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, data string
		truncated  bool // the error must wrap io.ErrUnexpectedEOF
	}{
		{"empty", "", true},
		{"magic only", "P6", true},
		{"bad magic", "P7 1 1 255\n", false},
		{"PBM unsupported", "P4 1 1\n\x00", false},
		{"missing height", "P5 2", true},
		{"letters for width", "P5 x 1 255\n", false},
		{"zero width", "P5 0 1 255\n", false},
		{"maxval zero", "P5 1 1 0\n\x00", false},
		{"maxval too big", "P5 1 1 65536\n\x00\x00", false},
		{"width overflow", "P5 99999999999999999999 1 255\n", false},
		{"no separator after maxval", "P5 1 1 255x", false},
		{"raw raster short", "P6 2 2 255\n\x00\x00\x00", true},
		{"raw 16-bit raster short", "P5 2 1 65535\n\x00\x00\x01", true},
		{"plain raster short", "P2 2 2 255 1 2 3", true},
		{"plain sample not a number", "P3 1 1 255 1 2 z", false},
		{"plain sample too big", "P2 1 1 255 70000", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.data))
			if err == nil {
				t.Fatal("Decode succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "pnm: ") {
				t.Errorf("error %q lacks the pnm: prefix", err)
			}
			if got := errors.Is(err, io.ErrUnexpectedEOF); got != tc.truncated {
				t.Errorf("errors.Is(%q, io.ErrUnexpectedEOF) = %v, want %v", err, got, tc.truncated)
			}
		})
	}
}

// A header promising a huge raster over a few bytes of data must fail
// without allocating anything near the promised size.
func TestHostileHeaderAllocatesLittle(t *testing.T) {
	tests := []string{
		"P6 2147483647 2147483647 65535\n\x00\x01\x02",
		"P5 60000 60000 255\n" + strings.Repeat("\x00", 1000),
		"P3 60000 60000 255\n" + strings.Repeat("1 ", 1000),
		"P2 60000 60000 65535\n" + strings.Repeat("65535 ", 1000),
	}
	for _, data := range tests {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(strings.NewReader(data))
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("Decode(%.20q...) succeeded, want an error", data)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("Decode(%.20q...) allocated %d bytes, want < 1 MiB", data, got)
		}
	}
}

func TestDecodeConfigReadsHeaderOnly(t *testing.T) {
	// DecodeConfig must succeed on a huge header without any raster: callers
	// use it to refuse oversized images before decoding.
	cfg, err := DecodeConfig(strings.NewReader("P6\n100000 100000\n255\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 100000 || cfg.Height != 100000 {
		t.Errorf("config = %dx%d", cfg.Width, cfg.Height)
	}
}

func TestLargeRawRoundTrip(t *testing.T) {
	// Bigger than readRaw's first chunk, so the growth path is exercised.
	const w, h = 300, 200
	var buf bytes.Buffer
	buf.WriteString("P6 300 200 255\n")
	for i := range w * h * 3 {
		buf.WriteByte(byte(i * 7))
	}
	img, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	n := img.(*image.NRGBA)
	for _, i := range []int{0, 1, 12345, w*h - 1} {
		p := n.Pix[4*i : 4*i+4]
		want := [4]byte{byte(3 * i * 7), byte((3*i + 1) * 7), byte((3*i + 2) * 7), 255}
		if [4]byte(p) != want {
			t.Errorf("pixel %d = %v, want %v", i, p, want)
		}
	}
}
