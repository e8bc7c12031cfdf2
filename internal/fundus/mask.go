package fundus

import "image"

// LoadMask reads a binary annotation (vessel label, FOV mask, lesion mask)
// in any format Load reads: a pixel is set (255) where its brightest channel
// exceeds half range, so grey, colour-coded and 1-bit masks all work.
func LoadMask(path string, lim Limits) (*image.Gray, error) {
	img, err := Load(path, lim)
	if err != nil {
		return nil, err
	}
	g := image.NewGray(image.Rect(0, 0, img.Width, img.Height))
	for i := range g.Pix {
		p := img.Pix.Pix[4*i : 4*i+3]
		if max(p[0], p[1], p[2]) > 127 {
			g.Pix[i] = 255
		}
	}
	return g, nil
}
