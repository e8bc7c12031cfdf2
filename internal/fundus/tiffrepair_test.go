package fundus

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"

	"golang.org/x/image/tiff"
)

// LZW strip variants for lzwTIFF.
const (
	lzwWellFormed  = iota // clear, literals, end-of-information
	lzwNoEOI              // the stream stops after the last literal
	lzwGarbageTail        // an impossible code follows the last literal
	lzwShort              // half the literals, no end code: pixels missing
)

// lzwRaster is the 4x2 RGB raster that lzwTIFF encodes.
func lzwRaster() []byte {
	raster := make([]byte, 4*2*3)
	for i := range raster {
		raster[i] = byte(i*10 + 3)
	}
	return raster
}

func lzwPixels() *image.NRGBA {
	r := lzwRaster()
	return nrgba(4, 2, r...)
}

// lzwTIFF hand-builds a little-endian 4x2 RGB TIFF with one LZW strip. The
// strip uses only literal codes: with fewer than 253 codes the code width
// stays at 9 bits, so no real LZW encoder is needed.
func lzwTIFF(t testing.TB, variant int) []byte {
	t.Helper()
	raster := lzwRaster()
	if variant == lzwShort {
		raster = raster[:len(raster)/2]
	}
	var bits []bool
	put := func(code int) {
		for i := 8; i >= 0; i-- {
			bits = append(bits, code>>i&1 == 1)
		}
	}
	put(lzwClear)
	for _, b := range raster {
		put(int(b))
	}
	switch variant {
	case lzwWellFormed:
		put(lzwEOI)
	case lzwGarbageTail:
		put(500) // beyond the table: no decoder accepts it
	}
	strip := make([]byte, (len(bits)+7)/8)
	for i, b := range bits {
		if b {
			strip[i/8] |= 0x80 >> (i % 8)
		}
	}

	const nEntries, bpsAt, stripAt = 9, 122, 128
	le := binary.LittleEndian
	out := []byte("II*\x00")
	out = le.AppendUint32(out, 8)
	out = le.AppendUint16(out, nEntries)
	entry := func(tag, typ uint16, count, value uint32) {
		out = le.AppendUint16(out, tag)
		out = le.AppendUint16(out, typ)
		out = le.AppendUint32(out, count)
		out = le.AppendUint32(out, value)
	}
	const short, long = 3, 4
	entry(256, short, 1, 4)                 // ImageWidth
	entry(257, short, 1, 2)                 // ImageLength
	entry(258, short, 3, bpsAt)             // BitsPerSample
	entry(259, short, 1, 5)                 // Compression: LZW
	entry(262, short, 1, 2)                 // PhotometricInterpretation: RGB
	entry(273, long, 1, stripAt)            // StripOffsets
	entry(277, short, 1, 3)                 // SamplesPerPixel
	entry(278, short, 1, 2)                 // RowsPerStrip
	entry(279, long, 1, uint32(len(strip))) // StripByteCounts
	out = le.AppendUint32(out, 0)           // no next IFD
	out = append(out, 8, 0, 8, 0, 8, 0)     // BitsPerSample values
	if len(out) != stripAt {
		t.Fatalf("layout error: strip at %d, want %d", len(out), stripAt)
	}
	return append(out, strip...)
}

func TestRepairTIFFLeavesGoodFilesAlone(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"well-formed LZW", lzwTIFF(t, lzwWellFormed)},
		{"deflate", encode(t, "tiff", gradient(5, 5))},
		{"not a TIFF", []byte("P6 1 1 255\n\x00\x00\x00")},
		{"header only", []byte("II*\x00\xff\xff\xff\xff")},
	}
	for _, tc := range tests {
		if _, changed := repairTIFF(tc.data); changed {
			t.Errorf("%s: repairTIFF changed a file that needs no repair", tc.name)
		}
	}
}

// The repair exists because x/image/tiff rejects these strips outright;
// if a future x/image accepts them, this test says the repair can go.
func TestRepairTIFFNeeded(t *testing.T) {
	for _, variant := range []int{lzwNoEOI, lzwGarbageTail} {
		data := lzwTIFF(t, variant)
		if _, err := tiff.Decode(bytes.NewReader(data)); err == nil {
			t.Errorf("variant %d: x/image/tiff now decodes it; repairTIFF may be unnecessary", variant)
		}
		fixed, changed := repairTIFF(data)
		if !changed {
			t.Fatalf("variant %d: repairTIFF changed nothing", variant)
		}
		if _, err := tiff.Decode(bytes.NewReader(fixed)); err != nil {
			t.Errorf("variant %d: repaired file still fails: %v", variant, err)
		}
	}
}
