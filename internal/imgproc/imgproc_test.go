package imgproc

import (
	"image"
	"strings"
	"testing"
)

// parse turns rows of '#' (foreground) and '.' into a mask.
func parse(rows ...string) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, len(rows[0]), len(rows)))
	for y, r := range rows {
		for x, c := range r {
			if c == '#' {
				m.Pix[y*m.Stride+x] = 255
			}
		}
	}
	return m
}

func format(m *image.Gray) string {
	var sb strings.Builder
	b := m.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if m.Pix[y*m.Stride+x] != 0 {
				sb.WriteByte('#')
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// neighbours counts 8-neighbours of (x, y) on m.
func neighbours(m *image.Gray, x, y int) int {
	n := 0
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if (dx != 0 || dy != 0) && m.GrayAt(x+dx, y+dy).Y != 0 {
				n++
			}
		}
	}
	return n
}

func TestSkeleton(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		// ends and branches are the expected numbers of skeleton pixels with
		// one and with three or more neighbours.
		ends, branches int
		// minPix and maxPix bound the skeleton size.
		minPix, maxPix int
	}{
		{"empty", []string{"....", "...."}, 0, 0, 0, 0},
		{"thick bar", []string{
			"...........",
			".#########.",
			".#########.",
			".#########.",
			"...........",
		}, 2, 0, 5, 9},
		{"already thin diagonal", []string{
			"#....",
			".#...",
			"..#..",
			"...#.",
		}, 2, 0, 4, 4},
		{"L corner stays one pixel", []string{
			"......",
			".#....",
			".#....",
			".#....",
			".####.",
			"......",
		}, 2, 0, 5, 7},
		{"plus has one branch", []string{
			"....###....",
			"....###....",
			"....###....",
			"###########",
			"###########",
			"###########",
			"....###....",
			"....###....",
			"....###....",
		}, 4, 1, 9, 19},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := parse(tc.in...)
			orig := format(in)
			s := Skeleton(in)
			if format(in) != orig {
				t.Fatal("input modified")
			}
			b := s.Bounds()
			ends, pix := 0, 0
			junction := image.NewGray(b)
			for y := 0; y < b.Dy(); y++ {
				for x := 0; x < b.Dx(); x++ {
					if s.GrayAt(x, y).Y == 0 {
						continue
					}
					if in.GrayAt(x, y).Y == 0 {
						t.Fatalf("skeleton pixel (%d,%d) outside input", x, y)
					}
					pix++
					switch n := neighbours(s, x, y); {
					case n == 1:
						ends++
					case n >= 3:
						junction.Pix[y*junction.Stride+x] = 255
					}
				}
			}
			// Adjacent junction pixels form one branch point.
			_, branches := Label(junction, true)
			if ends != tc.ends || branches != tc.branches || pix < tc.minPix || pix > tc.maxPix {
				t.Errorf("ends %d branches %d pixels %d, want %d %d [%d,%d]\n%s",
					ends, branches, pix, tc.ends, tc.branches, tc.minPix, tc.maxPix, format(s))
			}
			// The skeleton must keep the component count.
			_, n0 := Label(in, true)
			_, n1 := Label(s, true)
			if n0 != n1 {
				t.Errorf("components %d -> %d", n0, n1)
			}
		})
	}
}

func TestSkeletonNoFourPairs(t *testing.T) {
	// A thick diagonal band: the skeleton must be a clean 8-connected line
	// with no L-shaped staircase pixels (a pixel with two 4-neighbours at a
	// right angle) except at junctions.
	m := image.NewGray(image.Rect(0, 0, 40, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 40; x++ {
			d := float64(x) - 0.6*float64(y) - 8
			if d > -3 && d < 3 {
				m.Pix[y*m.Stride+x] = 255
			}
		}
	}
	s := Skeleton(m)
	for y := 1; y < 39; y++ {
		for x := 1; x < 39; x++ {
			if s.GrayAt(x, y).Y == 0 {
				continue
			}
			n := s.GrayAt(x, y-1).Y != 0
			e := s.GrayAt(x+1, y).Y != 0
			so := s.GrayAt(x, y+1).Y != 0
			w := s.GrayAt(x-1, y).Y != 0
			if (n && e) || (e && so) || (so && w) || (w && n) {
				t.Fatalf("staircase corner at (%d,%d)\n%s", x, y, format(s))
			}
			if neighbours(s, x, y) > 2 {
				t.Fatalf("spurious branch at (%d,%d)\n%s", x, y, format(s))
			}
		}
	}
}

func TestLabel(t *testing.T) {
	tests := []struct {
		name  string
		in    []string
		conn8 bool
		want  int
		first []int32 // labels of row 0
	}{
		{"empty", []string{"..."}, true, 0, []int32{0, 0, 0}},
		{"diagonal 8", []string{"#.", ".#"}, true, 1, []int32{1, 0}},
		{"diagonal 4", []string{"#.", ".#"}, false, 2, []int32{1, 0}},
		{"u shape joins", []string{"#.#", "#.#", "###"}, false, 1, []int32{1, 0, 1}},
		{"three blobs", []string{"#.#.#", "....."}, true, 3, []int32{1, 0, 2, 0, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			labels, n := Label(parse(tc.in...), tc.conn8)
			if n != tc.want {
				t.Fatalf("n = %d, want %d", n, tc.want)
			}
			for i, v := range tc.first {
				if labels[i] != v {
					t.Errorf("labels[%d] = %d, want %d", i, labels[i], v)
				}
			}
		})
	}
}

func TestLabelSubImage(t *testing.T) {
	// Masks that are sub-images (non-zero Min, Stride > width) must work.
	m := parse("#..#", "#..#", "....")
	sub := m.SubImage(image.Rect(2, 0, 4, 3)).(*image.Gray)
	if _, n := Label(sub, true); n != 1 {
		t.Fatalf("n = %d, want 1", n)
	}
	if s := Skeleton(sub); s.Bounds() != sub.Bounds() {
		t.Fatalf("bounds %v", s.Bounds())
	}
}
