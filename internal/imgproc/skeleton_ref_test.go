package imgproc

import (
	"image"
	"math/rand/v2"
	"testing"
)

// skeletonReference is Skeleton as first written, counting neighbours and
// transitions per pixel instead of looking them up in zhangSuen: the table
// must give the same skeletons.
func skeletonReference(mask *image.Gray) *image.Gray {
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
			del = del[:0]
			for _, i := range fg {
				var p [8]uint8
				n := 0
				for k, o := range off {
					p[k] = buf[i+o]
					n += int(p[k])
				}
				if n < 2 || n > 6 {
					continue
				}
				a := 0
				for k := 0; k < 8; k++ {
					if p[k] == 0 && p[(k+1)%8] == 1 {
						a++
					}
				}
				if a != 1 {
					continue
				}
				// p[0]=N(P2), p[2]=E(P4), p[4]=S(P6), p[6]=W(P8).
				if step == 0 {
					if p[0]*p[2]*p[4] != 0 || p[2]*p[4]*p[6] != 0 {
						continue
					}
				} else {
					if p[0]*p[2]*p[6] != 0 || p[0]*p[4]*p[6] != 0 {
						continue
					}
				}
				del = append(del, i)
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

func TestSkeletonMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for n := range 40 {
		w, h := 20+rng.IntN(120), 20+rng.IntN(120)
		m := image.NewGray(image.Rect(0, 0, w, h))
		// Random discs and thick strokes, some touching the border.
		for range 1 + rng.IntN(12) {
			cx, cy, r := rng.Float64()*float64(w), rng.Float64()*float64(h), 1+rng.Float64()*8
			dx, dy := rng.Float64()*2-1, rng.Float64()*2-1
			for s := 0.0; s < 40; s += 0.5 {
				x0, y0 := cx+dx*s, cy+dy*s
				for y := range h {
					for x := range w {
						if ddx, ddy := float64(x)-x0, float64(y)-y0; ddx*ddx+ddy*ddy <= r*r {
							m.Pix[y*m.Stride+x] = 255
						}
					}
				}
			}
		}
		// Salt noise.
		for range w * h / 50 {
			m.Pix[rng.IntN(h)*m.Stride+rng.IntN(w)] = 255
		}
		got, want := Skeleton(m), skeletonReference(m)
		for i := range got.Pix {
			if got.Pix[i] != want.Pix[i] {
				t.Fatalf("mask %d (%dx%d): skeletons differ at pixel %d", n, w, h, i)
			}
		}
	}
}
