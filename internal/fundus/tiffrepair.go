package fundus

import (
	"encoding/binary"
)

// repairTIFF works around LZW strips that do not end in an
// end-of-information code. In 5 of the 40 DRIVE images (32_training.tif,
// 01, 09, 10 and 17_test.tif) one strip carries all its pixels but then
// stops short, or ends in a few garbage bits; libtiff decodes these with a
// warning, but golang.org/x/image/tiff fails with io.ErrUnexpectedEOF or
// "lzw: invalid code". repairTIFF returns a copy in which every such strip
// is rewritten, at the end of the file, cut after its last valid code and
// closed with an end-of-information code, and reports whether it changed
// anything. It never invents pixel data: a strip that is really short still
// decodes short, and x/image/tiff then rejects it.
func repairTIFF(data []byte) ([]byte, bool) {
	if len(data) < 8 {
		return nil, false
	}
	var bo binary.ByteOrder
	switch string(data[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil, false
	}
	ifd := int(bo.Uint32(data[4:8]))
	if ifd < 8 || ifd+2 > len(data) {
		return nil, false
	}
	n := int(bo.Uint16(data[ifd:]))
	if ifd+2+12*n > len(data) {
		return nil, false
	}
	var compression int
	var offsets, counts tiffArray
	for i := range n {
		pos := ifd + 2 + 12*i
		e := data[pos : pos+12]
		switch tag := bo.Uint16(e); tag {
		case 259: // Compression
			compression = int(bo.Uint16(e[8:]))
			if bo.Uint16(e[2:]) == 4 {
				compression = int(bo.Uint32(e[8:]))
			}
		case 273, 324: // StripOffsets, TileOffsets
			offsets = parseTIFFArray(data, pos, bo)
		case 279, 325: // StripByteCounts, TileByteCounts
			counts = parseTIFFArray(data, pos, bo)
		}
	}
	const lzwCompression = 5
	if compression != lzwCompression || offsets.n == 0 || offsets.n != counts.n {
		return nil, false
	}
	out := append([]byte(nil), data...)
	changed := false
	for i := range offsets.n {
		off, cnt := offsets.get(data, bo, i), counts.get(data, bo, i)
		if off < 0 || cnt <= 0 || off+cnt > len(data) {
			return nil, false
		}
		end, width, sawEOI := lzwEnd(data[off : off+cnt])
		if sawEOI {
			continue
		}
		strip := make([]byte, (end+width+7)/8)
		copy(strip, data[off:off+cnt])
		putBits(strip, end, width, lzwEOI)
		newOff := len(out)
		if !offsets.fits(newOff) || !counts.fits(len(strip)) {
			return nil, false
		}
		out = append(out, strip...)
		offsets.set(out, bo, i, newOff)
		counts.set(out, bo, i, len(strip))
		changed = true
	}
	return out, changed
}

// tiffArray locates the values of a SHORT or LONG IFD entry.
type tiffArray struct {
	pos, n, size int // byte position of the values, count, 2 or 4 bytes each
}

func parseTIFFArray(data []byte, entryPos int, bo binary.ByteOrder) tiffArray {
	entry := data[entryPos : entryPos+12]
	typ, count := bo.Uint16(entry[2:]), int64(bo.Uint32(entry[4:]))
	size := map[uint16]int{3: 2, 4: 4}[typ]
	if size == 0 || count <= 0 || count > int64(len(data)) {
		return tiffArray{}
	}
	a := tiffArray{n: int(count), size: size}
	if a.n*size <= 4 {
		a.pos = entryPos + 8 // small arrays live in the entry itself
	} else {
		a.pos = int(bo.Uint32(entry[8:]))
	}
	if a.pos < 0 || a.pos+a.n*size > len(data) {
		return tiffArray{}
	}
	return a
}

func (a tiffArray) get(data []byte, bo binary.ByteOrder, i int) int {
	p := a.pos + i*a.size
	if a.size == 2 {
		return int(bo.Uint16(data[p:]))
	}
	return int(bo.Uint32(data[p:]))
}

func (a tiffArray) fits(v int) bool {
	return v >= 0 && (a.size == 4 && int64(v) <= 0xffffffff || v <= 0xffff)
}

func (a tiffArray) set(data []byte, bo binary.ByteOrder, i, v int) {
	p := a.pos + i*a.size
	if a.size == 2 {
		bo.PutUint16(data[p:], uint16(v))
		return
	}
	bo.PutUint32(data[p:], uint32(v))
}

const (
	lzwClear = 256
	lzwEOI   = 257
)

// lzwEnd walks the codes of one TIFF LZW strip (MSB first, "early change"
// code widths) without decoding it: the code width depends only on how many
// table entries exist, not on their contents. It returns the bit position
// where the stream ends and the code width in force there, and whether that
// end is a proper end-of-information code. A stream that runs out, or that
// hits a code no decoder could accept (seen in DRIVE's 09_test.tif, where the
// last bits of a strip are garbage), ends just before the offending code.
func lzwEnd(b []byte) (end, width int, sawEOI bool) {
	width, next, first := 9, 258, true
	total := 8 * len(b)
	for end+width <= total {
		code := getBits(b, end, width)
		switch {
		case code == lzwEOI:
			return end, width, true
		case code == lzwClear:
			end += width
			width, next, first = 9, 258, true
			continue
		case first && code > 255, !first && code > next:
			return end, width, false
		}
		end += width
		if first {
			// The first code after a clear is a literal and adds no entry.
			first = false
			continue
		}
		if next < 4096 {
			next++
		}
		if next+1 >= 1<<width && width < 12 {
			width++
		}
	}
	return end, width, false
}

// getBits reads an MSB-first code of width bits starting at bit pos.
func getBits(b []byte, pos, width int) int {
	v := 0
	for i := range width {
		p := pos + i
		v = v<<1 | int(b[p/8]>>(7-p%8)&1)
	}
	return v
}

// putBits writes v as an MSB-first code of width bits at bit pos, clearing
// whatever padding bits were there.
func putBits(b []byte, pos, width, v int) {
	for i := range width {
		p := pos + i
		mask := byte(1) << (7 - p%8)
		if v>>(width-1-i)&1 == 1 {
			b[p/8] |= mask
		} else {
			b[p/8] &^= mask
		}
	}
	// Clear the padding after the code as well, so that no stray bits
	// follow the end-of-information code.
	for p := pos + width; p < 8*len(b); p++ {
		b[p/8] &^= byte(1) << (7 - p%8)
	}
}
