package fundus

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func init() {
	// Decoders that panic, to check that Decode survives a buggy
	// third-party decoder. Registered only in the test binary.
	image.RegisterFormat("panicky", "PANIC!",
		func(io.Reader) (image.Image, error) { panic("decoder bug\nsecond line") },
		func(io.Reader) (image.Config, error) {
			return image.Config{ColorModel: color.RGBAModel, Width: 1, Height: 1}, nil
		})
	image.RegisterFormat("panicconfig", "PANICCFG",
		func(io.Reader) (image.Image, error) { return nil, errors.New("unreachable") },
		func(io.Reader) (image.Config, error) { panic(errors.New("config bug")) })
}

func TestDecodeFormats(t *testing.T) {
	src := gradient(13, 7)
	tests := []struct {
		name   string
		data   []byte
		format string
		want   *image.NRGBA // expected pixels; nil: only check size
		tol    int          // per-channel tolerance for lossy formats
	}{
		{name: "png", data: encode(t, "png", src), format: "png", want: src},
		{name: "jpeg", data: encode(t, "jpeg", src), format: "jpeg", want: src, tol: 40},
		{name: "gif", data: encode(t, "gif", src), format: "gif"},
		{name: "tiff", data: encode(t, "tiff", src), format: "tiff", want: src},
		{name: "bmp", data: encode(t, "bmp", src), format: "bmp", want: src},
		{name: "grey png is replicated to RGB", data: encode(t, "png", greyOf(src)), format: "png", want: rgbOfGrey(greyOf(src))},
		{name: "lzw tiff missing end code", data: lzwTIFF(t, lzwNoEOI), format: "tiff", want: lzwPixels()},
		{name: "lzw tiff with garbage tail", data: lzwTIFF(t, lzwGarbageTail), format: "tiff", want: lzwPixels()},
		{name: "lzw tiff well formed", data: lzwTIFF(t, lzwWellFormed), format: "tiff", want: lzwPixels()},
		{name: "P2 plain pgm", data: []byte("P2\n# hand made\n3 2\n255\n0 128 255\n10 20 30\n"), format: "pgm",
			want: nrgba(3, 2, 0, 0, 0, 128, 128, 128, 255, 255, 255, 10, 10, 10, 20, 20, 20, 30, 30, 30)},
		{name: "P3 plain ppm", data: []byte("P3 2 1 255\n255 0 0 0 0 255\n"), format: "ppm",
			want: nrgba(2, 1, 255, 0, 0, 0, 0, 255)},
		{name: "P5 raw pgm", data: []byte("P5 2 1 255\n\x00\xff"), format: "pgm",
			want: nrgba(2, 1, 0, 0, 0, 255, 255, 255)},
		{name: "P6 raw ppm", data: []byte("P6 1 2 255\n\x01\x02\x03\x04\x05\x06"), format: "ppm",
			want: nrgba(1, 2, 1, 2, 3, 4, 5, 6)},
		{name: "P5 16-bit pgm", data: []byte("P5 2 1 65535\n\x00\x00\xff\xff"), format: "pgm",
			want: nrgba(2, 1, 0, 0, 0, 255, 255, 255)},
		{name: "P6 16-bit ppm", data: []byte("P6 1 1 65535\n\xff\xff\x80\x00\x00\x00"), format: "ppm",
			want: nrgba(1, 1, 255, 128, 0)},
		{name: "P2 16-bit pgm", data: []byte("P2 1 1 1000\n1000\n"), format: "pgm",
			want: nrgba(1, 1, 255, 255, 255)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(bytes.NewReader(tc.data), "fixture."+tc.format, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if img.Format != tc.format {
				t.Errorf("Format = %q, want %q", img.Format, tc.format)
			}
			if img.Name != "fixture."+tc.format {
				t.Errorf("Name = %q", img.Name)
			}
			sum := sha256.Sum256(tc.data)
			if img.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("SHA256 = %s, want the digest of the input", img.SHA256)
			}
			if img.Pix.Rect.Min != (image.Point{}) || img.Width != img.Pix.Rect.Dx() || img.Height != img.Pix.Rect.Dy() {
				t.Errorf("bounds %v, Width %d, Height %d", img.Pix.Rect, img.Width, img.Height)
			}
			if tc.want == nil {
				if img.Pix.Rect != src.Rect {
					t.Errorf("bounds = %v, want %v", img.Pix.Rect, src.Rect)
				}
				return
			}
			if img.Pix.Rect != tc.want.Rect {
				t.Fatalf("bounds = %v, want %v", img.Pix.Rect, tc.want.Rect)
			}
			for i, got := range img.Pix.Pix {
				if d := int(got) - int(tc.want.Pix[i]); d > tc.tol || -d > tc.tol {
					t.Fatalf("byte %d (pixel %d channel %d) = %d, want %d±%d", i, i/4, i%4, got, tc.want.Pix[i], tc.tol)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	jpg := encode(t, "jpeg", gradient(64, 64))
	pngData := encode(t, "png", gradient(64, 64))
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	random[0] = 0x13 // no format's magic starts with this byte
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
		text string // also expected in the message
	}{
		{name: "empty file", data: nil, want: ErrEmpty},
		{name: "random bytes", data: random, want: ErrUnsupported},
		{name: "text file", data: []byte("patient: 1234\nfundus photo follows\n"), want: ErrUnsupported},
		{name: "PBM is not supported", data: []byte("P4 1 1\n\x00"), want: ErrUnsupported},
		{name: "truncated JPEG", data: jpg[:len(jpg)/2], want: ErrCorrupt},
		{name: "JPEG header only", data: jpg[:20], want: ErrCorrupt},
		{name: "truncated PNG", data: pngData[:len(pngData)/2], want: ErrCorrupt},
		{name: "PNG claiming 100000x100000", data: hugePNG(100000, 100000), want: ErrTooLarge, text: "100000x100000"},
		{name: "PNG over MaxPixels", data: pngData, lim: Limits{MaxPixels: 64*64 - 1}, want: ErrTooLarge},
		{name: "file over MaxBytes", data: pngData, lim: Limits{MaxBytes: 100}, want: ErrTooLarge, text: "100 bytes"},
		{name: "PPM claiming 100000x100000", data: []byte("P6 100000 100000 255\n\x00"), want: ErrTooLarge},
		{name: "truncated PPM", data: []byte("P6 4 4 255\n\x00\x01\x02"), want: ErrCorrupt},
		{name: "PGM with bad maxval", data: []byte("P5 4 4 0\n"), want: ErrCorrupt},
		{name: "LZW TIFF with a short strip", data: lzwTIFF(t, lzwShort), want: ErrCorrupt},
		{name: "decoder panic", data: []byte("PANIC!xx"), want: ErrCorrupt, text: "panic"},
		{name: "config panic", data: []byte("PANICCFG"), want: ErrCorrupt, text: "panic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const name = "scans/eye 01.img"
			img, err := Decode(bytes.NewReader(tc.data), name, tc.lim)
			if err == nil {
				t.Fatalf("Decode succeeded (%s %dx%d), want %v", img.Format, img.Width, img.Height, tc.want)
			}
			checkFileError(t, err, name, tc.want)
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not mention %q", err, tc.text)
			}
		})
	}
}

// checkFileError checks the promises every returned error keeps.
func checkFileError(t *testing.T, err error, name string, want error) {
	t.Helper()
	if want != nil && !errors.Is(err, want) {
		t.Errorf("error %q is not %v", err, want)
	}
	msg := err.Error()
	if !strings.Contains(msg, name) {
		t.Errorf("error %q does not name %q", msg, name)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error %q spans several lines", msg)
	}
}

func TestDecodeRefusesBombWithoutAllocating(t *testing.T) {
	data := hugePNG(100000, 100000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decode(bytes.NewReader(data), "bomb.png", Limits{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
	// A decode would need 40 GB; a few MB of bookkeeping is fine.
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Errorf("refusing the bomb allocated %d bytes", got)
	}
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := Decode(io.MultiReader(strings.NewReader("P6"), errReader{boom}), "x.ppm", Limits{})
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want it to wrap the read error", err)
	}
	checkFileError(t, err, "x.ppm", nil)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "eye.png")
	data := encode(t, "png", gradient(9, 5))
	if err := os.WriteFile(good, data, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jpg")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		lim     Limits
		wantErr bool
		want    error // the sentinel the error must wrap, if any
	}{
		{name: "ok", path: good},
		{name: "exactly MaxBytes", path: good, lim: Limits{MaxBytes: int64(len(data))}},
		{name: "missing file", path: filepath.Join(dir, "nope.tif"), wantErr: true, want: fs.ErrNotExist},
		{name: "empty file", path: empty, wantErr: true, want: ErrEmpty},
		{name: "over MaxBytes", path: good, lim: Limits{MaxBytes: int64(len(data)) - 1}, wantErr: true, want: ErrTooLarge},
		{name: "directory", path: dir, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Load(tc.path, tc.lim)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if img.Name != tc.path || img.Width != 9 || img.Height != 5 || img.Format != "png" {
					t.Errorf("got %s %s %dx%d", img.Name, img.Format, img.Width, img.Height)
				}
				return
			}
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			checkFileError(t, err, tc.path, tc.want)
			if strings.Count(err.Error(), tc.path) != 1 {
				t.Errorf("error %q repeats the path", err)
			}
		})
	}
}

func greyOf(src *image.NRGBA) *image.Gray {
	g := image.NewGray(src.Rect)
	for i := range g.Pix {
		g.Pix[i] = src.Pix[4*i+1]
	}
	return g
}

func rgbOfGrey(g *image.Gray) *image.NRGBA {
	out := image.NewNRGBA(g.Rect)
	for i, v := range g.Pix {
		copy(out.Pix[4*i:], []byte{v, v, v, 255})
	}
	return out
}

// nrgba builds an opaque w x h image from RGB triples.
func nrgba(w, h int, rgb ...uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(img.Pix[4*i:], []byte{rgb[3*i], rgb[3*i+1], rgb[3*i+2], 255})
	}
	return img
}

// hugePNG is a PNG signature and a valid IHDR chunk (correct CRC) claiming
// the given size, followed by nothing: a decompression-bomb header.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := make([]byte, 0, 17)
	chunk = append(chunk, "IHDR"...)
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 2, 0, 0, 0) // 8-bit RGB, no interlace
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}
