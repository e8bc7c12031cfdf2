package infer

import (
	"context"
	"fmt"
	"slices"
)

// Test-time augmentation over the symmetries of the square. A fundus
// model trained with random flips and quarter turns sees each image in any
// of the 8 orientations; averaging its outputs over several removes part
// of its orientation-dependent error at a proportional cost in time.

// Dihedral operations on the two spatial axes of an NCHW tensor, combined
// as bits: transpose (x and y swapped) first, then the flips.
const (
	FlipX     = 1
	FlipY     = 2
	Transpose = 4
)

// Dihedral returns t, of shape [N, C, H, W], with the operation op applied
// to its spatial axes (a combination of Transpose, FlipX and FlipY); with
// Transpose the result is [N, C, W, H].
func Dihedral(t Tensor, op int) (Tensor, error) {
	if len(t.Shape) != 4 {
		return Tensor{}, fmt.Errorf("dihedral: tensor shape %v, want [N C H W]", t.Shape)
	}
	if err := t.Validate(); err != nil {
		return Tensor{}, err
	}
	planes, h, w := int(t.Shape[0]*t.Shape[1]), int(t.Shape[2]), int(t.Shape[3])
	oh, ow := h, w
	if op&Transpose != 0 {
		oh, ow = w, h
	}
	out := NewTensor(t.Shape[0], t.Shape[1], int64(oh), int64(ow))
	for p := 0; p < planes; p++ {
		src, dst := t.Data[p*h*w:(p+1)*h*w], out.Data[p*h*w:(p+1)*h*w]
		for y := 0; y < oh; y++ {
			sy := y
			if op&FlipY != 0 {
				sy = oh - 1 - y
			}
			row := dst[y*ow : (y+1)*ow]
			for x := range row {
				sx := x
				if op&FlipX != 0 {
					sx = ow - 1 - x
				}
				if op&Transpose != 0 {
					row[x] = src[sx*w+sy]
				} else {
					row[x] = src[sy*w+sx]
				}
			}
		}
	}
	return out, nil
}

// UndoDihedral inverts Dihedral(·, op): the flips, then the transpose.
func UndoDihedral(t Tensor, op int) (Tensor, error) {
	u, err := Dihedral(t, op&(FlipX|FlipY))
	if err != nil || op&Transpose == 0 {
		return u, err
	}
	return Dihedral(u, Transpose)
}

// RunTiledAveraged runs RunTiled on in seen in each orientation of ops
// (Dihedral operations; 0 is the image as it is) and returns the mean of
// the outputs, each turned back to in's orientation. The model must map
// an [N, C, H, W] input to an output of the same H and W.
//
// The input is first zero-padded at the bottom and right to the model's
// size multiple, so that every orientation puts the image on the same grid
// of pooling cells (padding after a flip would shift it): a flip then
// changes only what the model sees, not where its cells fall, and an image
// cropped to its content on that grid (vessels' content box) keeps giving
// what the whole image gives.
func RunTiledAveraged(ctx context.Context, r Runner, in Tensor, t Tiling, ops []int) (Tensor, error) {
	if len(ops) == 0 {
		return RunTiled(ctx, r, in, t)
	}
	if err := in.Validate(); err != nil {
		return Tensor{}, err
	}
	if len(in.Shape) != 4 {
		return Tensor{}, fmt.Errorf("averaged input must be [N,C,H,W], got %v", in.Shape)
	}
	m := t.withDefaults().Multiple
	h, w := int(in.Shape[2]), int(in.Shape[3])
	padded := pad(in, roundUp(h, m), roundUp(w, m))
	var sum Tensor
	for i, op := range ops {
		tin, err := Dihedral(padded, op)
		if err != nil {
			return Tensor{}, err
		}
		out, err := RunTiled(ctx, r, tin, t)
		if err != nil {
			return Tensor{}, err
		}
		if out, err = UndoDihedral(out, op); err != nil {
			return Tensor{}, err
		}
		if i == 0 {
			sum = out
			continue
		}
		if !slices.Equal(out.Shape, sum.Shape) {
			return Tensor{}, fmt.Errorf("orientation %d: output shape %v, first %v", op, out.Shape, sum.Shape)
		}
		for k, v := range out.Data {
			sum.Data[k] += v
		}
	}
	inv := 1 / float32(len(ops))
	for k := range sum.Data {
		sum.Data[k] *= inv
	}
	return pad(sum, h, w), nil
}

// pad returns t, [N, C, H, W], zero-padded or cut at the bottom and right
// to h x w (t itself when it already is).
func pad(t Tensor, h, w int) Tensor {
	th, tw := int(t.Shape[2]), int(t.Shape[3])
	if th == h && tw == w {
		return t
	}
	planes := int(t.Shape[0] * t.Shape[1])
	out := NewTensor(t.Shape[0], t.Shape[1], int64(h), int64(w))
	for p := 0; p < planes; p++ {
		for y := 0; y < min(h, th); y++ {
			copy(out.Data[(p*h+y)*w:(p*h+y)*w+min(w, tw)], t.Data[(p*th+y)*tw:])
		}
	}
	return out
}
