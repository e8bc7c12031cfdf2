package disc

import (
	"image"
	"strings"
	"testing"
)

// grid parses rows of '#' (set) and '.' into a mask at origin (ox, oy).
func grid(ox, oy int, rows ...string) *image.Gray {
	m := image.NewGray(image.Rect(ox, oy, ox+len(rows[0]), oy+len(rows)))
	for y, row := range rows {
		for x, c := range row {
			if c == '#' {
				m.Pix[y*m.Stride+x] = 255
			}
		}
	}
	return m
}

func show(m *image.Gray) string {
	var b strings.Builder
	for y := range m.Rect.Dy() {
		for x := range m.Rect.Dx() {
			if m.Pix[y*m.Stride+x] != 0 {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLargestFilled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want []string
	}{
		{
			"largest kept, hole filled, diagonal joins",
			[]string{
				"##.......",
				"##..####.",
				"...#...#.",
				"...#.#.#.",
				"...#...#.",
				"....###..",
			},
			[]string{
				".........",
				"....####.",
				"...#####.",
				"...#####.",
				"...#####.",
				"....###..",
			},
		},
		{
			// A bay open to the border through a 4-connected path is not a
			// hole; one closed only diagonally is (background is 4-connected).
			"bays and diagonal gaps",
			[]string{
				"..#....",
				".#.#.#.",
				"#...#.#",
				".#...#.",
				"..###..",
			},
			[]string{
				"..#....",
				".###.#.",
				"#######",
				".#####.",
				"..###..",
			},
		},
		{"tie: the first in raster order", []string{"#..", "..#"}, []string{"#..", "..."}},
		{"empty", []string{"...", "..."}, []string{"...", "..."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := largestFilled(grid(7, -3, tc.in...))
			want := grid(7, -3, tc.want...)
			if got.Rect != want.Rect || show(got) != show(want) {
				t.Fatalf("got %v\n%s\nwant\n%s", got.Rect, show(got), show(want))
			}
		})
	}
}

func TestPasteBack(t *testing.T) {
	// One original pixel per crop pixel, aligned: values copy exactly.
	const s = 4
	m := make([]float32, s*s)
	for i := range m {
		m[i] = float32(i)
	}
	c := Crop{X0: 10, Y0: 20, Side: s, Size: s}
	r := image.Rect(9, 19, 15, 25) // one pixel beyond the square on each side
	got := pasteBack(m, c, r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := got[(y-r.Min.Y)*r.Dx()+x-r.Min.X]
			var want float32
			if x >= 10 && x < 14 && y >= 20 && y < 24 {
				want = m[(y-20)*s+x-10]
			}
			if v != want {
				t.Fatalf("(%d,%d) = %v, want %v", x, y, v, want)
			}
		}
	}
	// Twice as many original pixels: halfway values between crop pixels,
	// edge values held in the outer half crop pixel.
	c = Crop{X0: 0, Y0: 0, Side: 8, Size: s}
	got = pasteBack(m, c, image.Rect(0, 0, 8, 8))
	for _, tc := range []struct {
		x, y int
		want float32
	}{
		// Original pixel x samples crop coordinate (x+0.5)/2 - 0.5.
		{0, 0, 0}, {1, 0, 0.25}, {2, 0, 0.75}, {7, 0, 3}, {0, 7, 12},
		{3, 3, 1.25*4 + 1.25}, // (1.25, 1.25): rows 1-2, columns 1-2
	} {
		if v := got[tc.y*8+tc.x]; v != tc.want {
			t.Errorf("(%d,%d) = %v, want %v", tc.x, tc.y, v, tc.want)
		}
	}
}
