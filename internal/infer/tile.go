package infer

import (
	"context"
	"fmt"
)

// Tiling says how RunTiled cuts a large image. The zero value means tiles
// of 512 pixels overlapping by 64, sizes padded to multiples of 8.
type Tiling struct {
	Tile     int // largest tile side in pixels; images no larger run in one piece
	Overlap  int // pixels shared by neighbouring tiles, blended linearly
	Multiple int // the model's size constraint (2^poolings)
}

func (t Tiling) withDefaults() Tiling {
	if t.Multiple <= 0 {
		t.Multiple = 8
	}
	if t.Tile <= 0 {
		t.Tile = 512
	}
	t.Tile = roundUp(t.Tile, t.Multiple)
	if t.Overlap <= 0 {
		t.Overlap = 64
	}
	if t.Overlap > t.Tile/2 {
		t.Overlap = t.Tile / 2
	}
	return t
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// RunTiled runs r over a [1,C,H,W] input in overlapping tiles and returns
// the [1,K,H,W] output, K being the model's output channels. Each tile is
// zero-padded to the model's size multiple; overlaps are blended with
// weights that fall off towards inner tile edges, which hides the context
// loss a fully convolutional net shows near a cut. Along each axis the
// tiles are as few as cfg.Tile allows and only as large as they must be
// to cover it with cfg.Overlap, so a 1424-pixel side takes two tiles of
// 752 rather than two of 896. ctx is checked between tiles.
func RunTiled(ctx context.Context, r Runner, in Tensor, cfg Tiling) (Tensor, error) {
	if err := in.Validate(); err != nil {
		return Tensor{}, err
	}
	if len(in.Shape) != 4 || in.Shape[0] != 1 {
		return Tensor{}, fmt.Errorf("tiled input must be [1,C,H,W], got %v", in.Shape)
	}
	cfg = cfg.withDefaults()
	c, h, w := int(in.Shape[1]), int(in.Shape[2]), int(in.Shape[3])
	th, ys := layout(h, cfg) // every tile is th x tw
	tw, xs := layout(w, cfg)

	var out []float32
	var k int
	weight := make([]float32, h*w)
	for _, y0 := range ys {
		for _, x0 := range xs {
			if err := ctx.Err(); err != nil {
				return Tensor{}, err
			}
			ph, pw := roundUp(th, cfg.Multiple), roundUp(tw, cfg.Multiple)
			tile := NewTensor(1, int64(c), int64(ph), int64(pw))
			for ch := 0; ch < c; ch++ {
				for y := 0; y < th; y++ {
					src := in.Data[(ch*h+y0+y)*w+x0:]
					copy(tile.Data[(ch*ph+y)*pw:(ch*ph+y)*pw+tw], src[:tw])
				}
			}
			res, err := r.Run(ctx, tile)
			if err != nil {
				return Tensor{}, fmt.Errorf("tile at (%d,%d): %w", x0, y0, err)
			}
			if len(res.Shape) != 4 || res.Shape[2] != int64(ph) || res.Shape[3] != int64(pw) {
				return Tensor{}, fmt.Errorf("tile at (%d,%d): model returned shape %v for input %v", x0, y0, res.Shape, tile.Shape)
			}
			if out == nil {
				k = int(res.Shape[1])
				out = make([]float32, k*h*w)
			} else if int(res.Shape[1]) != k {
				return Tensor{}, fmt.Errorf("tile at (%d,%d): output channels changed from %d to %d", x0, y0, k, res.Shape[1])
			}
			for y := 0; y < th; y++ {
				wy := edgeWeight(y, th, y0 == 0, y0+th == h, cfg.Overlap)
				for x := 0; x < tw; x++ {
					wt := wy * edgeWeight(x, tw, x0 == 0, x0+tw == w, cfg.Overlap)
					i := (y0+y)*w + x0 + x
					weight[i] += wt
					for ch := 0; ch < k; ch++ {
						out[ch*h*w+i] += wt * res.Data[(ch*ph+y)*pw+x]
					}
				}
			}
		}
	}
	for i, wt := range weight {
		for ch := 0; ch < k; ch++ {
			out[ch*h*w+i] /= wt
		}
	}
	return Tensor{Shape: []int64{1, int64(k), int64(h), int64(w)}, Data: out}, nil
}

// layout returns the tile length along an axis of n pixels and the tiles'
// origins: one piece when n fits in cfg.Tile, else the fewest tiles of at
// most cfg.Tile that overlap by at least cfg.Overlap, each the smallest
// multiple of cfg.Multiple that does it, spread evenly from edge to edge.
// (Fixed cfg.Tile-sized tiles would make the last one overlap its
// neighbour by up to a whole tile, all of it computed twice.)
func layout(n int, cfg Tiling) (size int, origins []int) {
	if n <= cfg.Tile {
		return n, []int{0}
	}
	step := cfg.Tile - cfg.Overlap
	count := (n - cfg.Overlap + step - 1) / step
	// count tiles of length L overlapping by cfg.Overlap span count*L - (count-1)*Overlap.
	size = min(roundUp((n+(count-1)*cfg.Overlap+count-1)/count, cfg.Multiple), cfg.Tile, n)
	origins = make([]int, count)
	for i := range origins {
		origins[i] = i * (n - size) / (count - 1)
	}
	return size, origins
}

// edgeWeight is near zero on the outer quarter of the overlap at an inner
// tile edge (where the net saw padding instead of context), then ramps to 1
// at half the overlap; edges that are also image edges keep full weight.
// A pixel in an overlap is at least half the overlap from one of the two
// tiles' inner edges, so some tile always covers it at full weight.
func edgeWeight(i, n int, atStart, atEnd bool, overlap int) float32 {
	margin, ramp := float32(overlap)/4, float32(overlap)/4
	wt := float32(1)
	if !atStart {
		wt = min(wt, (float32(i)+0.5-margin)/ramp)
	}
	if !atEnd {
		wt = min(wt, (float32(n-i)-0.5-margin)/ramp)
	}
	return max(wt, 1e-4)
}
