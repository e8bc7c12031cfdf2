package fundus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"os"

	// Decoders register themselves with the image package.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"

	_ "github.com/retinalgpt/retinalgpt/internal/fundus/pnm"
)

// Defaults used where a Limits field is zero.
const (
	DefaultMaxBytes  = 256 << 20   // 256 MiB of encoded input
	DefaultMaxPixels = 100_000_000 // 100 megapixels, about 400 MB as NRGBA
)

// Limits bounds the resources one image may take.
type Limits struct {
	MaxBytes  int64 // 0 means DefaultMaxBytes (256 MiB)
	MaxPixels int64 // 0 means DefaultMaxPixels (100 megapixels); checked from the header via image.DecodeConfig BEFORE the full decode (decompression bombs)
}

func (l Limits) maxBytes() int64 {
	if l.MaxBytes > 0 {
		return l.MaxBytes
	}
	return DefaultMaxBytes
}

func (l Limits) maxPixels() int64 {
	if l.MaxPixels > 0 {
		return l.MaxPixels
	}
	return DefaultMaxPixels
}

// Image is a decoded photograph.
type Image struct {
	Pix           *image.NRGBA // decoded, converted to NRGBA (grey images replicated to RGB), bounds starting at (0,0)
	Name          string       // the file name or the name passed to Decode
	Format        string       // "jpeg","png","tiff","gif","bmp","ppm","pgm"
	Width, Height int
	SHA256        string // hex digest of the input bytes (used later as a cache key)
	Bytes         int64  // size of the encoded input
}

// Load reads the file at path, never more than MaxBytes+1 bytes of it, and
// decodes it. Image.Name is path as given. A missing or unreadable file
// gives an error that names the path and wraps the fs error (errors.Is(err,
// fs.ErrNotExist) works) but none of the sentinels, which describe images.
func Load(path string, lim Limits) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	// Refuse early when the size is known; the bounded read below still
	// protects against files that grow or lie (pipes, /proc).
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > lim.maxBytes() {
		return nil, fileError("load", path, ErrTooLarge, fmt.Errorf("file is %d bytes, limit %d", st.Size(), lim.maxBytes()))
	}
	data, err := readBounded(f, lim.maxBytes())
	if err != nil {
		return nil, withOp("load", path, err)
	}
	img, err := decodeBytes(data, path, lim)
	if err != nil {
		return nil, withOp("load", path, err)
	}
	return img, nil
}

// Decode reads at most MaxBytes+1 bytes from r and decodes them. name is
// used in errors and copied to Image.Name.
func Decode(r io.Reader, name string, lim Limits) (*Image, error) {
	data, err := readBounded(r, lim.maxBytes())
	if err != nil {
		return nil, withOp("decode", name, err)
	}
	img, err := decodeBytes(data, name, lim)
	if err != nil {
		return nil, withOp("decode", name, err)
	}
	return img, nil
}

// opError carries a failure from the helpers up to Load or Decode, which add
// the operation and the file name.
type opError struct {
	kind, cause error
}

func (e *opError) Error() string { return fmt.Sprintf("%v: %v", e.kind, e.cause) }

func withOp(op, name string, err error) error {
	var oe *opError
	if errors.As(err, &oe) {
		return fileError(op, name, oe.kind, oe.cause)
	}
	return fmt.Errorf("%s %s: %w", op, name, oneLine(err))
}

func unwrapPath(err error) error {
	// The path is already in our prefix; keep the cause (still
	// errors.Is-comparable with fs.ErrNotExist) without repeating it.
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func readBounded(r io.Reader, maxBytes int64) ([]byte, error) {
	// One byte past the limit tells "exactly at the limit" from "over it".
	n := maxBytes
	if n < math.MaxInt64 {
		n++
	}
	data, err := io.ReadAll(io.LimitReader(r, n))
	if err != nil {
		// An I/O failure is not a property of the image: no sentinel.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, unwrapPath(err)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, &opError{ErrTooLarge, fmt.Errorf("more than %d bytes", maxBytes)}
	}
	return data, nil
}

func decodeBytes(data []byte, name string, lim Limits) (*Image, error) {
	if len(data) == 0 {
		return nil, &opError{ErrEmpty, errors.New("0 bytes")}
	}
	cfg, format, err := safeDecodeConfig(data)
	if errors.Is(err, image.ErrFormat) {
		return nil, &opError{ErrUnsupported, errors.New("unknown signature")}
	}
	if err != nil {
		return nil, &opError{ErrCorrupt, fmt.Errorf("%s header: %w", formatOrUnknown(format), err)}
	}
	if err := checkSize(int64(cfg.Width), int64(cfg.Height), lim.maxPixels()); err != nil {
		return nil, err
	}
	decoded, _, err := safeDecode(data)
	if err != nil && format == "tiff" {
		if fixed := safeRepairTIFF(data); fixed != nil {
			if img, _, err2 := safeDecode(fixed); err2 == nil {
				decoded, err = img, nil
			}
		}
	}
	if err != nil {
		// Some decoders (jpeg) return a partial image together with an
		// error; a partial retina is worse than none, so any error fails.
		return nil, &opError{ErrCorrupt, fmt.Errorf("%s: %w", format, err)}
	}
	b := decoded.Bounds()
	if err := checkSize(int64(b.Dx()), int64(b.Dy()), lim.maxPixels()); err != nil {
		return nil, err
	}
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, &opError{ErrCorrupt, fmt.Errorf("%s: header says %dx%d, data decodes to %dx%d", format, cfg.Width, cfg.Height, b.Dx(), b.Dy())}
	}
	sum := sha256.Sum256(data)
	pix := toNRGBA(decoded)
	return &Image{
		Pix:    pix,
		Name:   name,
		Format: format,
		Width:  pix.Rect.Dx(),
		Height: pix.Rect.Dy(),
		SHA256: hex.EncodeToString(sum[:]),
		Bytes:  int64(len(data)),
	}, nil
}

func formatOrUnknown(format string) string {
	if format == "" {
		return "image"
	}
	return format
}

func checkSize(w, h, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return &opError{ErrCorrupt, fmt.Errorf("header says %dx%d", w, h)}
	}
	// Compare each side first so the product cannot overflow.
	if w > maxPixels || h > maxPixels || w*h > maxPixels {
		return &opError{ErrTooLarge, fmt.Errorf("%dx%d exceeds %d pixels", w, h, maxPixels)}
	}
	return nil
}

// safeDecodeConfig and safeDecode turn a panic inside a decoder (ours or a
// third party's) into an error instead of taking the process down.
func safeDecodeConfig(data []byte) (cfg image.Config, format string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return image.DecodeConfig(bytes.NewReader(data))
}

func safeDecode(data []byte) (img image.Image, format string, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return image.Decode(bytes.NewReader(data))
}

// safeRepairTIFF returns a repaired copy of a TIFF, or nil when there is
// nothing to repair (or the repair itself trips over a malformed file).
func safeRepairTIFF(data []byte) (fixed []byte) {
	defer func() {
		if recover() != nil {
			fixed = nil
		}
	}()
	if out, ok := repairTIFF(data); ok {
		return out
	}
	return nil
}
