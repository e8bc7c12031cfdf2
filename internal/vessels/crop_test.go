package vessels

import (
	"context"
	"image"
	"image/jpeg"
	"math"
	"os"
	"testing"

	"golang.org/x/image/draw"

	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
)

// squareSample is the bundled IDRiD photo as the analysis sees it: its
// field of view is cut at the top and bottom, so the 1024 square carries
// black bands above and below.
func squareSample(t *testing.T) *image.NRGBA {
	t.Helper()
	f, err := os.Open("../../assets/sample/idrid_055.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := src.Bounds()
	side := max(b.Dx(), b.Dy())
	sq := image.NewNRGBA(image.Rect(0, 0, side, side))
	draw.Draw(sq, sq.Bounds(), image.Black, image.Point{}, draw.Src)
	off := image.Pt((side-b.Dx())/2, (side-b.Dy())/2)
	draw.Draw(sq, b.Sub(b.Min).Add(off), src, b.Min, draw.Src)
	out := image.NewNRGBA(image.Rect(0, 0, 1024, 1024))
	draw.BiLinear.Scale(out, out.Bounds(), sq, sq.Bounds(), draw.Src, nil)
	return out
}

func TestContentBox(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255 // opaque black
	}
	set := func(x, y int) { img.Pix[img.PixOffset(x, y)+1] = 200 }
	if got := contentBox(img, 25, 4, 1); !got.Empty() {
		t.Errorf("all dark: box %v, want empty (run the whole image)", got)
	}
	set(50, 40)
	set(120, 60)
	if got, want := contentBox(img, 25, 4, 1), image.Rect(46, 36, 125, 65); got != want {
		t.Errorf("box %v, want %v", got, want)
	}
	// A sub-image: the box is in its coordinates.
	sub := img.SubImage(image.Rect(10, 10, 190, 90)).(*image.NRGBA)
	if got, want := contentBox(sub, 25, 4, 1), image.Rect(46, 36, 125, 65); got != want {
		t.Errorf("sub-image box %v, want %v", got, want)
	}
	// Aligned to the pooling grid, counted from the image's corner.
	if got, want := contentBox(img, 25, 4, 8), image.Rect(40, 32, 125, 65); got != want {
		t.Errorf("aligned box %v, want %v", got, want)
	}
	if got, want := contentBox(sub, 25, 4, 8), image.Rect(42, 34, 125, 65); got != want {
		t.Errorf("aligned sub-image box %v, want %v", got, want)
	}
	set(0, 0)
	set(199, 99)
	if got := contentBox(img, 25, 4, 1); !got.Empty() {
		t.Errorf("content fills the image: box %v, want empty", got)
	}
}

// The cut must not change the probabilities the models give the field of
// view: compare with the whole square run through the same runner (in the
// same orientations: the A/V model averages over four).
func TestContentCropMatchesWhole(t *testing.T) {
	img := squareSample(t)
	av, err := NewAV(infertest.OpenRuntime(t), avModel(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { av.Close() })
	for _, tc := range []struct {
		name     string
		net      *net
		channels int
	}{
		{"vessels", &newSegmenter(t).net, 1},
		{"artery/vein", &av.net, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			thr := tc.net.model.Meta.FOVThreshold
			box := contentBox(img, thr, contentMargin(tc.net.tiling.Multiple), tc.net.tiling.Multiple)
			if box.Empty() {
				t.Fatal("the sample's square should have black bands to cut")
			}
			t.Logf("content box %v of %v (%.0f%% of the pixels)", box, img.Bounds(), 100*float64(box.Dx()*box.Dy())/float64(1024*1024))
			got, err := tc.net.probabilities(context.Background(), img, tc.channels, "test")
			if err != nil {
				t.Fatal(err)
			}
			whole, err := infer.RunTiledAveraged(context.Background(), tc.net.run, infer.FOVStandardize(img, thr), tc.net.tiling, tc.net.orientations)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			n, plane := 0, 1024*1024
			for y := 0; y < 1024; y++ {
				for x := 0; x < 1024; x++ {
					p := img.Pix[img.PixOffset(x, y):]
					if int(max(p[0], p[1], p[2])) <= thr {
						continue
					}
					n++
					for c := 0; c < tc.channels; c++ {
						i := c*plane + y*1024 + x
						worst = max(worst, math.Abs(float64(got[i]-sigmoid(whole.Data[i]))))
					}
				}
			}
			t.Logf("%d content pixels, largest probability change %.2g", n, worst)
			if worst > 1e-5 {
				t.Errorf("largest probability change %.3g on the content, want ≤ 1e-5", worst)
			}
		})
	}
}
