package quality

import (
	"image"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// withNoise adds Gaussian noise of sigma grey levels to the non-black
// pixels: a drawing that has been photographed or compressed.
func withNoise(img *image.NRGBA, sigma float64, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 9))
	return mapPixels(img, func(x, y int, c [3]float64) [3]float64 {
		if c[0]+c[1]+c[2] == 0 {
			return c
		}
		for i := range c {
			c[i] += sigma * r.NormFloat64()
		}
		return c
	})
}

// nonFundusCases are the generated images that must be refused, with a
// word the reasons must contain.
func nonFundusCases() []struct {
	name, want string
	img        *image.NRGBA
} {
	return []struct {
		name, want string
		img        *image.NRGBA
	}{
		{"uniform grey", "blank", uniformImage(rgb(128, 128, 128))},
		{"uniform black", "black", uniformImage(rgb(0, 0, 0))},
		{"uniform orange", "blank", uniformImage(rgb(210, 100, 40))},
		{"saturated white", "saturated", uniformImage(rgb(255, 255, 255))},
		{"linear gradient", "no circular field of view", gradientImage()},
		{"radial gradient disc", "one colour", radialGradientImage()},
		{"noise", "noise", noiseImage(1)},
		{"noise disc on black", "noise", noiseDisc(2)},
		{"text page", "greyscale", textPage(3)},
		{"stripes", "greyscale", stripesImage()},
		{"grey OCT-like scan", "greyscale", octScan(4)},
		{"face on light background", "not a dark (or white) camera mask", face(false)},
		{"face on black", "not circular", face(true)},
		{"round face on black", "flat colour", roundFace()},
		{"round face on black, noise 3", "no vessel network", withNoise(roundFace(), 3, 1)},
		{"round face on black, noise 8", "no vessel network", withNoise(roundFace(), 8, 2)},
		{"flat orange disc", "flat colour", orangeDisc()},
		{"outdoor scene", "no circular field of view", scene(5)},
	}
}

func assessNRGBA(img *image.NRGBA) Assessment {
	fov, err := fundus.DetectFOV(img)
	return Assess(img, fov, err, Options{})
}

func TestNonFundusRejected(t *testing.T) {
	for _, tc := range nonFundusCases() {
		t.Run(tc.name, func(t *testing.T) {
			a := assessNRGBA(tc.img)
			if a.Modality.IsFundus || a.Quality.Grade != Reject || a.Accept() {
				t.Errorf("accepted as fundus: score %.3f, grade %v", a.Modality.Score, a.Quality.Grade)
				for _, c := range a.Modality.Criteria {
					t.Logf("  %s = %.4g (limit %.4g, skipped %v)", c.Name, c.Value, c.Reject, c.Skipped)
				}
			}
			why := strings.Join(a.Modality.Reasons, "; ")
			if !strings.Contains(why, tc.want) {
				t.Errorf("reasons %q lack %q", why, tc.want)
			}
			if !strings.Contains(strings.Join(a.Quality.Reasons, "; "), "not a colour fundus photograph") {
				t.Errorf("quality reasons %q do not say it is not a fundus photograph", a.Quality.Reasons)
			}
		})
	}
}
