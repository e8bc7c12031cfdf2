package pnm

import (
	"bufio"
	"fmt"
	"image"
	"io"
	"math"
	"slices"
)

func init() {
	// One registration per magic number; the names are what image.Decode
	// reports as the format.
	image.RegisterFormat("pgm", "P2", Decode, DecodeConfig)
	image.RegisterFormat("pgm", "P5", Decode, DecodeConfig)
	image.RegisterFormat("ppm", "P3", Decode, DecodeConfig)
	image.RegisterFormat("ppm", "P6", Decode, DecodeConfig)
}

// DecodeConfig returns the colour model and dimensions of a PGM or PPM image
// without reading the raster.
func DecodeConfig(r io.Reader) (image.Config, error) {
	h, err := readHeader(asBufio(r))
	if err != nil {
		return image.Config{}, err
	}
	return h.config(), nil
}

// Decode reads a PGM or PPM image. Greymaps decode to *image.Gray (maxval up
// to 255) or *image.Gray16, pixmaps to *image.NRGBA or *image.NRGBA64, all
// opaque. Samples are rescaled from 0..maxval to the full range of the
// output type. Samples above maxval, which the format forbids but some
// writers emit, are clamped to maxval rather than rejected.
func Decode(r io.Reader) (image.Image, error) {
	br := asBufio(r)
	h, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	n, err := sampleCount(h)
	if err != nil {
		return nil, err
	}
	if h.plain {
		s, err := readPlain(br, n)
		if err != nil {
			return nil, err
		}
		return build(h, func(i int) int { return int(s[i]) }), nil
	}
	bytesPerSample := 1
	if h.wide() {
		bytesPerSample = 2
	}
	buf, err := readRaw(br, n*bytesPerSample)
	if err != nil {
		return nil, fmt.Errorf("pnm: read raster: %w", err)
	}
	if h.wide() {
		return build(h, func(i int) int { return int(buf[2*i])<<8 | int(buf[2*i+1]) }), nil
	}
	if h.channels == 1 && h.maxval == 255 {
		// The raster already is the Gray pixel buffer: no copy.
		return &image.Gray{Pix: buf, Stride: h.width, Rect: image.Rect(0, 0, h.width, h.height)}, nil
	}
	return build(h, func(i int) int { return int(buf[i]) }), nil
}

// sampleCount is width*height*channels, refused when the raster (at two bytes
// per sample, four output bytes per pixel) could not be addressed.
func sampleCount(h header) (int, error) {
	pixels := int64(h.width) * int64(h.height) // both < 2^31: no overflow
	if pixels > math.MaxInt/16 {
		return 0, fmt.Errorf("pnm: %dx%d image too large to decode", h.width, h.height)
	}
	return int(pixels) * h.channels, nil
}

func asBufio(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReader(r)
}

// readRaw reads exactly n bytes. The buffer grows with the data actually
// read, so a header that promises gigabytes over a short file fails with
// io.ErrUnexpectedEOF after allocating little more than the file's size.
func readRaw(r io.Reader, n int) ([]byte, error) {
	const firstChunk = 64 << 10
	buf := make([]byte, 0, min(n, firstChunk))
	for len(buf) < n {
		step := min(n-len(buf), max(len(buf), firstChunk))
		buf = slices.Grow(buf, step)
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, eofIsUnexpected(err)
		}
	}
	return buf, nil
}

// readPlain reads n whitespace-separated decimal samples. Like readRaw it
// grows the slice only as samples arrive.
func readPlain(br *bufio.Reader, n int) ([]uint16, error) {
	s := make([]uint16, 0, min(n, 4096))
	for len(s) < n {
		if err := skipSpace(br, true); err != nil {
			return nil, fmt.Errorf("pnm: read sample %d of %d: %w", len(s)+1, n, err)
		}
		v, err := readUint(br, 65535)
		if err != nil {
			return nil, fmt.Errorf("pnm: read sample %d of %d: %w", len(s)+1, n, err)
		}
		s = append(s, uint16(v))
	}
	return s, nil
}

// build allocates the output image, now that the raster is known to be
// complete, and fills it with the samples returned by at.
func build(h header, at func(i int) int) image.Image {
	r := image.Rect(0, 0, h.width, h.height)
	pixels := h.width * h.height
	maxval := h.maxval
	get := func(i int) int { return min(at(i), maxval) }
	scale8 := func(v int) uint8 { return uint8((v*255 + maxval/2) / maxval) }
	scale16 := func(v int) uint16 { return uint16((v*65535 + maxval/2) / maxval) }
	switch {
	case h.channels == 1 && !h.wide():
		img := image.NewGray(r)
		for i := range pixels {
			img.Pix[i] = scale8(get(i))
		}
		return img
	case h.channels == 1:
		img := image.NewGray16(r)
		for i := range pixels {
			v := scale16(get(i))
			img.Pix[2*i], img.Pix[2*i+1] = uint8(v>>8), uint8(v)
		}
		return img
	case !h.wide():
		img := image.NewNRGBA(r)
		for i := range pixels {
			p := img.Pix[4*i : 4*i+4 : 4*i+4]
			p[0], p[1], p[2], p[3] = scale8(get(3*i)), scale8(get(3*i+1)), scale8(get(3*i+2)), 0xff
		}
		return img
	default:
		img := image.NewNRGBA64(r)
		for i := range pixels {
			p := img.Pix[8*i : 8*i+8 : 8*i+8]
			for c := range 3 {
				v := scale16(get(3*i + c))
				p[2*c], p[2*c+1] = uint8(v>>8), uint8(v)
			}
			p[6], p[7] = 0xff, 0xff
		}
		return img
	}
}
