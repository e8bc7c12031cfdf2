package imgproc

import "image"

// Skeleton thins mask (non-zero = foreground) to one-pixel-wide, 8-connected
// centrelines and returns them as a new mask of the same bounds (255 on the
// skeleton).
//
// It uses Zhang-Suen thinning (Zhang & Suen, CACM 1984), the algorithm behind
// scikit-image's 2-D skeletonize that AutoMorph uses, so centrelines and
// lengths stay comparable with that tool. Zhang-Suen alone can leave
// two-pixel "staircase" corners where a diagonal run turns; a final
// sequential pass removes such corner pixels when doing so cannot change
// connectivity, so every interior centreline pixel has exactly two
// neighbours and branch detection by neighbour count is reliable. Thinning is
// purely subtractive and adds no spurs of its own; boundary noise still
// yields the short spurs inherent to thinning, which callers prune.
//
// Known limitation of Zhang-Suen: an isolated 2x2 block is erased entirely.
// Such blobs are noise at vessel scale.
func Skeleton(mask *image.Gray) *image.Gray {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(b)
	if w == 0 || h == 0 {
		return out
	}
	// A one-pixel zero border lets the neighbourhood code skip bounds checks.
	pw := w + 2
	buf := make([]uint8, pw*(h+2))
	var fg []int // indices into buf of current foreground pixels
	for y := 0; y < h; y++ {
		row := mask.Pix[(y)*mask.Stride : (y)*mask.Stride+w]
		for x, v := range row {
			if v != 0 {
				i := (y+1)*pw + x + 1
				buf[i] = 1
				fg = append(fg, i)
			}
		}
	}
	// Neighbour offsets P2..P9 clockwise from north, as in the paper.
	off := [8]int{-pw, -pw + 1, 1, pw + 1, pw, pw - 1, -1, -pw - 1}
	var del []int
	for {
		changed := false
		for step := 0; step < 2; step++ {
			tab := &zhangSuen[step]
			del = del[:0]
			for _, i := range fg {
				if tab[neighbourCode(buf, i, pw)] {
					del = append(del, i)
				}
			}
			for _, i := range del {
				buf[i] = 0
			}
			if len(del) > 0 {
				changed = true
				fg = compact(fg, buf)
			}
		}
		if !changed {
			break
		}
	}
	// Staircase clean-up, sequential so two neighbouring corners are never
	// both removed.
	for _, i := range fg {
		if buf[i] == 0 {
			continue
		}
		if removableCorner(buf, i, off) {
			buf[i] = 0
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if buf[(y+1)*pw+x+1] != 0 {
				out.Pix[y*out.Stride+x] = 255
			}
		}
	}
	return out
}

// neighbourCode packs the 8 neighbours of buf[i] (0 or 1), P2..P9 clockwise
// from north, into the bits 0..7 of a byte; pw is the row stride.
func neighbourCode(buf []uint8, i, pw int) uint8 {
	return buf[i-pw] | buf[i-pw+1]<<1 | buf[i+1]<<2 | buf[i+pw+1]<<3 |
		buf[i+pw]<<4 | buf[i+pw-1]<<5 | buf[i-1]<<6 | buf[i-pw-1]<<7
}

// zhangSuen[step][code] says whether sub-iteration step (0 or 1) of
// Zhang-Suen deletes a foreground pixel whose neighbourhood is code (see
// neighbourCode): 2 to 6 neighbours, exactly one 0->1 transition around it,
// and the step's two products of N, E, S, W zero. A table of the 256
// neighbourhoods costs one lookup per pixel and pass instead of the
// counting, which made thinning most of the biomarker stage's time.
var zhangSuen = func() (t [2][256]bool) {
	for code := range 256 {
		var p [8]int
		n := 0
		for k := range 8 {
			p[k] = code >> k & 1
			n += p[k]
		}
		a := 0
		for k := range 8 {
			if p[k] == 0 && p[(k+1)%8] == 1 {
				a++
			}
		}
		if n < 2 || n > 6 || a != 1 {
			continue
		}
		// p[0]=N(P2), p[2]=E(P4), p[4]=S(P6), p[6]=W(P8).
		t[0][code] = p[0]*p[2]*p[4] == 0 && p[2]*p[4]*p[6] == 0
		t[1][code] = p[0]*p[2]*p[6] == 0 && p[0]*p[4]*p[6] == 0
	}
	return t
}()

// compact drops indices whose pixel has been cleared.
func compact(fg []int, buf []uint8) []int {
	k := 0
	for _, i := range fg {
		if buf[i] != 0 {
			fg[k] = i
			k++
		}
	}
	return fg[:k]
}

// removableCorner reports whether pixel i has two 4-neighbours at a right
// angle (N+E, E+S, S+W or W+N) and is a simple point, so deleting it keeps
// the topology and leaves a diagonal step instead of an L.
func removableCorner(buf []uint8, i int, off [8]int) bool {
	var p [8]bool
	n := 0
	for k, o := range off {
		p[k] = buf[i+o] != 0
		if p[k] {
			n++
		}
	}
	if n < 2 {
		return false
	}
	corner := (p[0] && p[2]) || (p[2] && p[4]) || (p[4] && p[6]) || (p[6] && p[0])
	if !corner {
		return false
	}
	// Yokoi's 8-connectivity number: the pixel is simple (its removal
	// changes neither the foreground components nor the holes) exactly when
	// it is 1. Checking holes matters: the centre of a thin plus has a
	// right-angle pair too but removing it would punch a hole.
	q := func(k int) int {
		if p[k%8] {
			return 0
		}
		return 1
	}
	nc := 0
	for k := 0; k < 8; k += 2 {
		nc += q(k) - q(k)*q(k+1)*q(k+2)
	}
	return nc == 1
}
