package imgproc

import "image"

// Label assigns connected-component labels to the foreground (non-zero) of
// mask. labels has one entry per pixel in row-major order over
// mask.Bounds(): 0 for background, 1..n for the components, numbered in
// raster order of their first pixel. conn8 selects 8-connectivity
// (diagonal neighbours join) instead of 4-connectivity.
func Label(mask *image.Gray, conn8 bool) (labels []int32, n int) {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	labels = make([]int32, w*h)
	var queue []int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if labels[i] != 0 || mask.Pix[y*mask.Stride+x] == 0 {
				continue
			}
			n++
			labels[i] = int32(n)
			queue = append(queue[:0], i)
			// Breadth-first flood fill; the queue is reused across
			// components to avoid reallocating.
			for q := 0; q < len(queue); q++ {
				cx, cy := queue[q]%w, queue[q]/w
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						if dx == 0 && dy == 0 || (!conn8 && dx != 0 && dy != 0) {
							continue
						}
						nx, ny := cx+dx, cy+dy
						if nx < 0 || ny < 0 || nx >= w || ny >= h {
							continue
						}
						j := ny*w + nx
						if labels[j] == 0 && mask.Pix[ny*mask.Stride+nx] != 0 {
							labels[j] = int32(n)
							queue = append(queue, j)
						}
					}
				}
			}
		}
	}
	return labels, n
}
