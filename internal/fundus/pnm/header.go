package pnm

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// maxDimension bounds width and height so that every product computed from
// them fits in an int64; larger values cannot describe a real image.
const maxDimension = 1<<31 - 1

// header is what the magic number and the three header numbers say.
type header struct {
	plain    bool // P2/P3: decimal ASCII samples
	channels int  // 1 for PGM, 3 for PPM
	width    int
	height   int
	maxval   int // 1..65535; above 255 samples take two bytes in raw files
}

func (h header) wide() bool { return h.maxval > 255 }

func (h header) colorModel() color.Model {
	switch {
	case h.channels == 1 && h.wide():
		return color.Gray16Model
	case h.channels == 1:
		return color.GrayModel
	case h.wide():
		return color.NRGBA64Model
	default:
		return color.NRGBAModel
	}
}

func (h header) config() image.Config {
	return image.Config{ColorModel: h.colorModel(), Width: h.width, Height: h.height}
}

// readHeader parses "Pn width height maxval" and consumes the single
// whitespace byte that separates the header from the raster.
func readHeader(br *bufio.Reader) (header, error) {
	var magic [2]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return header{}, fmt.Errorf("pnm: read magic: %w", eofIsUnexpected(err))
	}
	var h header
	switch string(magic[:]) {
	case "P2":
		h.plain, h.channels = true, 1
	case "P3":
		h.plain, h.channels = true, 3
	case "P5":
		h.channels = 1
	case "P6":
		h.channels = 3
	default:
		return header{}, fmt.Errorf("pnm: unsupported magic number %q", magic[:])
	}
	fields := []struct {
		name string
		dst  *int
		max  int
	}{
		{"width", &h.width, maxDimension},
		{"height", &h.height, maxDimension},
		{"maxval", &h.maxval, 65535},
	}
	for _, f := range fields {
		if err := skipSpace(br, true); err != nil {
			return header{}, fmt.Errorf("pnm: read %s: %w", f.name, err)
		}
		v, err := readUint(br, f.max)
		if err != nil {
			return header{}, fmt.Errorf("pnm: read %s: %w", f.name, err)
		}
		if v < 1 {
			return header{}, fmt.Errorf("pnm: %s is 0", f.name)
		}
		*f.dst = v
	}
	// Exactly one whitespace byte ends the header; a raw raster may begin
	// with a byte that looks like whitespace, so nothing more is skipped.
	// Some writers put a comment right after maxval; accept that too.
	c, err := br.ReadByte()
	if err != nil {
		return header{}, fmt.Errorf("pnm: read end of header: %w", eofIsUnexpected(err))
	}
	switch {
	case c == '#':
		if err := skipComment(br); err != nil {
			return header{}, fmt.Errorf("pnm: read end of header: %w", err)
		}
	case !isSpace(c):
		return header{}, fmt.Errorf("pnm: unexpected byte %q after maxval", c)
	}
	return h, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipSpace skips whitespace and, if comments is set, '#' comments. It does
// not insist on any: readUint consumes every digit, so whatever stops a
// number is already a separator or an error that readUint reports.
func skipSpace(br *bufio.Reader, comments bool) error {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return eofIsUnexpected(err)
		}
		switch {
		case isSpace(c):
		case c == '#' && comments:
			if err := skipComment(br); err != nil {
				return err
			}
		default:
			return br.UnreadByte()
		}
	}
}

// skipComment consumes the rest of a comment line, up to and including the
// line end.
func skipComment(br *bufio.Reader) error {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return eofIsUnexpected(err)
		}
		if c == '\n' || c == '\r' {
			return nil
		}
	}
}

var errNoDigits = errors.New("expected a decimal number")

// readUint reads a decimal number no larger than max. It stops at the first
// non-digit, which it leaves unread; EOF right after digits ends the number.
func readUint(br *bufio.Reader, max int) (int, error) {
	v, n := 0, 0
	for {
		c, err := br.ReadByte()
		if err == io.EOF && n > 0 {
			return v, nil
		}
		if err != nil {
			return 0, eofIsUnexpected(err)
		}
		if !isDigit(c) {
			if n == 0 {
				return 0, fmt.Errorf("%w, found %q", errNoDigits, c)
			}
			return v, br.UnreadByte()
		}
		v = v*10 + int(c-'0')
		n++
		if v > max {
			return 0, fmt.Errorf("number exceeds %d", max)
		}
	}
}

// eofIsUnexpected turns io.EOF into io.ErrUnexpectedEOF: inside a header or
// raster, running out of data is truncation, not a clean end.
func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
