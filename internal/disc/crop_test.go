package disc

import (
	"encoding/base64"
	"encoding/json"
	"image"
	"math"
	"os"
	"testing"
)

// crop_parity.json holds crops cut by train/disccup/train.py's own
// resample_square (PIL, regenerate with testdata/crop_parity.py) from an
// RGB test card: shrinking, enlarging, beyond the card's edges. Go's crop
// must reproduce them. PIL rounds its horizontal pass to 8 bits before the
// vertical one and x/image/draw rounds once, so single values may differ
// by a grey level; a geometry error (a half-pixel shift, a wrong
// kernel width, edges renormalized instead of black) shows as differences
// of tens of levels on this card's edges.
func TestCutOutMatchesTraining(t *testing.T) {
	b, err := os.ReadFile("testdata/crop_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Width, Height int
		RGB           string `json:"rgb_base64"`
		Cases         []struct {
			CX, CY, Half float64
			Size         int
			RGB          string `json:"rgb_base64"`
		}
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	card := image.NewNRGBA(image.Rect(0, 0, fx.Width, fx.Height))
	raw := decode64(t, fx.RGB, 3*fx.Width*fx.Height)
	for i := range fx.Width * fx.Height {
		copy(card.Pix[4*i:4*i+3], raw[3*i:3*i+3])
		card.Pix[4*i+3] = 255
	}
	for _, tc := range fx.Cases {
		want := decode64(t, tc.RGB, 3*tc.Size*tc.Size)
		c := Crop{X0: tc.CX - tc.Half, Y0: tc.CY - tc.Half, Side: 2 * tc.Half, Size: tc.Size}
		got := cutOut(card, c)
		var worst, sum float64
		for i := range tc.Size * tc.Size {
			for ch := range 3 {
				d := math.Abs(float64(got.Pix[4*i+ch]) - float64(want[3*i+ch]))
				worst = math.Max(worst, d)
				sum += d
			}
			if got.Pix[4*i+3] != 255 {
				t.Fatalf("crop %+v: pixel %d not opaque", c, i)
			}
		}
		mean := sum / float64(3*tc.Size*tc.Size)
		t.Logf("centre (%.2f, %.2f) half %.2f -> %d: max |Go-PIL| %.0f, mean %.3f grey levels", tc.CX, tc.CY, tc.Half, tc.Size, worst, mean)
		if worst > 1 || mean > 0.5 {
			t.Errorf("centre (%.2f, %.2f) half %.2f -> %d: max |Go-PIL| %.0f, mean %.3f; want <= 1 and <= 0.5", tc.CX, tc.CY, tc.Half, tc.Size, worst, mean)
		}
	}
}

func decode64(t *testing.T, s string, n int) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != n {
		t.Fatalf("bad base64 (%v, %d bytes, want %d)", err, len(b), n)
	}
	return b
}
