package fundus

// Transform maps analysis-image pixel coordinates to original-image pixel coordinates:
// orig = analysis*Scale + Offset. Pixel centres: use the continuous convention where pixel i covers [i, i+1).
//
// So the centre of analysis pixel (i, j) is ToOriginal(i+0.5, j+0.5). Scale
// must be positive; the zero Transform is not usable.
type Transform struct{ Scale, OffsetX, OffsetY float64 }

// ToOriginal maps analysis coordinates to original-image coordinates.
func (t Transform) ToOriginal(x, y float64) (float64, float64) {
	return x*t.Scale + t.OffsetX, y*t.Scale + t.OffsetY
}

// ToAnalysis maps original-image coordinates to analysis coordinates; it is
// the exact inverse of ToOriginal.
func (t Transform) ToAnalysis(x, y float64) (float64, float64) {
	return (x - t.OffsetX) / t.Scale, (y - t.OffsetY) / t.Scale
}
