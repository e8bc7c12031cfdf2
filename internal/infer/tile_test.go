package infer

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// boxRunner is a tiny "model": a 3x3 mean over channel sums with zero
// padding, so it has the same edge behaviour as a convolutional net.
type boxRunner struct {
	multiple int
	calls    int
}

func (b *boxRunner) Run(ctx context.Context, in Tensor) (Tensor, error) {
	b.calls++
	c, h, w := int(in.Shape[1]), int(in.Shape[2]), int(in.Shape[3])
	if b.multiple > 0 && (h%b.multiple != 0 || w%b.multiple != 0) {
		return Tensor{}, errors.New("size not a multiple")
	}
	sum := make([]float32, h*w)
	for ch := 0; ch < c; ch++ {
		for i := range sum {
			sum[i] += in.Data[ch*h*w+i]
		}
	}
	out := NewTensor(1, 1, int64(h), int64(w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float32
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if yy, xx := y+dy, x+dx; yy >= 0 && yy < h && xx >= 0 && xx < w {
						s += sum[yy*w+xx]
					}
				}
			}
			out.Data[y*w+x] = s / 9
		}
	}
	return out, nil
}

func randomInput(c, h, w int) Tensor {
	r := rand.New(rand.NewPCG(1, 2))
	t := NewTensor(1, int64(c), int64(h), int64(w))
	for i := range t.Data {
		t.Data[i] = r.Float32()
	}
	return t
}

func TestRunTiledMatchesWhole(t *testing.T) {
	tests := []struct {
		name       string
		h, w       int
		tiling     Tiling
		wantTiles  int
		maxAbsDiff float64
	}{
		{"fits one tile", 40, 56, Tiling{Tile: 64, Overlap: 16, Multiple: 8}, 1, 0},
		{"odd size padded", 37, 61, Tiling{Tile: 64, Overlap: 16, Multiple: 8}, 1, 0}, // zero padding is what the net sees at an image edge anyway
		{"many tiles", 150, 230, Tiling{Tile: 64, Overlap: 16, Multiple: 8}, 3 * 5, 0.001},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := randomInput(3, tc.h, tc.w)
			whole, err := (&boxRunner{}).Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			r := &boxRunner{multiple: tc.tiling.Multiple}
			got, err := RunTiled(context.Background(), r, in, tc.tiling)
			if err != nil {
				t.Fatal(err)
			}
			if r.calls != tc.wantTiles {
				t.Errorf("ran %d tiles, want %d", r.calls, tc.wantTiles)
			}
			if len(got.Data) != tc.h*tc.w {
				t.Fatalf("output has %d values, want %d", len(got.Data), tc.h*tc.w)
			}
			var worst float64
			for i := range got.Data {
				worst = math.Max(worst, math.Abs(float64(got.Data[i]-whole.Data[i])))
			}
			if worst > tc.maxAbsDiff+1e-5 {
				t.Errorf("max |tiled-whole| = %.4f, want <= %.4f", worst, tc.maxAbsDiff)
			}
		})
	}
}

func TestRunTiledCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := RunTiled(ctx, &boxRunner{}, randomInput(1, 100, 100), Tiling{Tile: 32})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRunTiledRejectsBadInput(t *testing.T) {
	for _, in := range []Tensor{
		{Shape: []int64{3, 4}, Data: make([]float32, 12)},
		{Shape: []int64{1, 1, 4, 4}, Data: make([]float32, 3)},
		{Shape: []int64{2, 1, 4, 4}, Data: make([]float32, 32)},
	} {
		if _, err := RunTiled(context.Background(), &boxRunner{}, in, Tiling{}); err == nil {
			t.Errorf("shape %v with %d values: no error", in.Shape, len(in.Data))
		}
	}
}

func TestLayoutCoversWithOverlap(t *testing.T) {
	for _, cfg := range []Tiling{{Tile: 64, Overlap: 16, Multiple: 8}, {Tile: 896, Overlap: 64, Multiple: 16}} {
		for n := 1; n < 4*cfg.Tile; n += 7 {
			size, s := layout(n, cfg)
			if s[0] != 0 || s[len(s)-1]+size != n {
				t.Fatalf("%+v n=%d: tiles of %d at %v do not span [0,%d)", cfg, n, size, s, n)
			}
			if size > cfg.Tile || (len(s) > 1 && size%cfg.Multiple != 0) {
				t.Fatalf("%+v n=%d: tile length %d", cfg, n, size)
			}
			for i := 1; i < len(s); i++ {
				if s[i-1]+size-s[i] < cfg.Overlap || s[i] <= s[i-1] {
					t.Fatalf("%+v n=%d: tiles of %d at %v overlap less than %d or repeat", cfg, n, size, s, cfg.Overlap)
				}
			}
			// The fewest tiles, each as short as the overlap allows.
			if len(s) > 1 && (len(s)-1)*cfg.Tile-(len(s)-2)*cfg.Overlap >= n {
				t.Fatalf("%+v n=%d: %d tiles where %d would do", cfg, n, len(s), len(s)-1)
			}
			if len(s) > 1 && len(s)*(size-cfg.Multiple)-(len(s)-1)*cfg.Overlap >= n {
				t.Fatalf("%+v n=%d: tiles of %d where %d would do", cfg, n, size, size-cfg.Multiple)
			}
		}
	}
}

func TestLayoutLesionGrid(t *testing.T) {
	// The lesion stage's grid for an IDRiD photo: 1712 wide, 1424 high.
	cfg := Tiling{Tile: 896, Overlap: 64, Multiple: 16}
	for _, tc := range []struct{ n, size, tiles int }{{1712, 896, 2}, {1424, 752, 2}, {1732, 624, 3}, {896, 896, 1}} {
		size, s := layout(tc.n, cfg)
		if size != tc.size || len(s) != tc.tiles {
			t.Errorf("n=%d: %d tiles of %d, want %d of %d", tc.n, len(s), size, tc.tiles, tc.size)
		}
	}
}
