package infer

import (
	"context"
	"slices"
	"testing"
)

// TestDihedralKnown checks each operation on a 2x3 plane against the
// result worked out by hand.
func TestDihedralKnown(t *testing.T) {
	// 0 1 2
	// 3 4 5
	in := Tensor{Shape: []int64{1, 1, 2, 3}, Data: []float32{0, 1, 2, 3, 4, 5}}
	tests := []struct {
		name  string
		op    int
		shape []int64
		want  []float32
	}{
		{"identity", 0, []int64{1, 1, 2, 3}, []float32{0, 1, 2, 3, 4, 5}},
		{"flip x", FlipX, []int64{1, 1, 2, 3}, []float32{2, 1, 0, 5, 4, 3}},
		{"flip y", FlipY, []int64{1, 1, 2, 3}, []float32{3, 4, 5, 0, 1, 2}},
		{"both flips", FlipX | FlipY, []int64{1, 1, 2, 3}, []float32{5, 4, 3, 2, 1, 0}},
		{"transpose", Transpose, []int64{1, 1, 3, 2}, []float32{0, 3, 1, 4, 2, 5}},
		{"transpose, flip x", Transpose | FlipX, []int64{1, 1, 3, 2}, []float32{3, 0, 4, 1, 5, 2}},
	}
	for _, tc := range tests {
		got, err := Dihedral(in, tc.op)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got.Shape, tc.shape) || !slices.Equal(got.Data, tc.want) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got.Shape, got.Data, tc.shape, tc.want)
		}
	}
}

// TestUndoDihedral: every one of the 8 operations is undone exactly, on a
// non-square tensor of several channels.
func TestUndoDihedral(t *testing.T) {
	in := randomInput(3, 5, 7)
	for op := 0; op < 8; op++ {
		d, err := Dihedral(in, op)
		if err != nil {
			t.Fatal(err)
		}
		back, err := UndoDihedral(d, op)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back.Shape, in.Shape) || !slices.Equal(back.Data, in.Data) {
			t.Errorf("op %d: not undone", op)
		}
	}
	if _, err := Dihedral(Tensor{Shape: []int64{3, 4}, Data: make([]float32, 12)}, FlipX); err == nil {
		t.Error("a 2-D tensor was accepted")
	}
}

// rampRunner outputs each pixel's column index: a "model" that depends on
// orientation, so averaging it with its mirror image gives the mean column
// everywhere.
type rampRunner struct{}

func (rampRunner) Run(_ context.Context, in Tensor) (Tensor, error) {
	h, w := int(in.Shape[2]), int(in.Shape[3])
	out := NewTensor(1, 1, int64(h), int64(w))
	for i := range out.Data {
		out.Data[i] = float32(i % w)
	}
	return out, nil
}

func TestRunTiledAveraged(t *testing.T) {
	ctx := context.Background()
	in := randomInput(3, 16, 24)
	tiling := Tiling{Tile: 64, Overlap: 8, Multiple: 8}
	// An orientation-equivariant model is unchanged by averaging.
	plain, err := RunTiled(ctx, &boxRunner{}, in, tiling)
	if err != nil {
		t.Fatal(err)
	}
	avg, err := RunTiledAveraged(ctx, &boxRunner{}, in, tiling, []int{0, FlipX, FlipY, FlipX | FlipY, Transpose})
	if err != nil {
		t.Fatal(err)
	}
	for i := range plain.Data {
		if d := avg.Data[i] - plain.Data[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("box model, pixel %d: averaged %v, plain %v", i, avg.Data[i], plain.Data[i])
		}
	}
	// The ramp and its mirror average to the middle column, 11.5.
	avg, err = RunTiledAveraged(ctx, rampRunner{}, in, tiling, []int{0, FlipX})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range avg.Data {
		if v != 11.5 {
			t.Fatalf("ramp, pixel %d: %v, want 11.5", i, v)
		}
	}
}
