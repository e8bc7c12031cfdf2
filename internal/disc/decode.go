package disc

import "math"

// peak finds one landmark in a w x h heatmap of logits: the pixel with the
// largest logit, refined to a fraction of a pixel by the centroid of the
// sigmoid probabilities over the (2*window+1)² neighbourhood, clipped to the
// map (so a peak less than a window from the border is pulled inwards,
// which cannot happen to a landmark inside the field of view, as the map
// covers the FOV's bounding square). It returns continuous heatmap coordinates (pixel i covers [i, i+1))
// and the peak probability. This mirrors decode() in train/disc/train.py,
// which produced the cross-validation figures in models/disc.md.
//
// Why a windowed centroid: the model is trained on Gaussian targets, whose
// centroid is their centre; a window of about three sigmas (train.py
// writes it to the sidecar) loses little of the blob yet keeps a second,
// weaker blob elsewhere in the map from pulling the estimate, and the
// argmax alone would quantize to two input pixels.
func peak(logits []float32, w, h, window int) (x, y, conf float64) {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	py, px := best/w, best%w
	var sum, sx, sy float64
	for yy := max(py-window, 0); yy < min(py+window+1, h); yy++ {
		for xx := max(px-window, 0); xx < min(px+window+1, w); xx++ {
			p := sigmoid(logits[yy*w+xx])
			sum += p
			sx += p * (float64(xx) + 0.5)
			sy += p * (float64(yy) + 0.5)
		}
	}
	conf = sigmoid(logits[best])
	if sum == 0 { // every probability underflowed: keep the pixel centre
		return float64(px) + 0.5, float64(py) + 0.5, conf
	}
	return sx / sum, sy / sum, conf
}

func sigmoid(v float32) float64 { return 1 / (1 + math.Exp(-float64(v))) }
