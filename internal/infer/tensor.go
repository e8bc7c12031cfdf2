package infer

import (
	"context"
	"fmt"
)

// Tensor is a dense float32 tensor in row-major (C) order.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// NewTensor returns a zeroed tensor of the given shape.
func NewTensor(shape ...int64) Tensor {
	return Tensor{Shape: shape, Data: make([]float32, numel(shape))}
}

// Validate checks that Data holds exactly the elements Shape describes.
func (t Tensor) Validate() error {
	if len(t.Shape) == 0 {
		return fmt.Errorf("tensor has no shape")
	}
	for _, d := range t.Shape {
		if d <= 0 {
			return fmt.Errorf("tensor shape %v has a non-positive dimension", t.Shape)
		}
	}
	if n := numel(t.Shape); int64(len(t.Data)) != n {
		return fmt.Errorf("tensor shape %v needs %d values, has %d", t.Shape, n, len(t.Data))
	}
	return nil
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// Runner runs a model on one input tensor. A Session is a Runner; tests use
// small pure-Go runners to check the tiling arithmetic.
type Runner interface {
	Run(ctx context.Context, in Tensor) (Tensor, error)
}
